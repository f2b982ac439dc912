"""nameko DependencyProviders every service uses: settings, database session, outbox relay, password
hashing.

Each builds its resource in `setup()` (never at import), hands a worker the smallest interface,
and cleans up in `worker_teardown` / `stop`.
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

import amqp
import eventlet
from eventlet.queue import Empty, Full, LightQueue
from kombu import Connection
from nameko.extensions import DependencyProvider
from sqlalchemy import Table, text
from sqlalchemy.orm import Session, sessionmaker

from shared.broker_access import login_of
from shared.db import make_engine
from shared.health import Health
from shared.messaging import rpc
from shared.outbox import EventRefused, prune, relay_batch
from shared.passwords import Passwords, green_passwords
from shared.topology import EventMessage

# What the broker answers about a message itself (too large, say), not about the connection.
MESSAGE_REFUSALS: tuple[type[BaseException], ...] = (
    amqp.exceptions.PreconditionFailed,
    amqp.exceptions.ContentTooLarge,
)

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 10


class Settings(DependencyProvider):
    """The service's settings object, as `nameko_config()` put it in the container's config."""

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.container.config["SETTINGS"]


class Database(DependencyProvider):
    """A SQLAlchemy session for each worker, closed (so rolled back unless committed) at its end.

    The engine's pool holds `max_workers` plus headroom connections, so no worker waits for one.
    """

    def setup(self) -> None:
        settings = self.container.config["SETTINGS"]
        self.engine = make_engine(
            settings.database_url,
            pool_size=settings.max_workers + settings.db_pool_headroom,
            application_name=self.container.service_name,
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._open: weakref.WeakKeyDictionary[Any, Session] = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx: Any) -> Session:
        session = self.sessions()
        self._open[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx: Any) -> None:
        session = self._open.pop(worker_ctx, None)
        if session is None:
            return
        try:
            session.close()
        except Exception as exc:
            # A database that went away mid-worker must not take the service down with it: the
            # pool replaces the broken connection on next use.
            log.warning("could not close a database session (%s); discarding it", type(exc).__name__)
            session.invalidate()

    def stop(self) -> None:
        self.engine.dispose()

    def kill(self) -> None:
        self.engine.dispose()


class OutboxRelay(DependencyProvider):
    """Publishes this service's outbox to `<source>.events`, in order, at least once.

    A green thread of the service process. A worker that ends wakes it, so an event usually leaves
    within milliseconds; otherwise it looks every `outbox_poll_seconds`. Publishing uses publisher
    confirms: a row is marked only after the broker has taken the event.
    """

    def __init__(
        self,
        outbox: Table,
        inbox: Table | None = None,
        backup_for: Collection[str] = (),
        backup_after_seconds: float = 5.0,
    ) -> None:
        """`backup_for`: event types another process publishes first (`relay_batch`). `inbox`:
        pruned with the outbox (`shared.outbox.prune`), every `RETENTION_SWEEP_SECONDS`."""
        self.outbox = outbox
        self.inbox = inbox
        self.backup_for = tuple(backup_for)
        self.backup_after_seconds = backup_after_seconds

    def setup(self) -> None:
        self.settings = self.container.config["SETTINGS"]
        self.engine = make_engine(
            self.settings.database_url, pool_size=1, application_name=f"{self.container.service_name}-relay"
        )
        self.publisher = ConfirmedPublisher(self.settings.amqp_uri)
        self._wake: LightQueue = LightQueue(maxsize=1)
        self._running = False
        self._declared: set[str] = set()

    def start(self) -> None:
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self) -> None:
        self._running = False
        self.wake()
        self._thread.wait()
        self.publisher.close()
        self.engine.dispose()

    def kill(self) -> None:
        self._running = False
        self.publisher.close()
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> None:
        return None

    def worker_teardown(self, worker_ctx: Any) -> None:
        self.wake()

    def wake(self) -> None:
        if self._wake.empty():
            with contextlib.suppress(Full):  # a wake-up is already pending
                self._wake.put_nowait(True)

    def _run(self) -> None:
        failures = 0
        one_at_a_time = False  # after the broker refused an event of a batch, until one leaves
        next_prune = time.monotonic()
        while self._running:
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.settings.retention_sweep_seconds
                self._prune()
            batch_size = 1 if one_at_a_time else self.settings.outbox_batch_size
            try:
                published = relay_batch(
                    self.engine,
                    self.outbox,
                    self.publisher.publish,
                    batch_size,
                    self.backup_for,
                    self.backup_after_seconds,
                    self.settings.outbox_max_publish_attempts,
                )
                failures = 0
            except EventRefused:
                one_at_a_time = True
                log.warning("the broker refused an event of a batch; publishing one at a time")
                continue
            except Exception:
                failures += 1
                log.exception("outbox relay failed; retrying")
                eventlet.sleep(min(0.5 * 2**failures, 10.0))
                continue
            if one_at_a_time:
                if published:
                    one_at_a_time = False
                else:  # this event was refused (and counted), or nothing is due
                    eventlet.sleep(0.5)
                continue
            if published < self.settings.outbox_batch_size:
                try:
                    self._wake.get(timeout=self.settings.outbox_poll_seconds)
                except Empty:
                    pass

    def _prune(self) -> None:
        try:
            removed = prune(
                self.engine,
                self.outbox,
                self.inbox,
                timedelta(hours=self.settings.outbox_retention_hours),
                timedelta(days=self.settings.inbox_retention_days),
            )
        except Exception:  # the database is away; the next sweep tries again
            log.exception("could not prune the outbox and inbox")
            return
        if removed:
            log.info("pruned %d outbox and inbox rows past their retention", removed)


class ConfirmedPublisher:
    """Publishes a batch of outbox rows as nameko publishes events (JSON to the topic exchange
    `<source>.events`, routing key = event type, message id = event id, persistent) on one
    channel in confirm mode, then waits once for the broker to confirm them all: one round trip
    a batch, where nameko's Publisher waits for each event's confirm in turn. Any failure closes
    the connection (the next batch opens another) and raises, so the rows stay unpublished."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self.login = login_of(amqp_uri)
        self._connection: Connection | None = None
        self._channel: Any = None
        self._declared: set[str] = set()
        self._unconfirmed: set[int] = set()
        self._nacked = False
        self._next_tag = 1

    def publish(self, rows: Sequence[Any]) -> None:
        try:
            self._publish(rows)
        except MESSAGE_REFUSALS as exc:  # about the message, not the connection
            self.close()
            raise EventRefused(f"the broker refused the event ({type(exc).__name__}: {exc})") from exc
        except BaseException:
            self.close()
            raise

    def _publish(self, rows: Sequence[Any]) -> None:
        channel = self._open()
        for row in rows:
            event = EventMessage.of(row)
            if event.exchange not in self._declared:
                channel.exchange_declare(event.exchange, "topic", durable=True, auto_delete=False)
                self._declared.add(event.exchange)
            message = amqp.Message(
                event.body,
                content_type=event.content_type,
                content_encoding=event.content_encoding,
                delivery_mode=2,  # persistent
                message_id=event.message_id,
                type=event.routing_key,
                user_id=self.login,  # checked by the broker, trusted by the consumers
                application_headers={},
            )
            channel.basic_publish(
                message,
                exchange=event.exchange,
                routing_key=event.routing_key,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
            self._unconfirmed.add(self._next_tag)
            self._next_tag += 1
        deadline = time.monotonic() + PUBLISH_TIMEOUT_SECONDS
        while self._unconfirmed and not self._nacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the broker did not confirm {len(self._unconfirmed)} event(s) in time")
            assert self._connection is not None
            self._connection.drain_events(timeout=remaining)
        if self._nacked:
            raise EventRefused("the broker refused the event (basic.nack)")

    def _open(self) -> Any:
        if self._channel is None:
            connection = Connection(self.amqp_uri, connect_timeout=PUBLISH_TIMEOUT_SECONDS)
            connection.connect()
            self._connection = connection
            channel = connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._channel = channel
            self._declared.clear()
            self._unconfirmed.clear()
            self._nacked = False
            self._next_tag = 1
        return self._channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {tag for tag in self._unconfirmed if tag > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked = True

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail
                connection.close()


class PasswordHashing(DependencyProvider):
    """argon2id hashing in a native thread, so the hub keeps running while a password is hashed."""

    def setup(self) -> None:
        self.passwords = green_passwords()

    def get_dependency(self, worker_ctx: Any) -> Passwords:
        return self.passwords


class HealthCheck:
    """Mixed into a service class that has a `db` (Database): answers the `health` RPC."""

    name: str
    db: Any

    @rpc
    def health(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.db.execute(text("SELECT 1"))
        return Health(service=self.name, database=True).model_dump(mode="json")
