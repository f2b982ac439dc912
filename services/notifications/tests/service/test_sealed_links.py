"""Issue 12: a broker client that captured an invitation_sent or password_reset_requested and
publishes it again with its own address and a new event id gets no email. The notifications
service opens the sealed link, finds it names another recipient, and records the delivery as
failed with the reason (what staff see with the delivery, and what `delivery_failed` says); the
refused delivery keeps no sealed link. On the real PostgreSQL and RabbitMQ."""

import uuid
from datetime import timedelta

from cryptography.fernet import Fernet
from nameko.testing.services import entrypoint_hook
from sqlalchemy import text

from notifications import domain
from notifications.service import NotificationsService
from notifications.settings import NotificationsSettings
from shared.contracts import notifications as n
from shared.contracts.common import utc_now
from shared.sealing import CANNOT_OPEN, LinkSealer
from shared.testing.helpers import hook_caller, owner_dispatcher, random_email


def deliveries_for(infra, subject_id) -> list:
    with infra.engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM notifications.deliveries WHERE subject_id = :id"), {"id": subject_id}
        ).all()


def handle(container, event) -> None:
    """The batch handler called with one invitation_sent, as a redelivery would come."""
    with entrypoint_hook(container, "on_invitation_sent") as hook:
        hook([event.model_dump(mode="json")])


def republished(payload: dict, address: str) -> dict:
    """What the attacker publishes: the captured event, a new id, their own address."""
    return {**payload, "event_id": str(uuid.uuid4()), "email": address}


def emails_that_may_go_to(infra, address: str) -> list:
    """Deliveries to `address` that a sender would take, or has sent."""
    with infra.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT id FROM notifications.deliveries WHERE lower(recipient) = :address "
                "AND status IN ('queued', 'sending', 'sent')"
            ),
            {"address": address},
        ).all()


def facts_about(events, subject_id) -> dict[str, dict]:
    """The delivery_queued and delivery_failed events about `subject_id`, once both have come."""
    seen: dict[str, dict] = {}
    while len(seen) < 2:
        kind, payload = events.until(lambda kind, p: p.get("subject_id") == str(subject_id))
        seen[kind] = payload
    return seen


def test_a_republished_invitation_with_another_address_is_refused_and_staff_see_why(
    notifications, settings, infra, events, invitation_sent
):
    sent = invitation_sent()
    captured = sent.event.model_dump(mode="json")
    attacker = random_email("mallory")
    dispatch = owner_dispatcher(settings.amqp_uri)

    dispatch("invitations", "invitation_sent", captured)
    dispatch("invitations", "invitation_sent", republished(captured, attacker))

    facts = facts_about(events, sent.event.invitation_id)
    assert facts["delivery_failed"]["link_refused"] is True
    [ours, theirs] = sorted(
        deliveries_for(infra, sent.event.invitation_id), key=lambda row: row.recipient != sent.event.email
    )
    assert theirs.recipient == attacker
    assert ours.status == "queued" and ours.context["sealed_link"] == sent.sealed_link
    assert (theirs.status, theirs.last_error, theirs.attempts) == ("failed", domain.OTHER_RECIPIENT, 0)
    assert "sealed_link" not in theirs.context  # the victim's link, even sealed, is not kept for them
    assert emails_that_may_go_to(infra, attacker) == []

    # Staff see it beside the invitation's own email, with the reason.
    page = hook_caller(notifications)(
        n.LIST_DELIVERIES,
        n.ListDeliveries(organization_id=sent.event.organization_id, subject_id=sent.event.invitation_id),
    )
    shown = {delivery.recipient: delivery for delivery in page.items}
    assert shown[attacker].status == n.DeliveryStatus.FAILED
    assert shown[attacker].last_error == domain.OTHER_RECIPIENT
    assert shown[sent.event.email].status == n.DeliveryStatus.QUEUED


def test_a_republished_password_reset_with_another_address_is_refused(
    notifications, settings, infra, events, password_reset_requested
):
    sent = password_reset_requested()
    captured = sent.event.model_dump(mode="json")
    attacker = random_email("mallory")
    dispatch = owner_dispatcher(settings.amqp_uri)

    dispatch("invitations", "password_reset_requested", captured)
    dispatch("invitations", "password_reset_requested", republished(captured, attacker.upper()))

    failed = facts_about(events, sent.event.account_id)["delivery_failed"]
    assert (failed["purpose"], failed["reason"], failed["link_refused"]) == (
        "password_reset",
        domain.OTHER_RECIPIENT,
        True,
    )
    assert failed["smtp_code"] is None
    rows = {row.recipient: row for row in deliveries_for(infra, sent.event.account_id)}
    assert rows[attacker.upper()].status == "failed"
    assert rows[attacker.upper()].last_error == domain.OTHER_RECIPIENT
    assert emails_that_may_go_to(infra, attacker) == []
    assert rows[sent.event.email].status == "queued"


def test_an_expired_sealed_link_is_refused(notifications, infra, invitation_sent):
    sent = invitation_sent(expires_at=utc_now() - timedelta(minutes=1))

    handle(notifications, sent.event)

    [row] = deliveries_for(infra, sent.event.invitation_id)
    assert (row.status, row.last_error) == ("failed", domain.LINK_EXPIRED)


def test_after_a_rotation_the_old_key_still_opens_and_a_retired_key_does_not(
    container_factory, infra, invitation_sent
):
    old, new, retired = (Fernet.generate_key().decode() for _ in range(3))
    rotated = NotificationsSettings(
        **infra.settings_overrides(), link_sealing_key=new, link_sealing_old_keys=old
    )
    container = container_factory(NotificationsService, rotated.nameko_config())
    container.start()
    before_rotation = invitation_sent(sealer=LinkSealer([old]))
    after_rotation = invitation_sent(sealer=LinkSealer([new, old]))
    long_ago = invitation_sent(sealer=LinkSealer([retired]))

    for sent in (before_rotation, after_rotation, long_ago):
        handle(container, sent.event)

    assert [row.status for row in deliveries_for(infra, before_rotation.event.invitation_id)] == ["queued"]
    assert [row.status for row in deliveries_for(infra, after_rotation.event.invitation_id)] == ["queued"]
    [refused] = deliveries_for(infra, long_ago.event.invitation_id)
    assert (refused.status, refused.last_error) == ("failed", f"refused: {CANNOT_OPEN}")
