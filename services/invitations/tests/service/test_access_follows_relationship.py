"""Access follows the relationship: when a lease ends, a property link is removed or a contact's
email changes, the portal access that rested on it ends (with its sessions and live invitations),
and access that still rests on another valid link stays. Through the real services: staff change
the lease, link or contact, properties or contacts announce it, invitations acts on it."""

from datetime import date, timedelta

import eventlet
import pytest
from kombu import Connection, Exchange
from sqlalchemy import text

from properties.lease_endings import lease_ended_event_id
from shared import topology as t
from shared.broker_access import PUBLISHER_HEADER, dev_uri, login_name
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import ContactType, InvitationState, utc_now
from shared.contracts.errors import InvalidCredentials
from shared.contracts.events import ContactEmailChanged, LeaseEnded
from shared.contracts.invitations import LinkStatus, PortalStatus
from shared.testing.helpers import (
    EventCollector,
    owner_dispatcher,
    random_email,
    random_name,
)

PASSWORD = "copper kites over quiet hills"
TODAY = utc_now().date()
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def events(settings):
    collector = EventCollector(
        settings.amqp_uri, "invitations", ["invitation_sent", "access_revoked", "invitation_revoked"]
    )
    yield collector
    collector.close()


# --- making things ----------------------------------------------------------------------------


def new_property(platform, org):
    return platform.properties(
        p.CREATE_PROPERTY,
        p.CreateProperty(
            actor=org.actor,
            property=p.NewProperty(
                name=random_name("House"), address_line1="3 Oak Lane", city="York", postcode="YO1 7HH"
            ),
        ),
    )


def new_lease(platform, org, tenant, start: date | None = None):
    prop = new_property(platform, org)
    unit = platform.properties(p.ADD_UNIT, p.AddUnit(actor=org.actor, property_id=prop.id, name="Flat 3"))
    return platform.properties(
        p.CREATE_LEASE,
        p.CreateLease(
            actor=org.actor,
            unit_id=unit.id,
            start_date=start or TODAY - timedelta(days=60),
            tenant_contact_ids=[tenant.id],
        ),
    )


def end_lease(platform, org, lease, on=YESTERDAY):
    return platform.properties(p.END_LEASE, p.EndLease(actor=org.actor, lease_id=lease.id, end_date=on))


def landlord_of(platform, org, email=None):
    return platform.contact(org, ContactType.LANDLORD, email or random_email("landlord"))


def link(platform, org, prop, contact):
    platform.properties(
        p.LINK_CONTACT,
        p.LinkContact(
            actor=org.actor, property_id=prop.id, contact_id=contact.id, role=p.PropertyRole.LANDLORD
        ),
    )


def unlink(platform, org, prop, contact):
    return platform.properties(
        p.UNLINK_CONTACT, p.UnlinkContact(actor=org.actor, property_id=prop.id, contact_id=contact.id)
    )


def invite(platform, org, contact, events):
    """Send an invitation; the invitation and its raw token (from the sealed link)."""
    view = platform.invitations(i.SEND_INVITATION, i.SendInvitation(actor=org.actor, contact_id=contact.id))
    _, payload = events.until(
        lambda kind, body: kind == "invitation_sent" and body["invitation_id"] == str(view.id)
    )
    return view, platform.settings.link_sealer.open(payload["sealed_link"]).link.rsplit("/", 1)[1]


def invite_and_accept(platform, org, contact, events):
    """The contact invited and signed in: the session id of their new account."""
    _, token = invite(platform, org, contact, events)
    return platform.invitations(
        i.ACCEPT_INVITATION,
        i.AcceptInvitation(token=token, password=PASSWORD, password_confirmation=PASSWORD),
    ).session_id


def join_with_existing_account(platform, org, contact, events):
    _, token = invite(platform, org, contact, events)
    return platform.invitations(
        i.ACCEPT_INVITATION_AS_ACCOUNT, i.AcceptInvitationAsAccount(token=token, password=PASSWORD)
    ).session_id


# --- looking -----------------------------------------------------------------------------------


def session_of(platform, session_id):
    return platform.invitations(i.CHECK_SESSION, i.SessionRef(session_id=session_id))


def status_of(platform, org, contact):
    access = platform.invitations(
        i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org.id, contact_ids=[contact.id])
    )
    return access.items[0].status


def revocation_audit(infra, contact):
    with infra.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT staff_member_id, detail FROM invitations.access_audit "
                "WHERE contact_id = :contact AND action = 'access_revoked' ORDER BY id"
            ),
            {"contact": contact.id},
        ).all()


def wait_until_handled(infra, event_id, handler, timeout=15):
    """Until invitations has handled the event (its inbox row), for effects that must not happen."""
    with eventlet.Timeout(timeout):
        while True:
            with infra.engine.connect() as connection:
                seen = connection.execute(
                    text("SELECT count(*) FROM invitations.inbox WHERE event_id = :id AND handler = :h"),
                    {"id": event_id, "h": handler},
                ).scalar_one()
            if seen:
                return seen
            eventlet.sleep(0.05)


def wait_for_revocation(events, contact):
    _, revoked = events.until(
        lambda kind, body: kind == "access_revoked" and body["contact_id"] == str(contact.id), timeout=15
    )
    return revoked


def property_unlinked_event_id(infra, prop, contact):
    with infra.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT event_id FROM properties.outbox WHERE event_type = 'property_contact_unlinked' "
                "AND payload->>'property_id' = :p AND payload->>'contact_id' = :c"
            ),
            {"p": str(prop.id), "c": str(contact.id)},
        ).scalar_one()


# --- the tests ---------------------------------------------------------------------------------


def test_a_lease_that_ends_ends_the_tenants_access_and_signs_them_out_at_once(platform, events, infra):
    org = platform.new_org()
    tenant = platform.contact(org)
    lease = new_lease(platform, org, tenant)
    first = invite_and_accept(platform, org, tenant, events)
    second = platform.invitations(i.LOGIN, i.Login(email=tenant.email, password=PASSWORD)).session_id
    assert status_of(platform, org, tenant) == PortalStatus.ACTIVE

    end_lease(platform, org, lease)

    revoked = wait_for_revocation(events, tenant)
    assert revoked["reason"] == f"the lease ended on {YESTERDAY.isoformat()}"
    for session_id in (first, second):
        with pytest.raises(InvalidCredentials):
            session_of(platform, session_id)
    assert status_of(platform, org, tenant) == PortalStatus.REVOKED
    [(staff_member_id, detail)] = revocation_audit(infra, tenant)
    assert staff_member_id is None  # nobody on the staff did it: the lease ended
    assert detail == f"0 invitation(s), 1 grant(s): the lease ended on {YESTERDAY.isoformat()}"
    # Signing in again works (it is their account) but shows no membership.
    again = platform.invitations(i.LOGIN, i.Login(email=tenant.email, password=PASSWORD))
    assert session_of(platform, again.session_id).memberships == []


def test_access_that_rests_on_another_current_lease_stays(platform, events, infra):
    org = platform.new_org()
    tenant = platform.contact(org)
    flat, garage = new_lease(platform, org, tenant), new_lease(platform, org, tenant)
    session_id = invite_and_accept(platform, org, tenant, events)

    end_lease(platform, org, flat)
    wait_until_handled(infra, lease_ended_event_id(flat.id, YESTERDAY), "on_lease_ended")

    assert [m.contact_id for m in session_of(platform, session_id).memberships] == [tenant.id]
    assert status_of(platform, org, tenant) == PortalStatus.ACTIVE
    assert revocation_audit(infra, tenant) == []

    end_lease(platform, org, garage)  # the last one: now it goes

    wait_for_revocation(events, tenant)
    with pytest.raises(InvalidCredentials):
        session_of(platform, session_id)


def test_a_pending_invitation_dies_with_the_lease(platform, events, infra):
    org = platform.new_org()
    tenant = platform.contact(org)
    lease = new_lease(platform, org, tenant)
    invitation, token = invite(platform, org, tenant, events)

    end_lease(platform, org, lease)

    _, revoked = events.until(
        lambda kind, body: kind == "invitation_revoked" and body["invitation_id"] == str(invitation.id)
    )
    assert revoked["revoked_by_staff_member_id"] is None
    assert platform.invitations(i.OPEN_INVITATION, i.OpenInvitation(token=token)).status == LinkStatus.REVOKED
    view = platform.invitations(
        i.GET_INVITATION, i.GetInvitation(organization_id=org.id, invitation_id=invitation.id)
    )
    assert view.state == InvitationState.REVOKED
    assert status_of(platform, org, tenant) == PortalStatus.REVOKED


def test_a_person_with_another_membership_stays_signed_in_without_the_ended_one(platform, events, infra):
    email = random_email("both")
    first_org, second_org = platform.new_org(), platform.new_org()
    here, there = platform.contact(first_org, email=email), platform.contact(second_org, email=email)
    lease = new_lease(platform, first_org, here)
    new_lease(platform, second_org, there)
    invite_and_accept(platform, first_org, here, events)
    session_id = join_with_existing_account(platform, second_org, there, events)
    assert len(session_of(platform, session_id).memberships) == 2

    end_lease(platform, first_org, lease)

    wait_for_revocation(events, here)
    [membership] = session_of(platform, session_id).memberships
    assert (membership.organization_id, membership.contact_id) == (second_org.id, there.id)


def test_removing_a_landlords_last_property_link_ends_their_access(platform, events, infra):
    org = platform.new_org()
    landlord = landlord_of(platform, org)
    house, shop = new_property(platform, org), new_property(platform, org)
    link(platform, org, house, landlord)
    link(platform, org, shop, landlord)
    session_id = invite_and_accept(platform, org, landlord, events)

    unlink(platform, org, house, landlord)
    wait_until_handled(
        infra, property_unlinked_event_id(infra, house, landlord), "on_property_contact_unlinked"
    )
    assert len(session_of(platform, session_id).memberships) == 1  # the shop still links them

    unlink(platform, org, shop, landlord)

    revoked = wait_for_revocation(events, landlord)
    assert revoked["reason"] == "the landlord link to a property was removed"
    with pytest.raises(InvalidCredentials):
        session_of(platform, session_id)
    assert status_of(platform, org, landlord) == PortalStatus.REVOKED


def test_an_email_change_revokes_invitations_to_the_old_email_and_the_old_accounts_access(
    platform, events, infra
):
    org = platform.new_org()
    member, invited = platform.tenant_with_lease(org), platform.tenant_with_lease(org)
    session_id = invite_and_accept(platform, org, member, events)
    invitation, token = invite(platform, org, invited, events)

    for contact in (member, invited):
        platform.contacts(
            c.UPDATE_CONTACT,
            c.UpdateContact(
                actor=org.actor,
                contact_id=contact.id,
                changes=c.ContactChanges(email=random_email("moved")),
            ),
        )

    wait_for_revocation(events, member)
    with pytest.raises(InvalidCredentials):
        session_of(platform, session_id)
    assert status_of(platform, org, member) == PortalStatus.REVOKED
    [(_, detail)] = revocation_audit(infra, member)
    assert detail.startswith("0 invitation(s), 1 grant(s): the contact's email address changed from ")
    _, revoked = events.until(
        lambda kind, body: kind == "invitation_revoked" and body["invitation_id"] == str(invitation.id)
    )
    assert revoked["reason"] == "the contact's email address changed"
    assert platform.invitations(i.OPEN_INVITATION, i.OpenInvitation(token=token)).status == LinkStatus.REVOKED
    # Staff can invite the contact at its new email, which the next person opens.
    again, _ = invite(platform, org, invited, events)
    assert again.email != invitation.email and again.state == InvitationState.PENDING


def test_the_same_event_twice_revokes_once(platform, events, infra, settings):
    org = platform.new_org()
    tenant = platform.contact(org)
    lease = new_lease(platform, org, tenant)
    invite_and_accept(platform, org, tenant, events)
    # Staff end the lease; the event the relay publishes is then delivered once more (as a broker
    # does after a lost ack), twice more in a burst.
    end_lease(platform, org, lease)
    wait_for_revocation(events, tenant)
    event = LeaseEnded(
        event_id=lease_ended_event_id(lease.id, YESTERDAY),
        organization_id=org.id,
        lease_id=lease.id,
        property_id=lease.property_id,
        unit_id=lease.unit_id,
        tenant_contact_ids=[tenant.id],
        end_date=YESTERDAY,
    )
    dispatch = owner_dispatcher(settings.amqp_uri)
    for _ in range(2):
        dispatch("properties", "lease_ended", event.model_dump(mode="json"))
    eventlet.sleep(1)  # time for both to be handled, had they not been seen before

    assert len(revocation_audit(infra, tenant)) == 1
    with infra.engine.connect() as connection:
        announced = connection.execute(
            text(
                "SELECT count(*) FROM invitations.outbox "
                "WHERE event_type = 'access_revoked' AND payload->>'contact_id' = :c"
            ),
            {"c": str(tenant.id)},
        ).scalar_one()
    assert announced == 1


def test_a_stale_lease_ended_for_a_lease_still_running_changes_nothing(platform, events, infra, settings):
    org = platform.new_org()
    tenant = platform.contact(org)
    lease = new_lease(platform, org, tenant)
    session_id = invite_and_accept(platform, org, tenant, events)
    # Announced for an end date staff have since moved: the lease runs on.
    event = LeaseEnded(
        organization_id=org.id,
        lease_id=lease.id,
        property_id=lease.property_id,
        unit_id=lease.unit_id,
        tenant_contact_ids=[tenant.id],
        end_date=YESTERDAY,
    )

    owner_dispatcher(settings.amqp_uri)("properties", "lease_ended", event.model_dump(mode="json"))

    wait_until_handled(infra, event.event_id, "on_lease_ended")
    assert [m.contact_id for m in session_of(platform, session_id).memberships] == [tenant.id]
    assert revocation_audit(infra, tenant) == []


# --- who may say so ------------------------------------------------------------------------------


def dead_letters(settings, subscription):
    """Every message parked in the subscription's dead-letter queue (taken off it)."""
    parked = []
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(subscription.dead_letter_queue, no_ack=True)) is not None:
            parked.append(message)
    return parked


def forge(uri, login, exchange, routing_key, event, headers=None):
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer(serializer="json").publish(
            event.model_dump(mode="json"),
            exchange=Exchange(exchange, type="topic", no_declare=True) if exchange else "",
            routing_key=routing_key,
            message_id=str(event.event_id),
            type=event.event_type,
            headers=headers or {},
            **({"user_id": login} if login else {}),
        )


def test_a_forged_email_change_from_anyone_but_contacts_is_parked_and_changes_nothing(
    platform, events, infra, settings, caplog
):
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    session_id = invite_and_accept(platform, org, tenant, events)
    sub = t.CONTACT_EMAIL_CHANGED

    def email_changed():
        return ContactEmailChanged(
            organization_id=org.id, contact_id=tenant.id, old_email=tenant.email, new_email=random_email()
        )

    # A broker administrator's login (no user_id of the platform) on the contacts exchange, and
    # the notifications login straight into invitations' queue, claiming contacts published it.
    by_admin, by_notifications = email_changed(), email_changed()
    forge(settings.amqp_uri, None, "contacts.events", sub.event_type, by_admin)
    forge(
        dev_uri(settings.amqp_uri, "notifications"),
        login_name("notifications"),
        None,
        sub.queue,
        by_notifications,
        headers={PUBLISHER_HEADER: login_name("contacts")},
    )

    with eventlet.Timeout(15):
        parked = []
        while len(parked) < 2:
            parked += dead_letters(settings, sub)
            eventlet.sleep(0.05)
    errors = {m.properties["message_id"]: m.headers["x-portal-error"] for m in parked}
    assert errors == {
        str(
            by_admin.event_id
        ): "published by a broker login that gave no user_id, not by the owner of its exchange",
        str(
            by_notifications.event_id
        ): "published by broker login 'portal-notifications', not by the owner of its exchange",
    }
    assert (
        "event evt-contacts-contact_email_changed--invitations.on_contact_email_changed published by "
        "broker login 'portal-notifications', not by portal-contacts" in caplog.text
    )
    # Nothing changed: the tenant is still signed in, with access, nothing revoked or handled.
    assert [m.contact_id for m in session_of(platform, session_id).memberships] == [tenant.id]
    assert status_of(platform, org, tenant) == PortalStatus.ACTIVE
    assert revocation_audit(infra, tenant) == []

    # The same event from contacts' own login is handled: the refusal was about who, not what.
    genuine = email_changed()
    owner_dispatcher(settings.amqp_uri)("contacts", sub.event_type, genuine.model_dump(mode="json"))
    wait_for_revocation(events, tenant)
