"""A property's sale or letting progress, a landlord's tenancies and an applicant's own viewings and
offers, on the real PostgreSQL and RabbitMQ.

Staff move a sale or a letting forward (steps may be skipped) or withdraw it; going back, starting
the other kind while one is under way, or withdrawing nothing is refused with what is allowed. The
landlord's and vendor's read of the property carries the progress; only the landlord's carries the
tenancies of the property's units, and never a tenant's email or statement. An applicant linked to
the property reads only the viewings and offers staff named them on. Another organization finds
nothing."""

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.contracts import properties as p
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import Conflict, InvalidInput, NotFound

S = p.MarketingStage
SALE, LETTING = p.MarketingKind.SALE, p.MarketingKind.LETTING
WHEN = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)


def new_property(make, name="Rose Cottage"):
    return make.call(
        p.CREATE_PROPERTY,
        p.CreateProperty(
            actor=make.actor(),
            property=p.NewProperty(name=name, address_line1="3 Lane End", city="York", postcode="YO1 7HH"),
        ),
    )


def link(make, prop, role):
    contact = make.contact(ContactType(role.value))
    make.call(
        p.LINK_CONTACT,
        p.LinkContact(actor=make.actor(), property_id=prop.id, contact_id=contact.id, role=role),
    )
    return contact


def move(make, prop, kind, stage, note=None, reached_on=None):
    fields = {"note": note} if note else {}
    if reached_on:
        fields["reached_on"] = reached_on
    return make.call(
        p.SET_MARKETING_STAGE,
        p.SetMarketingStage(actor=make.actor(), property_id=prop.id, kind=kind, stage=stage, **fields),
    )


def activity(make, contact, prop):
    return make.call(
        p.GET_CONTACT_PROPERTY_ACTIVITY,
        p.GetContactPropertyActivity(
            organization_id=make.organization_id, contact_id=contact.id, property_id=prop.id
        ),
    )


def stages(progress):
    return [(step.kind, step.stage) for step in progress.history]


# --- progress ---------------------------------------------------------------------------------


def test_a_sale_moves_forward_skipping_steps_and_keeps_its_history(make):
    prop = new_property(make)
    empty = make.call(
        p.GET_MARKETING_PROGRESS,
        p.GetMarketingProgress(organization_id=make.organization_id, property_id=prop.id),
    )
    assert (empty.kind, empty.stage, empty.history) == (None, None, [])
    assert S.WITHDRAWN not in empty.allowed[SALE] and S.INSTRUCTED in empty.allowed[LETTING]

    today = utc_now().date()
    move(make, prop, SALE, S.INSTRUCTED, reached_on=today - timedelta(days=20))
    move(
        make,
        prop,
        SALE,
        S.ON_THE_MARKET,
        note="  Listed on the portals ",
        reached_on=today - timedelta(days=10),
    )
    # Straight to sold subject to contract: under offer is skipped.
    progress = move(make, prop, SALE, S.SOLD_STC)
    assert (progress.kind, progress.stage) == (SALE, S.SOLD_STC)
    assert stages(progress) == [(SALE, S.INSTRUCTED), (SALE, S.ON_THE_MARKET), (SALE, S.SOLD_STC)]
    assert [step.reached_on for step in progress.history] == [
        today - timedelta(days=20),
        today - timedelta(days=10),
        today,
    ]
    assert [step.note for step in progress.history] == [None, "Listed on the portals", None]
    assert progress.allowed == {SALE: [S.EXCHANGED, S.COMPLETED, S.WITHDRAWN]}

    read = make.call(
        p.GET_MARKETING_PROGRESS,
        p.GetMarketingProgress(organization_id=make.organization_id, property_id=prop.id),
    )
    assert read == progress


def test_a_refused_move_says_what_is_allowed_and_changes_nothing(make):
    prop = new_property(make)
    with pytest.raises(Conflict) as nothing_to_withdraw:
        move(make, prop, SALE, S.WITHDRAWN)
    assert nothing_to_withdraw.value.details["stage"] is None
    move(make, prop, SALE, S.INSTRUCTED)
    move(make, prop, SALE, S.UNDER_OFFER)
    for kind, stage in ((SALE, S.ON_THE_MARKET), (SALE, S.UNDER_OFFER), (LETTING, S.INSTRUCTED)):
        with pytest.raises(Conflict) as refused:
            move(make, prop, kind, stage)
        assert refused.value.details == {
            "kind": "sale",
            "stage": "under_offer",
            "allowed": {"sale": ["sold_subject_to_contract", "exchanged", "completed", "withdrawn"]},
        }
    progress = make.call(
        p.GET_MARKETING_PROGRESS,
        p.GetMarketingProgress(organization_id=make.organization_id, property_id=prop.id),
    )
    assert stages(progress) == [(SALE, S.INSTRUCTED), (SALE, S.UNDER_OFFER)]


def test_withdrawn_and_completed_end_a_round_and_a_new_one_may_start(make):
    prop = new_property(make)
    move(make, prop, SALE, S.ON_THE_MARKET)
    move(make, prop, SALE, S.WITHDRAWN, note="The owner will let it instead")
    with pytest.raises(Conflict):
        move(make, prop, SALE, S.WITHDRAWN)
    move(make, prop, LETTING, S.INSTRUCTED)
    move(make, prop, LETTING, S.LET_AGREED)
    done = move(make, prop, LETTING, S.TENANCY_STARTED)
    assert done.allowed[LETTING][0] == S.INSTRUCTED and S.WITHDRAWN not in done.allowed[LETTING]
    with pytest.raises(Conflict):
        move(make, prop, LETTING, S.WITHDRAWN)
    again = move(make, prop, LETTING, S.ON_THE_MARKET)
    assert [stage for _, stage in stages(again)] == [
        S.ON_THE_MARKET,
        S.WITHDRAWN,
        S.INSTRUCTED,
        S.LET_AGREED,
        S.TENANCY_STARTED,
        S.ON_THE_MARKET,
    ]


def test_a_stage_of_the_other_kind_and_impossible_days_are_refused(make):
    prop = new_property(make)
    with pytest.raises(ValueError):
        p.SetMarketingStage(actor=make.actor(), property_id=prop.id, kind=LETTING, stage=S.EXCHANGED)
    with pytest.raises(InvalidInput):
        make.call(
            p.SET_MARKETING_STAGE,
            p.SetMarketingStage.model_construct(
                actor=make.actor(), property_id=prop.id, kind=LETTING, stage=S.EXCHANGED
            ),
        )
    today = utc_now().date()
    with pytest.raises(InvalidInput) as future:
        move(make, prop, SALE, S.INSTRUCTED, reached_on=today + timedelta(days=1))
    assert future.value.details["errors"][0]["field"] == "reached_on"
    move(make, prop, SALE, S.INSTRUCTED, reached_on=today - timedelta(days=3))
    with pytest.raises(InvalidInput):
        move(make, prop, SALE, S.ON_THE_MARKET, reached_on=today - timedelta(days=4))
    progress = move(make, prop, SALE, S.ON_THE_MARKET, reached_on=today - timedelta(days=3))
    assert stages(progress) == [(SALE, S.INSTRUCTED), (SALE, S.ON_THE_MARKET)]


def test_another_organization_can_neither_move_nor_read_the_progress(make, make_other):
    prop = new_property(make)
    move(make, prop, SALE, S.INSTRUCTED)
    with pytest.raises(NotFound):
        move(make_other, prop, SALE, S.ON_THE_MARKET)
    with pytest.raises(NotFound):
        make_other.call(
            p.GET_MARKETING_PROGRESS,
            p.GetMarketingProgress(organization_id=make_other.organization_id, property_id=prop.id),
        )
    progress = make.call(
        p.GET_MARKETING_PROGRESS,
        p.GetMarketingProgress(organization_id=make.organization_id, property_id=prop.id),
    )
    assert stages(progress) == [(SALE, S.INSTRUCTED)]


# --- what landlords, vendors and applicants read ----------------------------------------------


def lease_on(make, prop, unit_name, tenant, start, end=None):
    unit = make.call(p.ADD_UNIT, p.AddUnit(actor=make.actor(), property_id=prop.id, name=unit_name))
    return make.call(
        p.CREATE_LEASE,
        p.CreateLease(
            actor=make.actor(),
            unit_id=unit.id,
            start_date=start,
            end_date=end,
            tenant_contact_ids=[tenant.id],
        ),
    )


def test_a_landlord_reads_the_tenancies_and_the_progress_and_a_vendor_no_tenancies(make, make_other):
    prop = new_property(make)
    landlord = link(make, prop, p.PropertyRole.LANDLORD)
    vendor = link(make, prop, p.PropertyRole.VENDOR)
    tenant = make.contact(ContactType.TENANT)
    today = utc_now().date()
    ended = lease_on(make, prop, "Flat 1", tenant, date(2024, 1, 1), today - timedelta(days=1))
    current = lease_on(make, prop, "Flat 2", tenant, date(2025, 6, 1))
    upcoming = lease_on(make, prop, "Flat 3", tenant, today + timedelta(days=30), today + timedelta(days=400))
    make.call(
        p.ADD_CHARGE,
        p.AddCharge(
            actor=make.actor(), lease_id=current.id, description="Rent", amount_minor=95_000, due_date=today
        ),
    )
    move(make, prop, LETTING, S.ON_THE_MARKET, note="Flat 3 is advertised")

    seen = activity(make, landlord, prop)
    assert [(t.lease_id, t.unit_name, t.start_date, t.end_date, t.state) for t in seen.tenancies] == [
        (upcoming.id, "Flat 3", upcoming.start_date, upcoming.end_date, p.TenancyState.UPCOMING),
        (current.id, "Flat 2", date(2025, 6, 1), None, p.TenancyState.CURRENT),
        (ended.id, "Flat 1", date(2024, 1, 1), today - timedelta(days=1), p.TenancyState.ENDED),
    ]
    answer = seen.model_dump_json()
    assert str(tenant.id) not in answer and tenant.email not in answer and "95000" not in answer
    assert seen.progress is not None and (seen.progress.kind, seen.progress.stage) == (
        LETTING,
        S.ON_THE_MARKET,
    )
    assert seen.progress.history[0].note == "Flat 3 is advertised"

    vendors = activity(make, vendor, prop)
    assert vendors.tenancies == []
    assert vendors.progress == seen.progress

    # Another organization's landlord, or this landlord asked about through another organization,
    # finds nothing.
    other_landlord = link(make_other, new_property(make_other), p.PropertyRole.LANDLORD)
    for organization_id, contact in (
        (make_other.organization_id, other_landlord),
        (make_other.organization_id, landlord),
    ):
        with pytest.raises(NotFound):
            make.call(
                p.GET_CONTACT_PROPERTY_ACTIVITY,
                p.GetContactPropertyActivity(
                    organization_id=organization_id, contact_id=contact.id, property_id=prop.id
                ),
            )


def viewing(make, prop, name, applicant=None):
    return make.call(
        p.CREATE_VIEWING,
        p.CreateViewing(
            actor=make.actor(),
            property_id=prop.id,
            viewing=p.NewViewing(
                scheduled_at=WHEN,
                applicant_name=name,
                applicant_contact_id=applicant.id if applicant else None,
            ),
        ),
    )


def offer(make, prop, name, amount, applicant=None):
    return make.call(
        p.CREATE_OFFER,
        p.CreateOffer(
            actor=make.actor(),
            property_id=prop.id,
            offer=p.NewOffer(
                amount_minor=amount, offerer_name=name, offerer_contact_id=applicant.id if applicant else None
            ),
        ),
    )


def test_an_applicant_reads_only_their_own_viewings_and_offers(make):
    prop = new_property(make)
    landlord = link(make, prop, p.PropertyRole.LANDLORD)
    priya = link(make, prop, p.PropertyRole.APPLICANT)
    sam = link(make, prop, p.PropertyRole.APPLICANT)
    mine = viewing(make, prop, "Priya Applicant", priya)
    theirs = viewing(make, prop, "Sam Applicant", sam)
    viewing(make, prop, "Walk-in, no contact")
    for seen in (mine, theirs):
        make.call(
            p.RECORD_VIEWING_FEEDBACK,
            p.RecordViewingFeedback(
                actor=make.actor(), viewing_id=seen.id, feedback=f"Said by {seen.applicant_name}"
            ),
        )
    my_offer = offer(make, prop, "Priya Applicant", 300_000_00, priya)
    offer(make, prop, "Sam Applicant", 310_000_00, sam)
    move(make, prop, SALE, S.UNDER_OFFER)
    assert mine.applicant_contact_id == priya.id and my_offer.offerer_contact_id == priya.id

    seen = activity(make, priya, prop)
    assert seen.property.role == p.PropertyRole.APPLICANT
    assert [v.id for v in seen.viewings] == [mine.id]
    # Applicants do not see viewing feedback unless staff show it, their own included.
    assert (seen.feedback_visible, seen.viewings[0].feedback) == (False, None)
    assert [(o.id, o.amount_minor) for o in seen.offers] == [(my_offer.id, 300_000_00)]
    assert (seen.progress, seen.tenancies) == (None, [])
    answer = seen.model_dump_json()
    assert "Sam" not in answer and "Walk-in" not in answer and "31000000" not in answer

    # The landlord still reads every viewing and offer, with feedback.
    landlords = activity(make, landlord, prop)
    assert len(landlords.viewings) == 3 and len(landlords.offers) == 2
    assert {v.feedback for v in landlords.viewings} == {
        None,
        "Said by Priya Applicant",
        "Said by Sam Applicant",
    }


def test_only_an_applicant_of_the_organization_can_be_named_on_a_viewing_or_offer(make, make_other):
    prop = new_property(make)
    tenant = make.contact(ContactType.TENANT)
    elsewhere = make_other.contact(ContactType.APPLICANT)
    with pytest.raises(InvalidInput) as wrong_type:
        viewing(make, prop, "Tess Tenant", tenant)
    assert wrong_type.value.details["errors"][0]["field"] == "viewing.applicant_contact_id"
    with pytest.raises(InvalidInput):
        offer(make, prop, "Tess Tenant", 100, tenant)
    with pytest.raises(NotFound):
        viewing(make, prop, "Someone", elsewhere)
    with pytest.raises(NotFound):
        offer(make, prop, "Someone", 100, elsewhere)
    listed = make.call(
        p.LIST_PROPERTY_VIEWINGS,
        p.ListPropertyViewings(organization_id=make.organization_id, property_id=prop.id),
    )
    offers = make.call(
        p.LIST_PROPERTY_OFFERS,
        p.ListPropertyOffers(organization_id=make.organization_id, property_id=prop.id),
    )
    assert (listed.items, offers.items) == ([], [])
    # A tenant cannot be linked to a property as its applicant either.
    with pytest.raises(InvalidInput):
        make.call(
            p.LINK_CONTACT,
            p.LinkContact(
                actor=make.actor(), property_id=prop.id, contact_id=tenant.id, role=p.PropertyRole.APPLICANT
            ),
        )
