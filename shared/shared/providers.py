"""nameko DependencyProviders every service uses: database session, outbox relay, password hashing.

Each builds its resource in `setup()` (never at import), hands a worker the smallest interface,
and cleans up in `worker_teardown` / `stop`.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Collection
from typing import Any

import eventlet
from eventlet.queue import Empty, Full, LightQueue
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Table, text
from sqlalchemy.orm import Session, sessionmaker

from shared.db import make_engine
from shared.health import Health
from shared.messaging import rpc
from shared.outbox import relay_batch
from shared.passwords import Passwords, green_passwords

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 10


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
        self, outbox: Table, backup_for: Collection[str] = (), backup_after_seconds: float = 5.0
    ) -> None:
        """`backup_for`: event types another process publishes first (`relay_batch`)."""
        self.outbox = outbox
        self.backup_for = tuple(backup_for)
        self.backup_after_seconds = backup_after_seconds

    def setup(self) -> None:
        self.settings = self.container.config["SETTINGS"]
        self.engine = make_engine(
            self.settings.database_url, pool_size=1, application_name=f"{self.container.service_name}-relay"
        )
        self.publisher = Publisher(self.settings.amqp_uri, use_confirms=True, serializer="json")
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
        self.engine.dispose()

    def kill(self) -> None:
        self._running = False
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
        while self._running:
            try:
                published = relay_batch(
                    self.engine,
                    self.outbox,
                    self._publish,
                    self.settings.outbox_batch_size,
                    self.backup_for,
                    self.backup_after_seconds,
                )
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; retrying")
                eventlet.sleep(min(0.5 * 2**failures, 10.0))
                continue
            if published < self.settings.outbox_batch_size:
                try:
                    self._wake.get(timeout=self.settings.outbox_poll_seconds)
                except Empty:
                    pass

    def _publish(self, row: Any) -> None:
        exchange = get_event_exchange(row.source, {})
        self.publisher.publish(
            row.payload,
            exchange=exchange,
            routing_key=row.event_type,
            declare=[] if row.source in self._declared else [exchange],
            message_id=str(row.event_id),
            type=row.event_type,
            timeout=PUBLISH_TIMEOUT_SECONDS,
            confirm_timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        self._declared.add(row.source)


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
