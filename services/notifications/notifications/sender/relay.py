"""Publishes the notifications outbox from the sender process, so the sender's own facts
(`delivery_succeeded`, `delivery_failed`) leave within a fraction of a second even when it runs on its own.
Woken by a result, it waits `linger_seconds` (150 ms) before publishing, so the results the other
workers write meanwhile go out in the same batch: at full pace that is a few events a transaction
rather than one transaction, and one lock of the outbox, per email.

The nameko service's `OutboxRelay` publishes the same rows as a backup, once they have waited
5 s (a sender that cannot reach the broker). Both lock what they publish (FOR UPDATE SKIP
LOCKED), so they never publish a row at the same time, and a row published twice after a crash
is dropped by the consumers' inbox. Events go out as nameko does it: JSON to the
topic exchange `<source>.events`, routing key = event type, message id = event id, persistent,
with publisher confirms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import aio_pika
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.models import outbox
from shared import faults
from shared.broker_access import login_of
from shared.topology import EventMessage

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10
PUBLISH_TIMEOUT_SECONDS = 10
MAX_BACKOFF_SECONDS = 10.0
WAKE_LINGER_SECONDS = 0.15


async def wait_any(events: Iterable[asyncio.Event], timeout: float) -> None:
    """Return when one of `events` is set, or after `timeout` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class EventRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        amqp_uri: str,
        batch_size: int,
        poll_seconds: float,
        linger_seconds: float = WAKE_LINGER_SECONDS,
    ) -> None:
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.login = login_of(amqp_uri)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self._wake = asyncio.Event()
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, then once more, so the last results leave too."""
        failures = 0
        try:
            while True:
                stopping = stop.is_set()
                try:
                    published = await self.publish_batch()
                    failures = 0
                except Exception as exc:
                    await self._disconnect()
                    if stopping:
                        log.warning("events left in the outbox for the next relay (%s)", type(exc).__name__)
                        return
                    failures += 1
                    log.warning("outbox relay failed (%s); retrying", type(exc).__name__)
                    await wait_any([stop], min(0.5 * 2**failures, MAX_BACKOFF_SECONDS))
                    continue
                if published < self.batch_size:
                    if stopping:
                        return
                    await wait_any([self._wake, stop], self.poll_seconds)
                    if self._wake.is_set() and not stop.is_set():
                        # The other workers' results, written meanwhile, join this one's batch.
                        await wait_any([stop], self.linger_seconds)
                    self._wake.clear()
        finally:
            await self._disconnect()

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished events (locked while they go out), then mark them."""
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.id, outbox.c.event_id, outbox.c.source, outbox.c.event_type, outbox.c.payload
                    )
                    .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            events = [EventMessage.of(row) for row in rows]
            exchanges = {name: await self._exchange(name) for name in {event.exchange for event in events}}
            # All sent at once, then every confirm awaited: one round trip for the batch.
            await asyncio.gather(
                *(
                    exchanges[event.exchange].publish(
                        aio_pika.Message(
                            body=event.body,
                            content_type=event.content_type,
                            content_encoding=event.content_encoding,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=event.message_id,
                            type=event.routing_key,
                            user_id=self.login,  # checked by the broker, trusted by the consumers
                        ),
                        routing_key=event.routing_key,
                        # The queues are declared up front (shared.topology), as nameko publishes.
                        mandatory=False,
                        timeout=PUBLISH_TIMEOUT_SECONDS,
                    )
                    for event in events
                )
            )
            if rows:
                faults.crash_point(faults.SENDER_OUTBOX_PUBLISHED)
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows]))
                    .values(published_at=func.now())
                )
        return len(rows)

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        if self._channel is None or self._channel.is_closed:
            self._exchanges.clear()
            self._connection = await aio_pika.connect(
                self.amqp_uri,
                timeout=CONNECT_TIMEOUT_SECONDS,
                client_properties={"connection_name": "notifications-sender-relay"},
            )
            self._channel = await self._connection.channel(publisher_confirms=True)
        if name not in self._exchanges:
            # Declared at deploy: the sender's login may publish to it, not declare it.
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def _disconnect(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._exchanges.clear()
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), CONNECT_TIMEOUT_SECONDS)
            except Exception:  # closing a broken connection may fail; it is gone either way
                log.debug("closing the relay's broker connection failed", exc_info=True)
