"""Every exchange and queue of the platform, declared up front so no event is published into the void.

RabbitMQ drops an event when no queue is bound to its exchange yet, so the queues of every
subscription are declared at deploy time (`python -m shared.topology`), not only when the consumer
first starts. Each subscription has a main queue (nameko's name for it), one delay queue per retry
back-off step, and a dead-letter queue where an event that keeps failing is parked.

A queue bound by a system outside this platform is its own business; `docs/events.md` shows how.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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

    def retry_queue(self, delay_seconds: float) -> str:
        # The delay is in the name: changing the back-off makes new queues rather than clashing
        # with the arguments of existing ones.
        return f"{self.queue}.retry-{int(delay_seconds * 1000)}ms"


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("invitations", "invitation_sent", "notifications", "on_invitation_sent"),
    Subscription("invitations", "password_reset_requested", "notifications", "on_password_reset_requested"),
    Subscription("notifications", "delivery_queued", "invitations", "on_delivery_queued"),
    Subscription("notifications", "delivery_succeeded", "invitations", "on_delivery_succeeded"),
    Subscription("notifications", "delivery_failed", "invitations", "on_delivery_failed"),
)


def queue_arguments(quorum: bool) -> dict[str, object]:
    return {"x-queue-type": "quorum"} if quorum else {}


def event_exchange_name(source: str) -> str:
    return f"{source}.events"


def declare_topology(
    amqp_uri: str,
    retry_delays: Sequence[float],
    quorum: bool = False,
    subscriptions: Iterable[Subscription] = SUBSCRIPTIONS,
) -> list[str]:
    """Declare exchanges and queues (idempotent); return the names of the queues."""
    from kombu import Connection, Exchange

    declared: list[str] = []
    with Connection(amqp_uri, connect_timeout=10) as conn:
        channel = conn.channel()
        Exchange(RPC_EXCHANGE, type="topic", durable=True)(channel).declare()
        for source in SERVICES:
            Exchange(event_exchange_name(source), type="topic", durable=True)(channel).declare()
        for sub in subscriptions:
            exchange = Exchange(event_exchange_name(sub.source), type="topic", durable=True)
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
        Queue(sub.queue, exchange=exchange, routing_key=sub.event_type, durable=True, queue_arguments=args),
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


def main() -> None:
    from shared.settings import ServiceSettings

    parser = argparse.ArgumentParser(description="Declare the platform's exchanges and queues.")
    parser.parse_args()
    settings = ServiceSettings()
    names = declare_topology(settings.amqp_uri, settings.event_retry_delays, settings.quorum_queues)
    print(f"declared {len(names)} queues and {len(SERVICES) + 1} exchanges")


if __name__ == "__main__":
    main()
