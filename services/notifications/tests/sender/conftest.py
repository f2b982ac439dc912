"""The sender's tests: plain threads and asyncio, never eventlet (run with `-p no:pytest_nameko`).

Deliveries are queued with the service's own handler functions on the test database, a real
sender runs in a thread with its own event loop, and the emails land in an SMTP sink.
"""

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from devtools.smtp_sink.server import SmtpSink
from notifications import handlers
from notifications.sender.app import Sender
from notifications.settings import NotificationsSettings
from shared.sealing import LinkSealer
from shared.testing.fixtures import infra  # noqa: F401 - a fixture
from shared.testing.helpers import EventCollector

_eventlet = sys.modules.get("eventlet")
if _eventlet is not None and _eventlet.patcher.is_monkey_patched("socket"):
    raise RuntimeError(
        "the sender tests need a process without eventlet: run them in a pytest run of their own "
        "(pytest -p no:pytest_nameko services/notifications/tests/unit services/notifications/tests/sender)"
    )


@pytest.fixture(scope="session")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def sink_client(sink):
    return sink.client()


def sender_settings(infra, smtp_port: int, **overrides: Any) -> NotificationsSettings:  # noqa: F811
    return NotificationsSettings(
        **{
            **infra.settings_overrides(),
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_timeout_seconds": 5,
            "claim_lease_seconds": 30,
            "retry_base_seconds": 0.05,
            "retry_cap_seconds": 0.2,
            "sender_poll_seconds": 0.05,
            **overrides,
        }
    )


@pytest.fixture
def make_settings(infra) -> Callable[..., NotificationsSettings]:  # noqa: F811
    """make_settings(smtp_port, **overrides): settings for a sender of this test run."""
    return lambda smtp_port, **overrides: sender_settings(infra, smtp_port, **overrides)


@pytest.fixture
def settings(make_settings, sink) -> NotificationsSettings:
    return make_settings(sink.smtp_port)


@pytest.fixture
def events(settings):
    collector = EventCollector(
        settings.amqp_uri, "notifications", ["delivery_queued", "delivery_succeeded", "delivery_failed"]
    )
    yield collector
    collector.close()


class RunningSender:
    """A real sender on its own event loop in a thread; stopped (cleanly) on leaving the block."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.sender = Sender(settings)
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sender", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.sender.run())
        except BaseException as exc:
            self.error = exc
        finally:
            self.loop.close()

    def __enter__(self) -> "RunningSender":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.sender.stop)
            except RuntimeError:  # the loop closed meanwhile
                pass
        self.thread.join(60)
        assert not self.thread.is_alive(), "the sender did not stop within 60 s"
        if self.error is not None:
            raise self.error


@pytest.fixture
def running_sender() -> Callable[[NotificationsSettings], RunningSender]:
    return RunningSender


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come true within {timeout} s")
        time.sleep(0.05)


class Deliveries:
    """Queue deliveries the way the service does, and read them back."""

    def __init__(self, infra, settings: NotificationsSettings) -> None:  # noqa: F811
        self.engine = infra.engine
        self.sealer = settings.link_sealer

    def queue(self, sent, sealer: LinkSealer | None = None) -> Any:
        """Queue as the service does, opening its link with `sealer` (else the settings' keys)."""
        sealer = sealer or self.sealer
        with Session(self.engine) as session:
            if sent.event.event_type == "invitation_sent":
                handlers.queue_invitations(session, sealer, [sent.event], "test")
            else:
                handlers.queue_password_reset(session, sealer, sent.event, "test")
        return self.of(sent)

    def of(self, sent) -> Any:
        subject = getattr(sent.event, "invitation_id", None) or sent.event.account_id
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT * FROM notifications.deliveries WHERE subject_id = :id"), {"id": subject}
            ).one()

    def get(self, delivery_id) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT * FROM notifications.deliveries WHERE id = :id"), {"id": delivery_id}
            ).one()

    def wait_for(
        self, delivery_id, predicate: Callable[[Any], bool], what: str, timeout: float = 30.0
    ) -> Any:
        """The delivery's row once predicate(row) holds."""
        return wait_until(
            lambda: predicate(row := self.get(delivery_id)) and row, timeout, f"delivery {delivery_id} {what}"
        )

    def wait_status(self, delivery_id, status: str, timeout: float = 30.0) -> Any:
        return self.wait_for(delivery_id, lambda row: row.status == status, f"becoming {status}", timeout)

    def execute(self, sql: str, **params: Any) -> Any:
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params)


@pytest.fixture
def deliveries(infra, settings) -> Deliveries:  # noqa: F811
    return Deliveries(infra, settings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Any]:
    return wait_until
