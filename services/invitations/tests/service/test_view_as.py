"""View As through the invitations service's entrypoints: staff get a short-lived, read-only session
showing the portal as one contact, whether or not that contact has a portal account; it is audited,
it expires, it stays inside the staff member's organization, and nothing that takes a person's
session accepts it."""

import time

import pytest
from sqlalchemy import text

from shared.contracts import invitations as i
from shared.contracts.common import ContactType, StaffRole
from shared.contracts.contacts import CREATE_STAFF_MEMBER, CreateStaffMember
from shared.contracts.errors import InvalidCredentials, NotFound
from shared.testing.helpers import random_email
from shared.tokens import digest


def start(platform, actor, contact):
    return platform.invitations(i.START_VIEW_AS, i.StartViewAs(actor=actor, contact_id=contact.id))


def check(platform, session_id):
    return platform.invitations(i.CHECK_VIEW_AS, i.SessionRef(session_id=session_id))


def audit(infra, contact):
    with infra.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT action, staff_member_id, account_id FROM invitations.access_audit "
                "WHERE contact_id = :c ORDER BY id"
            ),
            {"c": contact.id},
        ).all()


def test_a_contact_without_an_account_is_shown_as_themselves_for_fifteen_minutes(platform, infra):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)  # never invited: no portal account

    issued = start(platform, org.actor, tenant)
    seen = check(platform, issued.session_id)

    assert seen.account_id is None
    assert seen.email == tenant.email
    assert [(m.organization_id, m.contact_id, m.contact_type) for m in seen.memberships] == [
        (org.id, tenant.id, ContactType.TENANT)
    ]
    assert seen.view_as is not None
    assert (seen.view_as.staff_member_id, seen.view_as.contact_name) == (
        org.actor.staff_member_id,
        tenant.display_name,
    )
    lifetime = (issued.expires_at - seen.memberships[0].granted_at).total_seconds()
    assert lifetime == platform.settings.view_as_lifetime_minutes * 60 == 15 * 60
    with infra.engine.connect() as conn:  # stored only as its digest
        stored = conn.execute(
            text("SELECT id_hash FROM invitations.view_as_sessions WHERE contact_id = :c"), {"c": tenant.id}
        ).scalar_one()
    assert stored == digest(issued.session_id) != issued.session_id


def test_view_as_is_audited_with_the_staff_member_and_the_contact_viewed(platform, infra):
    org = platform.new_org()
    viewer = platform.contacts(
        CREATE_STAFF_MEMBER,
        CreateStaffMember(actor=org.actor, email=random_email("viewer"), name="Vee", role=StaffRole.VIEWER),
    )
    as_viewer = org.actor.model_copy(update={"staff_member_id": viewer.id})
    landlord = platform.contact(org, ContactType.LANDLORD)

    issued = start(platform, as_viewer, landlord)  # read access is enough
    platform.invitations(i.END_VIEW_AS, i.SessionRef(session_id=issued.session_id))

    assert audit(infra, landlord) == [
        ("view_as_started", viewer.id, None),
        ("view_as_ended", viewer.id, None),
    ]
    with pytest.raises(InvalidCredentials):
        check(platform, issued.session_id)


def test_a_view_as_session_expires(make_platform, settings):
    platform = make_platform(settings.model_copy(update={"view_as_lifetime_minutes": 0.02}))
    org = platform.new_org()
    tenant = platform.contact(org)
    issued = start(platform, org.actor, tenant)
    assert check(platform, issued.session_id).view_as is not None

    time.sleep(1.5)

    with pytest.raises(InvalidCredentials):
        check(platform, issued.session_id)


def test_another_organizations_contact_cannot_be_viewed(platform, infra):
    org, other = platform.new_org(), platform.new_org()
    tenant = platform.tenant_with_lease(org)

    with pytest.raises(NotFound):
        start(platform, other.actor, tenant)
    assert audit(infra, tenant) == []


def test_a_view_as_session_opens_nothing_that_takes_a_persons_session(platform, infra):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    issued = start(platform, org.actor, tenant)
    ref = i.SessionRef(session_id=issued.session_id)

    with pytest.raises(InvalidCredentials):  # not a person's session: no account, no grants
        platform.invitations(i.CHECK_SESSION, ref)
    platform.invitations(i.LOGOUT, ref)  # signing "them" out touches nothing
    assert check(platform, issued.session_id).view_as is not None
    with infra.engine.connect() as conn:
        grants = conn.execute(
            text("SELECT count(*) FROM invitations.access_grants WHERE contact_id = :c"), {"c": tenant.id}
        ).scalar_one()
    assert grants == 0
