import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from invitations import domain
from shared.contracts.common import ContactType, InvitationState, StaffRole
from shared.contracts.contacts import ContactView, EligibilityFacts, OrganizationView, StaffMemberView
from shared.contracts.invitations import LinkStatus, PortalStatus
from shared.contracts.properties import ContactLinks, LeaseLink, PropertyLink, PropertyRole

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
S = InvitationState


def facts(
    contact_type=ContactType.TENANT,
    *,
    archived=False,
    email="tess@example.com",
    org_active=True,
    staff_can=True,
    staff_active=True,
):
    org_id = uuid.uuid4()
    return EligibilityFacts(
        contact=ContactView(
            id=uuid.uuid4(),
            organization_id=org_id,
            type=contact_type,
            first_name="Tess",
            last_name="T",
            display_name="Tess T",
            email=email,
            phone=None,
            locale="en-GB",
            archived_at=NOW if archived else None,
            created_at=NOW,
            updated_at=NOW,
        ),
        organization=OrganizationView(id=org_id, name="Acme", active=org_active, created_at=NOW),
        staff_member=StaffMemberView(
            id=uuid.uuid4(),
            organization_id=org_id,
            email="s@example.com",
            name="S",
            role=StaffRole.AGENT,
            can_manage_portal_access=staff_can,
            active=staff_active,
        ),
    )


def links(*, lease_active=None, property_active=None):
    leases = []
    if lease_active is not None:
        leases.append(
            LeaseLink(
                lease_id=uuid.uuid4(),
                unit_id=uuid.uuid4(),
                unit_name="Flat 1",
                property_id=uuid.uuid4(),
                property_name="Elm House",
                address="1 Elm St",
                start_date=date(2026, 1, 1),
                end_date=None,
                active=lease_active,
            )
        )
    properties = []
    if property_active is not None:
        properties.append(
            PropertyLink(
                property_id=uuid.uuid4(),
                property_name="Elm House",
                address="1 Elm St",
                role=PropertyRole.LANDLORD,
                active=property_active,
            )
        )
    return ContactLinks(contact_id=uuid.uuid4(), leases=leases, properties=properties)


def codes(problems):
    return [p.code for p in problems]


def test_a_tenant_with_an_active_lease_may_be_invited():
    assert domain.eligibility_problems(facts(), links(lease_active=True), has_live_access=False) == []


def test_every_failing_reason_is_given_not_only_the_first():
    problems = domain.eligibility_problems(
        facts(archived=True, email="not-an-email", org_active=False, staff_can=False),
        links(lease_active=False),
        has_live_access=True,
    )
    assert codes(problems) == [
        "staff_not_permitted",
        "organization_inactive",
        "contact_archived",
        "invalid_email",
        "no_active_lease",
        "access_already_active",
    ]
    assert all(p.message for p in problems)


@pytest.mark.parametrize("contact_type", [ContactType.LANDLORD, ContactType.VENDOR])
def test_landlords_and_vendors_need_a_linked_property(contact_type):
    assert codes(domain.eligibility_problems(facts(contact_type), links(), False)) == ["no_linked_property"]
    assert domain.eligibility_problems(facts(contact_type), links(property_active=True), False) == []


def test_an_applicant_needs_no_link_and_a_customer_needs_a_client_group():
    assert domain.eligibility_problems(facts(ContactType.APPLICANT), links(), False) == []
    assert codes(domain.eligibility_problems(facts(ContactType.CUSTOMER), links(), False)) == [
        "no_client_group"
    ]
    authorised = facts(ContactType.CUSTOMER).model_copy(update={"client_group_ids": [uuid.uuid4()]})
    assert domain.eligibility_problems(authorised, links(), False) == []


def test_an_inactive_staff_member_is_not_permitted():
    assert codes(domain.eligibility_problems(facts(staff_active=False), links(lease_active=True), False)) == [
        "staff_not_permitted"
    ]


@pytest.mark.parametrize(
    ("state", "consumed", "expires_in", "expected"),
    [
        (S.PENDING, False, timedelta(days=1), LinkStatus.USABLE),
        (S.BOUNCED, False, timedelta(days=1), LinkStatus.USABLE),
        (S.DELIVERED, False, timedelta(seconds=-1), LinkStatus.EXPIRED),
        (S.EXPIRED, False, timedelta(days=1), LinkStatus.EXPIRED),
        (S.SUPERSEDED, False, timedelta(days=1), LinkStatus.SUPERSEDED),
        (S.REVOKED, False, timedelta(days=1), LinkStatus.REVOKED),
        (S.ACCEPTED, True, timedelta(days=1), LinkStatus.USED),
        (S.SUPERSEDED, True, timedelta(seconds=-1), LinkStatus.USED),
    ],
)
def test_what_an_invitation_link_is_good_for(state, consumed, expires_in, expected):
    assert domain.invitation_link_status(state, consumed, NOW + expires_in, NOW) == expected


def test_delivery_facts_only_move_forward_and_never_revive_an_ended_invitation():
    assert domain.next_state_after_delivery(S.PENDING, "queued") == S.SENT
    assert domain.next_state_after_delivery(S.SENT, "succeeded") == S.DELIVERED
    assert domain.next_state_after_delivery(S.PENDING, "succeeded") == S.DELIVERED  # arrived out of order
    assert domain.next_state_after_delivery(S.DELIVERED, "queued") is None
    assert domain.next_state_after_delivery(S.DELIVERED, "failed") == S.BOUNCED  # a late bounce
    for final in domain.FINAL_STATES:
        for fact in ("queued", "succeeded", "failed"):
            assert domain.next_state_after_delivery(final, fact) is None


def test_cooldown():
    cooldown = timedelta(seconds=60)
    assert domain.cooldown_remaining(None, NOW, cooldown) is None
    assert domain.cooldown_remaining(NOW - timedelta(seconds=20), NOW, cooldown) == 40
    assert domain.cooldown_remaining(NOW - timedelta(seconds=60), NOW, cooldown) is None


@pytest.mark.parametrize(
    ("latest", "live", "status"),
    [
        (None, False, PortalStatus.NOT_INVITED),
        (S.PENDING, False, PortalStatus.INVITED),
        (S.DELIVERED, False, PortalStatus.DELIVERED),
        (S.BOUNCED, False, PortalStatus.BOUNCED),
        (S.EXPIRED, False, PortalStatus.EXPIRED),
        (S.ACCEPTED, True, PortalStatus.ACTIVE),
        (S.ACCEPTED, False, PortalStatus.REVOKED),
        (S.REVOKED, False, PortalStatus.REVOKED),
    ],
)
def test_portal_status_for_staff(latest, live, status):
    assert domain.portal_status(latest, live) == status
