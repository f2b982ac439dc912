"""Every exchange and queue of the platform, declared up front so no event is published into the void.

RabbitMQ drops an event when no queue is bound to its exchange yet, so the queues of every
subscription are declared at deploy time (`python -m shared.topology`), not only when the consumer
first starts. Each subscription has a main queue (nameko's name for it), one delay queue per retry
back-off step, and a dead-letter queue where an event that keeps failing is parked.

A queue bound by a system outside this platform is its own business; `docs/events.md` shows how.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RPC_EXCHANGE = "nameko-rpc"
SERVICES = ("contacts", "properties", "invitations", "notifications")
ATTEMPT_HEADER = "x-portal-attempt"


@dataclass(frozen=True)
class Subscription:
    source: str
    event_type: str
    service: str
    method: str

    @property
    def queue(self) -> str:
        # nameko's SERVICE_POOL queue name, so its own declaration matches ours.
        return f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead"

    @property
    def inbox_key(self) -> str:
        """The handler name the inbox keeps with each event it has seen (with the event id, its
        key). It is the method's name: renaming one would let its events be handled again."""
        return self.method

    def retry_queue(self, delay_seconds: float) -> str:
        # The delay is in the name: changing the back-off makes new queues rather than clashing
        # with the arguments of existing ones.
        return f"{self.queue}.retry-{int(delay_seconds * 1000)}ms"


# Every subscription, declared once: the service's `@event_handler(...)` takes it (and checks at
# start that it decorates the method named here), the topology declares its queues from it, and
# the handler records the events it has seen in its inbox under its `inbox_key`.
INVITATION_SENT = Subscription("invitations", "invitation_sent", "notifications", "on_invitation_sent")
PASSWORD_RESET_REQUESTED = Subscription(
    "invitations", "password_reset_requested", "notifications", "on_password_reset_requested"
)
MAINTENANCE_REQUEST_UPDATED = Subscription(
    "properties", "maintenance_request_updated", "notifications", "on_maintenance_request_updated"
)
DELIVERY_QUEUED = Subscription("notifications", "delivery_queued", "invitations", "on_delivery_queued")
DELIVERY_SUCCEEDED = Subscription(
    "notifications", "delivery_succeeded", "invitations", "on_delivery_succeeded"
)
DELIVERY_FAILED = Subscription("notifications", "delivery_failed", "invitations", "on_delivery_failed")
LEASE_ENDED = Subscription("properties", "lease_ended", "invitations", "on_lease_ended")
PROPERTY_CONTACT_UNLINKED = Subscription(
    "properties", "property_contact_unlinked", "invitations", "on_property_contact_unlinked"
)
CONTACT_EMAIL_CHANGED = Subscription(
    "contacts", "contact_email_changed", "invitations", "on_contact_email_changed"
)

SUBSCRIPTIONS: tuple[Subscription, ...] = (
    INVITATION_SENT,
    PASSWORD_RESET_REQUESTED,
    DELIVERY_QUEUED,
    DELIVERY_SUCCEEDED,
    DELIVERY_FAILED,
    LEASE_ENDED,
    PROPERTY_CONTACT_UNLINKED,
    CONTACT_EMAIL_CHANGED,
    MAINTENANCE_REQUEST_UPDATED,
)


def queue_arguments(quorum: bool) -> dict[str, object]:
    return {"x-queue-type": "quorum"} if quorum else {}


@dataclass(frozen=True)
class EventMessage:
    """An outbox row as nameko publishes an event: JSON to the topic exchange `<source>.events`,
    routing key and AMQP `type` = the event type, message id = the event id, persistent. Both
    outbox relays (the nameko services' and the sender's) publish these."""

    exchange: str
    routing_key: str
    message_id: str
    body: bytes
    content_type = "application/json"
    content_encoding = "utf-8"

    @classmethod
    def of(cls, row: Any) -> EventMessage:
        """From an outbox row (`source`, `event_type`, `event_id`, `payload`)."""
        return cls(
            exchange=event_exchange_name(row.source),
            routing_key=row.event_type,
            message_id=str(row.event_id),
            body=json.dumps(row.payload).encode(),
        )


def event_exchange_name(source: str) -> str:
    return f"{source}.events"


EXCHANGES = (RPC_EXCHANGE, *(event_exchange_name(source) for source in SERVICES))


def declare_topology(
    amqp_uri: str,
    retry_delays: Sequence[float],
    quorum: bool = False,
    subscriptions: Iterable[Subscription] = SUBSCRIPTIONS,
    exchanges: Iterable[str] = EXCHANGES,
) -> list[str]:
    """Declare `exchanges` and the queues of `subscriptions` (idempotent); return the names of the
    queues. A queue is bound to its exchange without declaring it: a service's login may bind to
    another service's exchange but not declare (or delete) it (`shared.broker_access`)."""
    from kombu import Connection, Exchange

    declared: list[str] = []
    with Connection(amqp_uri, connect_timeout=10) as conn:
        channel = conn.channel()
        for name in exchanges:
            Exchange(name, type="topic", durable=True)(channel).declare()
        for sub in subscriptions:
            exchange = Exchange(event_exchange_name(sub.source), type="topic", durable=True, no_declare=True)
            for queue in subscription_queues(sub, exchange, retry_delays, quorum):
                queue(channel).declare()
                declared.append(queue.name)
    return declared


def subscription_queues(
    sub: Subscription, exchange: object, retry_delays: Sequence[float], quorum: bool
) -> list:
    from kombu import Queue

    args = queue_arguments(quorum)
    queues = [
        Queue(
            sub.queue,
            exchange=exchange,
            routing_key=sub.event_type,
            durable=True,
            queue_arguments=args,
        ),
        Queue(sub.dead_letter_queue, durable=True, queue_arguments=args),
    ]
    for delay in retry_delays:
        queues.append(retry_queue(sub, delay, quorum))
    return queues


def retry_queue(sub: Subscription, delay_seconds: float, quorum: bool):  # type: ignore[no-untyped-def]
    """A queue nobody consumes: a message waits `delay_seconds`, then goes back to the main queue."""
    from kombu import Queue

    return Queue(
        sub.retry_queue(delay_seconds),
        durable=True,
        queue_arguments={
            **queue_arguments(quorum),
            "x-message-ttl": int(delay_seconds * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": sub.queue,
        },
    )


# A message redelivered this many times is dead-lettered by the broker itself (see `_delivery_limit_policy`).
DELIVERY_LIMIT = 10
DELIVERY_LIMIT_POLICY_PRIORITY = 10


def rabbitmq_definitions(
    retry_delays: Sequence[float],
    vhost: str = "/",
    *,
    delivery_limit: int = DELIVERY_LIMIT,
    subscriptions: Iterable[Subscription] = SUBSCRIPTIONS,
) -> dict[str, list[dict[str, object]]]:
    """What `declare_topology(..., quorum=True)` declares, as a RabbitMQ definitions document.

    The JSON that `rabbitmqctl import_definitions`, the management API (`POST /api/definitions`) and
    `load_definitions` accept; `shared.broker_access.definitions` adds the logins' permissions.
    Importing it on a cluster before the services start means no event is dropped for want of a
    queue. Every queue has the same arguments the services declare, so their own declarations at
    start match it (RabbitMQ refuses a redeclaration whose arguments differ).

    Policies are the one addition: a queue's arguments cannot be changed after the fact, a policy
    can, and a policy is no argument, so it never clashes with a declaration.
    """
    subs = tuple(subscriptions)
    exchanges = [_exchange_definition(RPC_EXCHANGE, vhost)]
    exchanges += [_exchange_definition(event_exchange_name(source), vhost) for source in SERVICES]
    queues: list[dict[str, object]] = []
    bindings: list[dict[str, object]] = []
    for sub in subs:
        args = queue_arguments(quorum=True)
        queues.append(_queue_definition(sub.queue, vhost, args))
        bindings.append(
            {
                "source": event_exchange_name(sub.source),
                "vhost": vhost,
                "destination": sub.queue,
                "destination_type": "queue",
                "routing_key": sub.event_type,
                "arguments": {},
            }
        )
        queues.append(_queue_definition(sub.dead_letter_queue, vhost, args))
        for delay in retry_delays:
            queue = retry_queue(sub, delay, quorum=True)
            queues.append(_queue_definition(queue.name, vhost, dict(queue.queue_arguments)))
    return {
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
        "policies": [_delivery_limit_policy(sub, vhost, delivery_limit) for sub in subs],
    }


def definitions_json(definitions: dict[str, list[dict[str, object]]]) -> str:
    """The one text form of a definitions document (`deploy/rabbitmq/definitions.json` is this)."""
    return json.dumps(definitions, indent=2) + "\n"


def _exchange_definition(name: str, vhost: str) -> dict[str, object]:
    return {
        "name": name,
        "vhost": vhost,
        "type": "topic",
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
    }


def _queue_definition(name: str, vhost: str, arguments: dict[str, object]) -> dict[str, object]:
    return {
        "name": name,
        "vhost": vhost,
        "durable": True,
        "auto_delete": False,
        "arguments": arguments,
    }


def _delivery_limit_policy(sub: Subscription, vhost: str, delivery_limit: int) -> dict[str, object]:
    """A safety net for one event queue: a message delivered `delivery_limit` times goes to the
    subscription's dead-letter queue.

    Our handler already moves a failing event aside (a delay queue, then the dead-letter queue) and
    acks it, so in normal running no message comes near the limit. What the policy catches is a
    message that never reaches that code: a consumer that crashes, is OOM-killed or loses its
    connection mid-handling gets the message redelivered, and a poison message would loop through
    every replica for ever. A quorum queue counts those redeliveries; past the limit it dead-letters
    the message, and without a dead-letter target it would drop it, hence one policy per queue, each
    naming that queue's `.dead` queue (a policy pattern cannot compute the name).

    Only one policy applies to a queue (the highest priority wins; they do not merge), so a broader
    cluster-wide policy with a lower priority stops applying to these queues: use operator policies
    for cluster-wide limits.
    """
    return {
        "vhost": vhost,
        "name": f"portal-delivery-limit-{sub.queue}",
        "pattern": f"^{_regex_literal(sub.queue)}$",
        "apply-to": "queues",
        "definition": {
            "delivery-limit": delivery_limit,
            "dead-letter-exchange": "",
            "dead-letter-routing-key": sub.dead_letter_queue,
        },
        "priority": DELIVERY_LIMIT_POLICY_PRIORITY,
    }


def _regex_literal(text: str) -> str:
    """`text` as a regular expression matching only itself (RabbitMQ's patterns are PCRE)."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def main() -> None:
    from shared.settings import ServiceSettings

    argparse.ArgumentParser(
        description="Declare the platform's exchanges and queues (as a definitions document: "
        "python -m shared.broker_access --definitions)."
    ).parse_args()
    settings = ServiceSettings()
    names = declare_topology(settings.amqp_uri, settings.event_retry_delays, settings.quorum_queues)
    print(f"declared {len(names)} queues and {len(SERVICES) + 1} exchanges")


if __name__ == "__main__":
    main()
