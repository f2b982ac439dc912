"""The notifications service through its nameko entrypoints, on the real PostgreSQL and RabbitMQ."""

import json
import uuid
from datetime import timedelta

import eventlet
from kombu import Connection
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from nameko.testing.utils import get_extension
from sqlalchemy import func, select, text

from notifications.domain import SUPPRESSED_REASON
from notifications.models import outbox
from notifications.service import NotificationsService
from shared.contracts import notifications as n
from shared.messaging import BatchEventHandler
from shared.outbox import relay_batch
from shared.testing.helpers import (
    hook_caller,
    owner_dispatcher,
    random_email,
)
from shared.topology import Subscription


def deliveries_for(infra, subject_id):
    with infra.engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM notifications.deliveries WHERE subject_id = :id"), {"id": subject_id}
        ).all()


def outbox_events_for(infra, delivery_id):
    with infra.engine.connect() as conn:
        return (
            conn.execute(
                text(
                    "SELECT event_type FROM notifications.outbox "
                    "WHERE payload->>'delivery_id' = :id ORDER BY id"
                ),
                {"id": str(delivery_id)},
            )
            .scalars()
            .all()
        )


def handle(container, method, event):
    """Call a handler with one event, as a redelivery would come (a batch handler, in a list)."""
    payload = event.model_dump(mode="json")
    batch = get_extension(container, BatchEventHandler, method_name=method) is not None
    with entrypoint_hook(container, method) as hook:
        hook([payload] if batch else payload)


def test_an_invitation_sent_event_queues_one_delivery_with_the_link_still_sealed(
    notifications, settings, infra, events, invitation_sent
):
    sent = invitation_sent()
    dispatch = owner_dispatcher(settings.amqp_uri)

    with entrypoint_waiter(notifications, "on_invitation_sent", timeout=10):
        dispatch("invitations", "invitation_sent", sent.event.model_dump(mode="json"))

    [row] = deliveries_for(infra, sent.event.invitation_id)
    assert row.status == "queued"
    assert row.purpose == "invitation"
    assert row.organization_id == sent.event.organization_id
    assert row.recipient == sent.event.email
    assert row.locale == "en-GB"
    assert row.attempts == 0
    assert row.idempotency_key == f"{sent.event.event_id}:invitation"
    assert row.context["sealed_link"] == sent.sealed_link
    assert row.context["recipient_name"] == "Tess Tenant"
    assert row.context["organization_name"] == "Acme Lettings"
    assert row.context["is_resend"] is False
    # The readable link is stored nowhere: not in the delivery, not in the outbox.
    with infra.engine.connect() as conn:
        stored = json.dumps([str(value) for value in row]) + json.dumps(
            conn.execute(text("SELECT payload::text FROM notifications.outbox")).scalars().all()
        )
    assert sent.token not in stored

    kind, payload = events.until(lambda kind, p: p.get("subject_id") == str(sent.event.invitation_id))
    assert kind == "delivery_queued"
    assert payload["delivery_id"] == str(row.id)
    assert payload["purpose"] == "invitation"
    assert payload["organization_id"] == str(sent.event.organization_id)


def test_the_same_event_twice_makes_one_delivery_and_one_event(notifications, infra, invitation_sent):
    sent = invitation_sent()

    handle(notifications, "on_invitation_sent", sent.event)
    handle(notifications, "on_invitation_sent", sent.event)

    [row] = deliveries_for(infra, sent.event.invitation_id)
    assert outbox_events_for(infra, row.id) == ["delivery_queued"]


def test_a_password_reset_is_queued_for_the_account_without_an_organization(
    notifications, infra, events, password_reset_requested
):
    sent = password_reset_requested()

    handle(notifications, "on_password_reset_requested", sent.event)

    [row] = deliveries_for(infra, sent.event.account_id)
    assert (row.purpose, row.status, row.organization_id) == ("password_reset", "queued", None)
    assert row.context["sealed_link"] == sent.sealed_link
    assert row.context["valid_minutes"] == 60
    kind, payload = events.until(lambda kind, p: p.get("subject_id") == str(sent.event.account_id))
    assert kind == "delivery_queued"
    assert payload["organization_id"] is None


def test_a_suppressed_recipient_gets_no_email_and_the_invitation_hears_it_failed(
    notifications, infra, events, invitation_sent
):
    address = random_email("bounced")
    with infra.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notifications.suppressions (address, smtp_code, reason) "
                "VALUES (:address, 550, '5.1.1 no such user')"
            ),
            {"address": address},
        )
    sent = invitation_sent(email=address.upper())  # the list compares normalized addresses

    handle(notifications, "on_invitation_sent", sent.event)

    [row] = deliveries_for(infra, sent.event.invitation_id)
    assert row.status == "suppressed"
    assert row.last_error == SUPPRESSED_REASON
    kind, payload = events.until(lambda kind, p: p.get("subject_id") == str(sent.event.invitation_id))
    assert kind == "delivery_failed"
    assert payload["smtp_code"] is None
    assert payload["reason"] == SUPPRESSED_REASON
    assert outbox_events_for(infra, row.id) == ["delivery_failed"]


def test_list_deliveries_shows_only_the_callers_organization_newest_first(notifications, invitation_sent):
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    first = invitation_sent(organization_id=ours)
    second = invitation_sent(organization_id=ours)
    other = invitation_sent(organization_id=theirs)
    for sent in (first, second, other):
        handle(notifications, "on_invitation_sent", sent.event)
    call = hook_caller(notifications)

    page = call(n.LIST_DELIVERIES, n.ListDeliveries(organization_id=ours))
    assert page.total == 2
    assert [d.subject_id for d in page.items] == [second.event.invitation_id, first.event.invitation_id]
    assert {d.recipient for d in page.items} == {first.event.email, second.event.email}
    assert all(d.status == n.DeliveryStatus.QUEUED and d.attempts == 0 for d in page.items)

    one = call(
        n.LIST_DELIVERIES, n.ListDeliveries(organization_id=ours, subject_id=first.event.invitation_id)
    )
    assert [d.subject_id for d in one.items] == [first.event.invitation_id]

    # Another organization's invitation is invisible even when asked for by id.
    none = call(
        n.LIST_DELIVERIES, n.ListDeliveries(organization_id=ours, subject_id=other.event.invitation_id)
    )
    assert (none.total, none.items) == (0, [])


def test_the_services_relay_leaves_the_senders_results_to_the_sender_for_a_while(infra):
    """The sender's results are published by the sender's relay; the service's relay takes them
    only once they have waited (a sender cut off from the broker), never at once."""
    fresh, waited, own = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with infra.engine.begin() as conn:
        for event_id, event_type, age in (
            (fresh, "delivery_succeeded", 0),
            (waited, "delivery_failed", 10),
            (own, "delivery_queued", 0),
        ):
            conn.execute(
                outbox.insert().values(
                    event_id=event_id,
                    source="notifications",
                    event_type=event_type,
                    payload={},
                    created_at=func.now() - timedelta(seconds=age),
                )
            )
    published = []
    senders = ("delivery_succeeded", "delivery_failed")

    relay_batch(
        infra.engine,
        outbox,
        lambda rows: published.extend(row.event_id for row in rows),
        10_000,
        senders,
        5.0,
    )

    assert fresh not in published
    assert {waited, own} <= set(published)
    with infra.engine.connect() as conn:
        unpublished = (
            conn.execute(select(outbox.c.event_id).where(outbox.c.published_at.is_(None))).scalars().all()
        )
    assert fresh in unpublished and waited not in unpublished


def test_a_burst_with_one_bad_event_queues_every_good_one_once_and_parks_the_bad_one(
    container_factory, settings, infra, invitation_sent, caplog
):
    # Published while no consumer runs, so the service finds them waiting and takes them in
    # batches; the bad one fails its batch, which is then handled one event at a time.
    sent = [invitation_sent() for _ in range(40)]
    payloads = [s.event.model_dump(mode="json") for s in sent]
    payloads.insert(17, {"this": "is not an invitation_sent event"})
    dispatch = owner_dispatcher(settings.amqp_uri)
    for payload in payloads:
        dispatch("invitations", "invitation_sent", payload)

    container = container_factory(NotificationsService, settings.nameko_config())
    container.start()

    dead = Subscription("invitations", "invitation_sent", "notifications", "on_invitation_sent")
    with Connection(settings.amqp_uri) as conn, eventlet.Timeout(20):
        channel = conn.default_channel
        message = channel.basic_get(queue=dead.dead_letter_queue, no_ack=True)
        while message is None:
            eventlet.sleep(0.05)
            message = channel.basic_get(queue=dead.dead_letter_queue, no_ack=True)
        while sum(len(deliveries_for(infra, s.event.invitation_id)) for s in sent) < len(sent):
            eventlet.sleep(0.05)
    assert json.loads(message.body) == {"this": "is not an invitation_sent event"}
    assert message.headers["x-portal-error"].startswith("InvalidInput")
    # The bad event was in a batch with good ones (the batch size the log gives is above one).
    [failed_batch] = [r.args[0] for r in caplog.records if r.msg.startswith("a batch of")]
    assert failed_batch > 1
    for s in sent:
        [row] = deliveries_for(infra, s.event.invitation_id)
        assert outbox_events_for(infra, row.id) == ["delivery_queued"]
