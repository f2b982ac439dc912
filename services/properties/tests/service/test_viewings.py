"""Viewings with their feedback, offers, and the first visibility rule (viewing feedback), on the
real PostgreSQL and RabbitMQ: staff make and change them; a landlord or vendor linked to the
property reads them as their contact, with feedback only where the rules show it; anyone else,
and any other organization, finds nothing.

Decided here: feedback on a booked viewing marks it done (it took place); a cancelled viewing takes
no feedback. An offer goes from received to accepted, rejected or withdrawn, and an accepted offer
can still be withdrawn; nothing else.
"""

from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import Conflict, InvalidInput, NotFound

FEEDBACK = "Loved the garden; the kitchen needs work."
SUBJECT = p.VisibilitySubject.VIEWING_FEEDBACK
WHEN = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)


def new_property(make):
    return make.call(
        p.CREATE_PROPERTY,
        p.CreateProperty(
            actor=make.actor(),
            property=p.NewProperty(
                name="Rose Cottage", address_line1="3 Lane End", city="York", postcode="YO1 7HH"
            ),
        ),
    )


def linked(make, role=p.PropertyRole.LANDLORD, prop=None):
    """A contact of the role's type linked to a property (a new one unless given)."""
    prop = prop or new_property(make)
    contact = make.contact(ContactType(role.value))
    make.call(
        p.LINK_CONTACT,
        p.LinkContact(actor=make.actor(), property_id=prop.id, contact_id=contact.id, role=role),
    )
    return contact, prop


def viewing_with_feedback(make, prop, feedback=FEEDBACK, interest=p.InterestLevel.HIGH):
    viewing = make.call(
        p.CREATE_VIEWING,
        p.CreateViewing(
            actor=make.actor(),
            property_id=prop.id,
            viewing=p.NewViewing(scheduled_at=WHEN, applicant_name="Priya Applicant"),
        ),
    )
    return make.call(
        p.RECORD_VIEWING_FEEDBACK,
        p.RecordViewingFeedback(
            actor=make.actor(), viewing_id=viewing.id, feedback=feedback, interest_level=interest
        ),
    )


def activity(make, contact, prop, organization_id=None):
    return make.call(
        p.GET_CONTACT_PROPERTY_ACTIVITY,
        p.GetContactPropertyActivity(
            organization_id=organization_id or make.organization_id,
            contact_id=contact.id,
            property_id=prop.id,
        ),
    )


def set_visibility(make, visible, contact_type=None, contact=None):
    return make.call(
        p.SET_VISIBILITY,
        p.SetVisibility(
            actor=make.actor(),
            subject=SUBJECT,
            contact_type=contact_type,
            contact_id=contact.id if contact else None,
            visible=visible,
        ),
    )


def explain(make, contact):
    return make.call(
        p.EXPLAIN_VISIBILITY,
        p.ExplainVisibility(organization_id=make.organization_id, contact_id=contact.id, subject=SUBJECT),
    )


def feedback_seen(seen):
    return [(v.feedback, v.interest_level, v.feedback_at is not None) for v in seen.viewings]


def test_staff_record_a_viewing_and_its_feedback_which_marks_it_done(make):
    prop = new_property(make)
    viewing = make.call(
        p.CREATE_VIEWING,
        p.CreateViewing(
            actor=make.actor(),
            property_id=prop.id,
            viewing=p.NewViewing(scheduled_at=WHEN, applicant_name="  Priya Applicant "),
        ),
    )
    assert (viewing.status, viewing.applicant_name, viewing.feedback) == (
        p.ViewingStatus.BOOKED,
        "Priya Applicant",
        None,
    )
    assert viewing.scheduled_at == WHEN

    done = make.call(
        p.RECORD_VIEWING_FEEDBACK,
        p.RecordViewingFeedback(actor=make.actor(), viewing_id=viewing.id, feedback=f"  {FEEDBACK} "),
    )
    assert (done.status, done.feedback, done.interest_level) == (p.ViewingStatus.DONE, FEEDBACK, None)
    listed = make.call(
        p.LIST_PROPERTY_VIEWINGS,
        p.ListPropertyViewings(organization_id=make.organization_id, property_id=prop.id),
    )
    assert [(v.id, v.feedback) for v in listed.items] == [(viewing.id, FEEDBACK)]


def test_a_cancelled_viewing_takes_no_feedback_and_feedback_has_a_length_limit(make):
    prop = new_property(make)
    cancelled = make.call(
        p.CREATE_VIEWING,
        p.CreateViewing(
            actor=make.actor(),
            property_id=prop.id,
            viewing=p.NewViewing(scheduled_at=WHEN, applicant_name="Sam", status=p.ViewingStatus.CANCELLED),
        ),
    )
    with pytest.raises(Conflict):
        make.call(
            p.RECORD_VIEWING_FEEDBACK,
            p.RecordViewingFeedback(actor=make.actor(), viewing_id=cancelled.id, feedback="Nice"),
        )
    with pytest.raises(InvalidInput):
        make.call(
            p.RECORD_VIEWING_FEEDBACK,
            p.RecordViewingFeedback.model_construct(
                actor=make.actor(), viewing_id=cancelled.id, feedback="x" * (p.MAX_FEEDBACK_LENGTH + 1)
            ),
        )


def test_a_booked_viewing_is_marked_done_or_cancelled_once(make):
    prop = new_property(make)

    def book():
        return make.call(
            p.CREATE_VIEWING,
            p.CreateViewing(
                actor=make.actor(),
                property_id=prop.id,
                viewing=p.NewViewing(scheduled_at=WHEN, applicant_name="Sam"),
            ),
        )

    def move(viewing, status):
        return make.call(
            p.UPDATE_VIEWING_STATUS,
            p.UpdateViewingStatus(actor=make.actor(), viewing_id=viewing.id, status=status),
        )

    cancelled, done = book(), book()
    assert move(cancelled, p.ViewingStatus.CANCELLED).status == p.ViewingStatus.CANCELLED
    assert move(done, p.ViewingStatus.DONE).status == p.ViewingStatus.DONE
    for viewing, status in (
        (cancelled, p.ViewingStatus.BOOKED),
        (cancelled, p.ViewingStatus.DONE),
        (done, p.ViewingStatus.CANCELLED),
    ):
        with pytest.raises(Conflict):
            move(viewing, status)
    with pytest.raises(Conflict):
        make.call(
            p.RECORD_VIEWING_FEEDBACK,
            p.RecordViewingFeedback(actor=make.actor(), viewing_id=cancelled.id, feedback="Nice"),
        )


def test_offers_are_received_then_accepted_rejected_or_withdrawn(make):
    prop = new_property(make)
    offer = make.call(
        p.CREATE_OFFER,
        p.CreateOffer(
            actor=make.actor(),
            property_id=prop.id,
            offer=p.NewOffer(amount_minor=325_000_00, offerer_name="Jo Buyer"),
        ),
    )
    assert (offer.status, offer.amount_minor, offer.currency) == (p.OfferStatus.RECEIVED, 325_000_00, "GBP")

    def move(status):
        return make.call(
            p.UPDATE_OFFER_STATUS, p.UpdateOfferStatus(actor=make.actor(), offer_id=offer.id, status=status)
        )

    assert move(p.OfferStatus.ACCEPTED).status == p.OfferStatus.ACCEPTED
    with pytest.raises(Conflict):
        move(p.OfferStatus.REJECTED)
    assert move(p.OfferStatus.WITHDRAWN).status == p.OfferStatus.WITHDRAWN
    with pytest.raises(Conflict):
        move(p.OfferStatus.ACCEPTED)
    listed = make.call(
        p.LIST_PROPERTY_OFFERS,
        p.ListPropertyOffers(organization_id=make.organization_id, property_id=prop.id),
    )
    assert [(o.id, o.status) for o in listed.items] == [(offer.id, p.OfferStatus.WITHDRAWN)]


def test_a_landlord_sees_viewing_feedback_by_default(make):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    viewing_with_feedback(make, prop)
    make.call(
        p.CREATE_OFFER,
        p.CreateOffer(
            actor=make.actor(), property_id=prop.id, offer=p.NewOffer(amount_minor=1, offerer_name="Jo")
        ),
    )
    seen = activity(make, landlord, prop)
    assert (seen.property.property_id, seen.property.role, seen.feedback_visible) == (
        prop.id,
        p.PropertyRole.LANDLORD,
        True,
    )
    assert feedback_seen(seen) == [(FEEDBACK, p.InterestLevel.HIGH, True)]
    assert [o.offerer_name for o in seen.offers] == ["Jo"]


def test_a_vendor_does_not_see_viewing_feedback_by_default(make):
    vendor, prop = linked(make, p.PropertyRole.VENDOR)
    viewing_with_feedback(make, prop)
    seen = activity(make, vendor, prop)
    assert seen.feedback_visible is False
    assert feedback_seen(seen) == [(None, None, False)]
    assert [v.applicant_name for v in seen.viewings] == ["Priya Applicant"]


def test_the_organization_setting_flips_the_default_for_the_type(make, make_other):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    vendor, _ = linked(make, p.PropertyRole.VENDOR, prop)
    viewing_with_feedback(make, prop)
    set_visibility(make, False, contact_type=ContactType.LANDLORD)
    set_visibility(make, True, contact_type=ContactType.VENDOR)
    assert feedback_seen(activity(make, landlord, prop)) == [(None, None, False)]
    assert feedback_seen(activity(make, vendor, prop)) == [(FEEDBACK, p.InterestLevel.HIGH, True)]

    # Set again, it is changed, not duplicated; the next read follows it.
    set_visibility(make, True, contact_type=ContactType.LANDLORD)
    assert activity(make, landlord, prop).feedback_visible is True

    # Another organization's settings are its own.
    other_landlord, other_prop = linked(make_other, p.PropertyRole.LANDLORD)
    viewing_with_feedback(make_other, other_prop)
    set_visibility(make, False, contact_type=ContactType.LANDLORD)
    assert activity(make_other, other_landlord, other_prop).feedback_visible is True


def test_a_contact_override_beats_the_type_setting(make):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    other_landlord, _ = linked(make, p.PropertyRole.LANDLORD, prop)
    vendor, _ = linked(make, p.PropertyRole.VENDOR, prop)
    viewing_with_feedback(make, prop)

    set_visibility(make, False, contact=landlord)
    set_visibility(make, True, contact=vendor)
    assert activity(make, landlord, prop).feedback_visible is False
    assert activity(make, other_landlord, prop).feedback_visible is True
    assert feedback_seen(activity(make, vendor, prop)) == [(FEEDBACK, p.InterestLevel.HIGH, True)]

    # The type setting does not move an overridden contact.
    set_visibility(make, True, contact_type=ContactType.LANDLORD)
    set_visibility(make, False, contact_type=ContactType.VENDOR)
    assert activity(make, landlord, prop).feedback_visible is False
    assert activity(make, vendor, prop).feedback_visible is True


def test_removing_a_setting_gives_the_decision_back_to_the_level_above(make):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    viewing_with_feedback(make, prop)
    set_visibility(make, False, contact_type=ContactType.LANDLORD)
    set_visibility(make, True, contact=landlord)
    assert activity(make, landlord, prop).feedback_visible is True

    removed = set_visibility(make, None, contact=landlord)

    assert removed.visible is None
    assert activity(make, landlord, prop).feedback_visible is False  # the organization's setting
    assert [rule.setting for rule in explain(make, landlord).chain] == [True, False, None]
    set_visibility(make, None, contact_type=ContactType.LANDLORD)
    assert activity(make, landlord, prop).feedback_visible is True  # the default for landlords
    set_visibility(make, None, contact=landlord)  # nothing left to remove: still fine
    assert explain(make, landlord).chain[-1].decides is False


def test_the_settings_by_type_show_the_default_and_the_organizations_choice(make, make_other):
    set_visibility(make, True, contact_type=ContactType.VENDOR)
    set_visibility(make, False, contact_type=ContactType.LANDLORD)
    set_visibility(make, None, contact_type=ContactType.LANDLORD)

    def by_type(maker):
        answer = maker.call(
            p.LIST_VISIBILITY_SETTINGS,
            p.ListVisibilitySettings(organization_id=maker.organization_id, subject=SUBJECT),
        )
        return {row.contact_type: (row.default, row.setting, row.visible) for row in answer.items}

    ours = by_type(make)
    assert ours[ContactType.LANDLORD] == (True, None, True)
    assert ours[ContactType.VENDOR] == (False, True, True)
    assert ours[ContactType.TENANT] == (False, None, False)
    assert by_type(make_other)[ContactType.VENDOR] == (False, None, False)


def test_a_property_setting_beats_the_organizations_and_a_contacts_beats_both(make, make_other):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    elsewhere, other_prop = linked(make, p.PropertyRole.LANDLORD)
    viewing_with_feedback(make, prop)
    viewing_with_feedback(make, other_prop)

    def on_property(visible, target=prop):
        return make.call(
            p.SET_VISIBILITY,
            p.SetVisibility(
                actor=make.actor(),
                subject=SUBJECT,
                contact_type=ContactType.LANDLORD,
                property_id=target.id,
                visible=visible,
            ),
        )

    on_property(False)
    assert activity(make, landlord, prop).feedback_visible is False
    assert activity(make, elsewhere, other_prop).feedback_visible is True  # only that property
    set_visibility(make, True, contact_type=ContactType.LANDLORD)
    set_visibility(make, False, contact_type=ContactType.LANDLORD)
    assert activity(make, landlord, prop).feedback_visible is False
    on_property(True)
    assert activity(make, landlord, prop).feedback_visible is True  # the property beats the organization
    assert activity(make, elsewhere, other_prop).feedback_visible is False
    set_visibility(make, False, contact=landlord)
    assert activity(make, landlord, prop).feedback_visible is False  # the contact beats the property

    chain = make.call(
        p.EXPLAIN_VISIBILITY,
        p.ExplainVisibility(
            organization_id=make.organization_id, contact_id=landlord.id, subject=SUBJECT, property_id=prop.id
        ),
    ).chain
    assert [(rule.level, rule.setting, rule.decides) for rule in chain] == [
        (p.VisibilityLevel.DEFAULT, True, False),
        (p.VisibilityLevel.ORGANIZATION, False, False),
        (p.VisibilityLevel.PROPERTY, True, False),
        (p.VisibilityLevel.CONTACT, False, True),
    ]
    assert prop.name in chain[2].explanation
    set_visibility(make, None, contact=landlord)
    on_property(None)
    assert activity(make, landlord, prop).feedback_visible is False  # the organization's again

    with pytest.raises(NotFound):
        make_other.call(
            p.SET_VISIBILITY,
            p.SetVisibility(
                actor=make_other.actor(),
                subject=SUBJECT,
                contact_type=ContactType.LANDLORD,
                property_id=prop.id,
                visible=True,
            ),
        )
    with pytest.raises(ValueError):
        p.SetVisibility(
            actor=make.actor(), subject=SUBJECT, contact_id=landlord.id, property_id=prop.id, visible=True
        )


def test_an_unlinked_contact_and_another_organization_find_nothing(make, make_other):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    viewing_with_feedback(make, prop)
    unlinked = make.contact(ContactType.LANDLORD)
    tenant = make.contact(ContactType.TENANT)
    _, other_prop = linked(make, p.PropertyRole.LANDLORD)
    for contact, asked in ((unlinked, prop), (tenant, prop), (landlord, other_prop)):
        with pytest.raises(NotFound):
            activity(make, contact, asked)
    # The right contact and property, asked in another organization's name.
    with pytest.raises(NotFound):
        activity(make, landlord, prop, organization_id=make_other.organization_id)
    # Staff of another organization: none of it.
    for method, query in (
        (p.LIST_PROPERTY_VIEWINGS, p.ListPropertyViewings),
        (p.LIST_PROPERTY_OFFERS, p.ListPropertyOffers),
    ):
        with pytest.raises(NotFound):
            make_other.call(method, query(organization_id=make_other.organization_id, property_id=prop.id))
    viewing = activity(make, landlord, prop).viewings[0]
    with pytest.raises(NotFound):
        make_other.call(
            p.RECORD_VIEWING_FEEDBACK,
            p.RecordViewingFeedback(actor=make_other.actor(), viewing_id=viewing.id, feedback="Mine now"),
        )
    with pytest.raises(NotFound):
        set_visibility(make_other, True, contact=landlord)
    with pytest.raises(NotFound):
        explain(make_other, landlord)
    assert activity(make, landlord, prop).viewings[0].feedback == FEEDBACK


def test_the_explanation_gives_the_chain_from_default_to_contact(make):
    landlord, prop = linked(make, p.PropertyRole.LANDLORD)
    vendor, _ = linked(make, p.PropertyRole.VENDOR, prop)

    def chain(contact):
        found = explain(make, contact)
        return found.visible, [(rule.level.value, rule.setting, rule.decides) for rule in found.chain]

    assert chain(landlord) == (
        True,
        [("default", True, True), ("organization", None, False), ("contact", None, False)],
    )
    assert chain(vendor) == (
        False,
        [("default", False, True), ("organization", None, False), ("contact", None, False)],
    )
    set_visibility(make, False, contact_type=ContactType.LANDLORD)
    assert chain(landlord) == (
        False,
        [("default", True, False), ("organization", False, True), ("contact", None, False)],
    )
    set_visibility(make, True, contact=landlord)
    found = explain(make, landlord)
    assert (found.contact_type, found.visible) == (ContactType.LANDLORD, True)
    assert [(rule.setting, rule.decides) for rule in found.chain] == [
        (True, False),
        (False, False),
        (True, True),
    ]
    assert "hidden from landlords" in found.chain[1].explanation
    # And what the landlord reads agrees with the explanation.
    viewing_with_feedback(make, prop)
    assert activity(make, landlord, prop).feedback_visible is True
    assert activity(make, vendor, prop).feedback_visible is False


def test_a_setting_names_either_a_type_or_a_contact(make):
    with pytest.raises(ValueError):
        p.SetVisibility(actor=make.actor(), subject=SUBJECT, visible=True)
    landlord = make.contact(ContactType.LANDLORD)
    with pytest.raises(ValueError):
        p.SetVisibility(
            actor=make.actor(),
            subject=SUBJECT,
            contact_type=ContactType.LANDLORD,
            contact_id=landlord.id,
            visible=True,
        )


def test_an_offer_recorded_later_keeps_when_it_was_received(make):
    prop = new_property(make)
    received = datetime.now(UTC) - timedelta(days=2)
    offer = make.call(
        p.CREATE_OFFER,
        p.CreateOffer(
            actor=make.actor(),
            property_id=prop.id,
            offer=p.NewOffer(amount_minor=250_000_00, offerer_name="Lee", received_at=received),
        ),
    )
    assert offer.received_at == received
