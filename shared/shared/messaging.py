"""nameko entrypoints and dependencies that keep messages safe.

- `rpc`: nameko's RPC entrypoint, except that a service that has lost its database answers
  ServiceUnavailable (not an internal error), a broker that vanishes while a call is being
  answered costs that answer (the caller times out), never the service (nameko's own entrypoint
  lets the publish or ack error kill the container), and a contract error the method declares
  expected is logged as one line, not a traceback (`shared.logs.OneLineContractErrors`).
- `event_handler`: nameko's SERVICE_POOL event handler, except that a failure is never acked away:
  the event goes to a delay queue and comes back (`event_retry_delays`), then to the dead-letter
  queue. An event that cannot even be parsed goes to the dead-letter queue at once.
- `batch_event_handler`: the same, for a handler of many events of one type at a time: it is
  called with a list of payloads (everything that arrived while the previous batch ran, up to
  `event_batch_size`), so a burst costs one transaction per batch rather than one per event.
  A batch that fails is handled again one event at a time, so only the event at fault is retried
  or parked.
- `ServiceRpc`: calls another service's RPC method with a timeout; the callee's contract errors
  come back as the same classes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import eventlet
import psycopg
import sqlalchemy.exc
from amqp.exceptions import AMQPError
from eventlet.event import Event
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled, UnknownService, registry
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import MethodProxy, ReplyListener, RpcConsumer
from nameko.rpc import Rpc as NamekoRpc
from nameko.timer import Timer
from pydantic import BaseModel, ValidationError

from shared.broker_access import PUBLISHER_HEADER, callers_of, login_of, may_publish_events_of
from shared.contracts.common import RpcMethod
from shared.contracts.errors import (
    ERRORS_BY_NAME,
    InvalidInput,
    PermissionDenied,
    ServiceTimeout,
    ServiceUnavailable,
)
from shared.logs import log_contract_errors_in_one_line
from shared.topology import ATTEMPT_HEADER, Subscription, queue_arguments, retry_queue

log = logging.getLogger(__name__)

# The services raise and re-raise each other's contract errors as themselves, not RemoteError.
for _cls in ERRORS_BY_NAME.values():
    registry[f"{_cls.__module__}.{_cls.__name__}"] = _cls

PUBLISH_TIMEOUT_SECONDS = 10
Resp = TypeVar("Resp", bound=BaseModel)

# What a vanished or restarting broker raises while we publish or ack.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, AMQPError, OSError)
# What a vanished or overloaded database raises: the service cannot work, the request was fine.
DATABASE_OUTAGES: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
)


def as_contract_error(service: str, exc_info: Any) -> Any:
    """A database outage becomes ServiceUnavailable; anything else stays as it is."""
    if exc_info is not None and isinstance(exc_info[1], DATABASE_OUTAGES):
        log.warning("%s cannot reach its database: %s", service, type(exc_info[1]).__name__)
        exc = ServiceUnavailable(f"the {service} service cannot reach its database; try again shortly")
        return (type(exc), exc, exc_info[2])
    return exc_info


def error_summary(exc: BaseException) -> str:
    """One line for a person: the error's class and its first line, without the SQL and bound
    parameters (a recipient's email, say) that SQLAlchemy appends."""
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:500]


class SafeRpcConsumer(RpcConsumer):
    def setup(self) -> None:
        super().setup()
        # Bind to nameko-rpc without declaring it: the login may not configure (or delete) it.
        self.queue.exchange.no_declare = True

    def handle_message(self, body: Any, message: Any) -> None:
        """Serve a call only from a login its contract names (`RpcMethod.callers`): RabbitMQ has
        checked that `user_id` is the login that published it."""
        routing_key = message.delivery_info["routing_key"]
        caller = message.properties.get("user_id")
        if caller not in callers_of(routing_key):
            log.warning("refused an RPC call of %s from broker login %r", routing_key, caller)
            exc = PermissionDenied(f"{routing_key} may not be called by this broker login")
            self.handle_result(message, None, (type(exc), exc, None))
            return
        super().handle_message(body, message)

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> Any:
        exc_info = as_contract_error(self.container.service_name, exc_info)
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_ERRORS as exc:
            # Unacked, the request goes back to the queue when the connection is gone; the caller
            # has its own timeout. The service lives on and reconnects.
            log.warning(
                "could not answer an RPC call, the broker connection is gone (%s)", type(exc).__name__
            )
            return result, exc_info


class Rpc(NamekoRpc):
    rpc_consumer = SafeRpcConsumer()

    def setup(self) -> None:
        super().setup()
        log_contract_errors_in_one_line()


rpc = Rpc.decorator


class ReliableEventHandler(EventHandler):
    """`@event_handler(subscription)`: handles the events of one `shared.topology` subscription."""

    def __init__(self, subscription: Subscription, **kwargs: Any) -> None:
        super().__init__(subscription.source, subscription.event_type, **kwargs)
        self.subscription = subscription

    def setup(self) -> None:
        where = (self.container.service_name, self.method_name)
        if where != (self.subscription.service, self.subscription.method):
            raise ValueError(
                f"the subscription to {self.subscription.event_type} is declared for "
                f"{self.subscription.service}.{self.subscription.method}, not {'.'.join(where)}"
            )
        super().setup()
        settings = self.container.config["SETTINGS"]
        self.quorum = settings.quorum_queues
        self.queue.queue_arguments = queue_arguments(self.quorum)
        # Bind to the source's exchange without declaring it: this login may not configure it.
        self.queue.exchange.no_declare = True
        self.retry_delays = tuple(settings.event_retry_delays)
        self.login = login_of(settings.amqp_uri)
        self.publishers = may_publish_events_of(self.subscription.source)
        self.publisher = Publisher(settings.amqp_uri, use_confirms=True, user_id=self.login)

    def handle_message(self, body: Any, message: Any) -> None:
        if self.accepted(message):
            super().handle_message(body, message)

    def publisher_of(self, message: Any) -> str | None:
        """The login that published the event, as the broker vouches for it: `user_id`, or for an
        event back from this service's own retry queue (which only this login can publish to with
        its own `user_id`), the publisher it recorded when it sent the event there."""
        user_id = message.properties.get("user_id")
        if user_id == self.login:
            return (message.headers or {}).get(PUBLISHER_HEADER)
        return user_id

    def accepted(self, message: Any) -> bool:
        """True for an event from the owner of its exchange; anything else is parked, with a log
        line naming who published it, and never handled."""
        publisher = self.publisher_of(message)
        if publisher in self.publishers:
            return True
        who = f"broker login {publisher!r}" if publisher else "a broker login that gave no user_id"
        log.error(
            "event %s published by %s, not by %s; parked in %s",
            self.subscription.queue,
            who,
            " or ".join(sorted(self.publishers)),
            self.subscription.dead_letter_queue,
        )
        try:
            self._park(message, f"published by {who}, not by the owner of its exchange", publisher)
            self.queue_consumer.ack_message(message)
        except Exception as exc:  # the broker connection went: the event comes back and is judged again
            log.warning("could not park event %s (%s)", self.subscription.queue, type(exc).__name__)
        return False

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        try:
            if exc_info is not None:
                try:
                    self._retry_later_or_park(message, exc_info[1])
                except Exception:
                    log.exception(
                        "could not move failed event %s aside; requeueing it", self.subscription.queue
                    )
                    self.queue_consumer.requeue_message(message)
                    return
            self.queue_consumer.ack_message(message)
        except BROKER_ERRORS as exc:
            # The broker took the message back with the connection: it comes again, and the
            # inbox makes the second handling a no-op. The service lives on and reconnects.
            log.warning(
                "could not settle event %s, the broker connection is gone (%s)",
                self.subscription.queue,
                type(exc).__name__,
            )

    def _retry_later_or_park(self, message: Any, exc: BaseException) -> None:
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        permanent = isinstance(exc, (ValidationError, InvalidInput))
        if permanent or attempt > len(self.retry_delays):
            log.error(
                "event %s failed %d times (%s); parked in %s",
                self.subscription.queue,
                attempt,
                type(exc).__name__,
                self.subscription.dead_letter_queue,
            )
            self._park(message, error_summary(exc), self.publisher_of(message))
            return
        log.warning(
            "event %s failed (attempt %d, %s); retrying in %ss",
            self.subscription.queue,
            attempt,
            type(exc).__name__,
            self.retry_delays[attempt - 1],
        )
        target = retry_queue(self.subscription, self.retry_delays[attempt - 1], self.quorum)
        self._send_aside(message, target, {}, self.publisher_of(message))

    def _park(self, message: Any, error: str, publisher: str | None) -> None:
        """Move `message` to the subscription's dead-letter queue, saying why."""
        from kombu import Queue

        target = Queue(
            self.subscription.dead_letter_queue, durable=True, queue_arguments=queue_arguments(self.quorum)
        )
        why = {
            "x-portal-error": error,
            "x-portal-failed-at": datetime.now(UTC).isoformat(),
            "x-portal-queue": self.subscription.queue,
        }
        self._send_aside(message, target, why, publisher)

    def _send_aside(self, message: Any, target: Any, extra: dict[str, Any], publisher: str | None) -> None:
        """Publish `message` to one of this subscription's own queues, with the publisher the broker
        vouched for kept in a header (`publisher_of` reads it when the event comes back)."""
        headers = dict(message.headers or {})
        headers.update(extra)
        headers[ATTEMPT_HEADER] = int(headers.get(ATTEMPT_HEADER, 1)) + 1
        headers[PUBLISHER_HEADER] = publisher or ""
        self.publisher.publish(
            message.body,
            exchange="",
            routing_key=target.name,
            declare=[target],
            headers=headers,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            message_id=message.properties.get("message_id"),
            type=message.properties.get("type"),
            timeout=PUBLISH_TIMEOUT_SECONDS,
            confirm_timeout=PUBLISH_TIMEOUT_SECONDS,
        )


event_handler = ReliableEventHandler.decorator


class BatchQueueConsumer(QueueConsumer):
    """The batch handlers' own consumer (connection and channel), whose prefetch leaves room
    for a batch running and the next one gathering."""

    @property
    def prefetch_count(self) -> int:
        return 2 * int(self.container.config["SETTINGS"].event_batch_size)


class BatchEventHandler(ReliableEventHandler):
    """Calls its method with a list of payloads: at most one batch runs at a time, and what
    arrives meanwhile is the next batch. At low load a batch is one event and waits for nothing."""

    queue_consumer = BatchQueueConsumer()

    def setup(self) -> None:
        super().setup()
        self.batch_size = int(self.container.config["SETTINGS"].event_batch_size)
        self._pending: list[tuple[Any, Any]] = []
        self._running = False

    def stop(self) -> None:
        pending, self._pending = self._pending, []
        for _, message in pending:  # not started: back to the queue for the next consumer
            self.queue_consumer.requeue_message(message)
        super().stop()

    def handle_message(self, body: Any, message: Any) -> None:
        if not self.accepted(message):
            return
        self._pending.append((body, message))
        if not self._running:
            self._start_next()

    def _start_next(self) -> None:
        if self._running or not self._pending:
            return
        batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
        self._running = True
        if not self._spawn(batch, partial(self._batch_done, batch)):
            self._running = False

    def _spawn(self, batch: list[tuple[Any, Any]], handle_result: Any) -> bool:
        """Start a worker for `batch`; False (and the messages requeued) if the container is
        being killed."""
        try:
            self.container.spawn_worker(
                self,
                ([body for body, _ in batch],),
                {},
                context_data=self.unpack_message_headers(batch[0][1]),
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            for _, message in batch:
                self.queue_consumer.requeue_message(message)
            return False
        return True

    def _batch_done(
        self, batch: list[tuple[Any, Any]], worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> tuple[Any, Any]:
        if exc_info is None or len(batch) == 1:
            for _, message in batch:
                self.handle_message_processed(message, result, exc_info)
            self._running = False
            # From a thread of its own: this worker still holds its place in the pool.
            self.container.spawn_managed_thread(self._start_next)
        else:
            log.warning(
                "a batch of %d %s events failed (%s); handling them one at a time",
                len(batch),
                self.subscription.queue,
                type(exc_info[1]).__name__,
            )
            self.container.spawn_managed_thread(partial(self._one_at_a_time, batch))
        return result, exc_info

    def _one_at_a_time(self, batch: list[tuple[Any, Any]]) -> None:
        done = Event()
        left = [len(batch)]

        def settled(
            message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None
        ) -> tuple[Any, Any]:
            self.handle_message_processed(message, result, exc_info)
            left[0] -= 1
            if left[0] == 0:
                done.send()
            return result, exc_info

        for item in batch:
            if not self._spawn([item], partial(settled, item[1])):
                left[0] -= 1
        if left[0] > 0:
            done.wait()
        self._running = False
        self._start_next()


batch_event_handler = BatchEventHandler.decorator


class RpcCaller:
    def __init__(self, worker_ctx: Any, reply_listener: ReplyListener, timeout: float, login: str) -> None:
        self.worker_ctx = worker_ctx
        self.reply_listener = reply_listener
        self.timeout = timeout
        self.login = login  # the caller's `user_id`, which the broker checks and the callee trusts

    def call(self, method: RpcMethod[Any, Resp], request: BaseModel) -> Resp:
        # The request expires when this caller stops waiting: not run late by a service that was
        # down or busy (docs/reliability.md, problem 7).
        proxy = MethodProxy(
            self.worker_ctx,
            method.service,
            method.name,
            self.reply_listener,
            expiration=self.timeout,
            user_id=self.login,
        )
        try:
            reply = proxy.call_async(payload=request.model_dump(mode="json", exclude_unset=True))
        except UnknownService:
            raise ServiceUnavailable(f"the {method.service} service is not running") from None
        try:
            with eventlet.Timeout(self.timeout):
                result = reply.result()
        except eventlet.Timeout:
            self._forget(reply)
            raise ServiceTimeout(
                f"{method.service}.{method.name} did not answer within {self.timeout:g} s"
            ) from None
        return method.response.model_validate(result)

    def _forget(self, reply: Any) -> None:
        events = self.reply_listener._reply_events
        for correlation_id, event in list(events.items()):
            if event is reply.reply_event:
                events.pop(correlation_id, None)


class SafeReplyListener(ReplyListener):
    """nameko's reply listener, except when the broker connection goes while a reply is acked:
    nameko catches only amqp's ConnectionError there, so the socket's ConnectionResetError killed
    the whole service container (seen in the fault suite's broker outage). The reply is still handed
    to its caller; unacked, it is dropped with the connection. The service lives on and reconnects."""

    def setup(self) -> None:
        super().setup()
        self.queue.exchange.no_declare = True  # nameko-rpc: bound to, never declared (see SafeRpcConsumer)

    def handle_message(self, body: Any, message: Any) -> None:
        try:
            self.queue_consumer.ack_message(message)
        except BROKER_ERRORS as exc:
            log.warning("could not ack an RPC reply, the broker connection is gone (%s)", type(exc).__name__)
        reply_event = self._reply_events.pop(message.properties.get("correlation_id"), None)
        if reply_event is not None:
            reply_event.send(body)


class ServiceRpc(DependencyProvider):
    """Gives a worker `call(METHOD, request)` with the configured RPC timeout."""

    rpc_reply_listener = SafeReplyListener()

    def get_dependency(self, worker_ctx: Any) -> RpcCaller:
        settings = self.container.config["SETTINGS"]
        return RpcCaller(
            worker_ctx, self.rpc_reply_listener, settings.rpc_timeout_seconds, login_of(settings.amqp_uri)
        )


class SettingsTimer(Timer):
    """nameko's timer, with its interval read from a field of the container's settings."""

    def __init__(self, setting: str, **kwargs: Any) -> None:
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self) -> None:
        self.interval = float(getattr(self.container.config["SETTINGS"], self.setting))
        super().setup()


timer = SettingsTimer.decorator
