"""Issue 12 from end to end, with the notifications service running beside invitations: a broker
client captures the invitation_sent and password_reset_requested that invitations publishes and
publishes each again with its own address and a new event id. The links invitations sealed name
their recipient, purpose, subject and expiry, so no email to that address is queued; the
invitation is not marked bounced by it, and staff see why in the contact's access audit. On the
real PostgreSQL and RabbitMQ."""

import uuid

import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from sqlalchemy import text

from notifications.domain import OTHER_RECIPIENT
from notifications.service import NotificationsService
from notifications.settings import NotificationsSettings
from shared.contracts import invitations as i
from shared.contracts.common import InvitationState, normalize_email
from shared.contracts.notifications import DeliveryPurpose
from shared.settings import SealingServiceSettings
from shared.testing.helpers import EventCollector, owner_dispatcher, random_email
from shared.topology import PASSWORD_RESET_REQUESTED

PASSWORD = "copper gulls circle twice"


@pytest.fixture
def notifications(container_factory, settings):
    """The notifications service on the same database and broker, with the same sealing key."""
    own = NotificationsSettings(**settings.model_dump(include=set(SealingServiceSettings.model_fields)))
    container = container_factory(NotificationsService, own.nameko_config())
    container.start()
    return container


@pytest.fixture
def published(settings):
    """What a broker client reads: the invitations' events and the notifications' results."""
    collectors = (
        EventCollector(settings.amqp_uri, "invitations", ["invitation_sent", "password_reset_requested"]),
        EventCollector(settings.amqp_uri, "notifications", ["delivery_failed"]),
    )
    yield collectors
    for collector in collectors:
        collector.close()


def republish(settings, event_type: str, captured: dict, address: str) -> None:
    """With the login of invitations (one that may publish on its exchange)."""
    dispatch = owner_dispatcher(settings.amqp_uri)
    dispatch("invitations", event_type, {**captured, "event_id": str(uuid.uuid4()), "email": address})


def deliveries_to(infra, address: str) -> list:
    with infra.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT status, last_error, context FROM notifications.deliveries WHERE lower(recipient) = :a"
            ),
            {"a": address},
        ).all()


def refusals_audited(platform, org, contact) -> list[str]:
    page = platform.invitations(
        i.LIST_ACCESS_AUDIT, i.ListAccessAudit(organization_id=org.id, contact_id=contact.id)
    )
    return [entry.detail or "" for entry in page.items if entry.action == "email_refused"]


def wait_for(predicate, what: str, timeout: float = 15.0):
    import time

    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)
    return result


def test_captured_invitation_and_reset_events_sent_again_to_another_address_deliver_nothing_there(
    platform, notifications, settings, infra, published
):
    invitation_events, delivery_failures = published
    org = platform.new_org()
    tenant = platform.tenant_with_lease(org)
    attacker = random_email("mallory")

    view = platform.invitations(i.SEND_INVITATION, i.SendInvitation(actor=org.actor, contact_id=tenant.id))
    _, captured = invitation_events.until(
        lambda kind, p: kind == "invitation_sent" and p["invitation_id"] == str(view.id)
    )
    sealed = settings.link_sealer.open(captured["sealed_link"])
    assert (sealed.recipient, sealed.purpose, sealed.subject, sealed.expires_at) == (
        normalize_email(tenant.email),
        DeliveryPurpose.INVITATION,
        view.id,
        view.expires_at,
    )
    republish(settings, "invitation_sent", captured, attacker)

    _, failed = delivery_failures.until(lambda kind, p: p["subject_id"] == str(view.id))
    assert (failed["reason"], failed["link_refused"]) == (OTHER_RECIPIENT, True)
    [audited] = wait_for(lambda: refusals_audited(platform, org, tenant), "the invitation refusal's audit")
    assert audited == f"An invitation email was not sent ({OTHER_RECIPIENT})"
    [invitation] = platform.invitations(
        i.LIST_INVITATIONS, i.ListInvitations(organization_id=org.id, contact_id=tenant.id)
    ).items
    assert InvitationState.BOUNCED not in [step.state for step in invitation.history]

    # The tenant accepts from the real email; then someone asks for a reset of that account.
    token = sealed.link.rsplit("/", 1)[1]
    issued = platform.invitations(
        i.ACCEPT_INVITATION,
        i.AcceptInvitation(token=token, password=PASSWORD, password_confirmation=PASSWORD),
    )
    platform.invitations(i.REQUEST_PASSWORD_RESET, i.RequestPasswordReset(email=tenant.email))
    _, captured = invitation_events.until(lambda kind, p: kind == "password_reset_requested")
    sealed = settings.link_sealer.open(captured["sealed_link"])
    assert (sealed.recipient, sealed.purpose, sealed.subject) == (
        normalize_email(tenant.email),
        DeliveryPurpose.PASSWORD_RESET,
        issued.account_id,
    )
    republish(settings, "password_reset_requested", captured, attacker)

    _, failed = delivery_failures.until(lambda kind, p: p["subject_id"] == str(issued.account_id))
    assert (failed["purpose"], failed["reason"], failed["link_refused"]) == (
        "password_reset",
        OTHER_RECIPIENT,
        True,
    )
    wait_for(lambda: len(refusals_audited(platform, org, tenant)) == 2, "the reset refusal's audit")
    assert f"A password reset email was not sent ({OTHER_RECIPIENT})" in refusals_audited(
        platform, org, tenant
    )

    # Nothing is on its way to the attacker's address, and no link is kept for it, even sealed.
    rows = deliveries_to(infra, attacker)
    assert [(row.status, row.last_error) for row in rows] == [("failed", OTHER_RECIPIENT)] * 2
    assert not any("sealed_link" in row.context for row in rows)

    # With a login that may not publish invitations' events (here a broker administrator's, which
    # may publish anywhere): parked unread, whatever the link says.
    stranger = random_email("eve")
    event_dispatcher(settings.nameko_config())(
        "invitations",
        "password_reset_requested",
        {**captured, "event_id": str(uuid.uuid4()), "email": stranger},
    )

    def parked() -> list:
        with Connection(settings.amqp_uri) as conn:
            message = conn.channel().basic_get(PASSWORD_RESET_REQUESTED.dead_letter_queue, no_ack=True)
        return [message] if message is not None else []

    [message] = wait_for(parked, "the stranger's event to be parked")
    assert message.headers["x-portal-error"].startswith("published by a broker login that gave no user_id")
    assert deliveries_to(infra, stranger) == []
