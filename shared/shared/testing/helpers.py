"""Small helpers for tests of every level: random data, and reading events off the real broker."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.contracts.common import GATEWAY, StaffActor
from shared.topology import RPC_EXCHANGE


def random_suffix() -> str:
    return uuid.uuid4().hex[:10]


def random_email(prefix: str = "person") -> str:
    return f"{prefix}.{random_suffix()}@example.com"


def random_name(prefix: str = "Name") -> str:
    return f"{prefix}{random_suffix()}"


def actor(principal: Any) -> StaffActor:
    """The StaffActor of an OrganizationCreated or StaffPrincipal, with the staff member's role."""
    staff = getattr(principal, "admin", None) or principal.staff_member
    org = principal.organization
    return StaffActor(organization_id=org.id, staff_member_id=staff.id, role=staff.role)


class EventCollector:
    """An exclusive queue bound to `<source>.events` that a test reads the published events from."""

    def __init__(self, amqp_uri: str, source: str, routing_keys: list[str]) -> None:
        from kombu import Connection, Exchange, Queue

        self.connection = Connection(amqp_uri, connect_timeout=10)
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        self.queue = Queue(
            f"test-collector-{random_suffix()}",
            exchange=exchange,
            bindings=[],
            exclusive=True,
            auto_delete=True,
        )
        channel = self.connection.channel()
        exchange(channel).declare()
        bound = self.queue(channel)
        bound.declare()
        for key in routing_keys:
            bound.bind_to(exchange=exchange.name, routing_key=key)
        self.channel = channel
        self.bound = bound

    def next(self, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        """The next event as (event type, payload); fails the test when none comes within timeout."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.bound.get(no_ack=True)
            if message is not None:
                return message.delivery_info["routing_key"], json.loads(message.body)
            time.sleep(0.02)
        raise AssertionError(f"no event arrived within {timeout} s")

    def until(self, predicate: Any, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        """Skip events until one satisfies predicate(event_type, payload)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event arrived within {timeout} s")
            event_type, payload = self.next(remaining)
            if predicate(event_type, payload):
                return event_type, payload

    def close(self) -> None:
        self.connection.release()


ADMIN_PASSWORD = "correct horse battery staple"


class RowLockHolder:
    """Another process that locks rows (`lock_sql`, a SELECT ... FOR UPDATE) and lets go after
    `seconds`. Being another process, it lets go even if this one's event loop is stuck."""

    def __init__(self, database_url: str, lock_sql: str, seconds: float) -> None:
        self.database_url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.lock_sql = lock_sql
        self.seconds = seconds

    def __enter__(self) -> RowLockHolder:
        import subprocess
        import sys

        script = (
            "import sys, time, psycopg\n"
            "conn = psycopg.connect(sys.argv[1])\n"
            "conn.execute(sys.argv[2])\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[3]))\n"
            "conn.rollback()\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, self.database_url, self.lock_sql, str(self.seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "locked":
            self.process.kill()
            raise AssertionError("the lock-holding process could not take its lock")
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.wait(timeout=self.seconds + 30)


def rpc_over_broker(config: dict[str, Any], caller: str = GATEWAY) -> Any:
    """call(METHOD, request) over the real broker as `caller` (its development login, on the vhost
    of `config`), with nameko's standalone proxy (one per call, since a proxy must not be shared
    between green threads). Errors come back as their classes."""
    import shared.messaging  # noqa: F401 - registers the contract errors with nameko
    from shared.broker_access import dev_uri, login_name

    config = {**config, "AMQP_URI": dev_uri(config["AMQP_URI"], caller)}

    def call(method: Any, request: Any, timeout: float = 30) -> Any:
        from kombu import Exchange, Queue
        from nameko.rpc import RPC_REPLY_QUEUE_TTL, ServiceProxy
        from nameko.standalone.rpc import ServiceRpcProxy, SingleThreadedReplyListener

        class ReplyListener(SingleThreadedReplyListener):  # type: ignore[misc]
            """nameko's, except that it binds to nameko-rpc without declaring it, as the
            caller's login may not, in a reply queue its login may have."""

            def setup(self) -> None:
                self.routing_key = str(uuid.uuid4())
                self.queue = Queue(
                    f"rpc.reply-{caller}-{self.routing_key}",
                    exchange=Exchange(RPC_EXCHANGE, type="topic", durable=True, no_declare=True),
                    routing_key=self.routing_key,
                    queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL},
                )
                self.queue_consumer.register_provider(self)

        class CallerProxy(ServiceRpcProxy):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__(method.service, config, timeout=timeout, reply_listener_cls=ReplyListener)
                self._proxy = ServiceProxy(
                    self._worker_ctx, method.service, self._reply_listener, user_id=login_name(caller)
                )

        with CallerProxy() as proxy:
            result = getattr(proxy, method.name)(payload=request.model_dump(mode="json", exclude_unset=True))
        return method.response.model_validate(result)

    return call


def owner_dispatcher(amqp_uri: str) -> Any:
    """dispatch(source, event_type, payload): publish an event as its source service does, with
    that service's development login and `user_id`, on the vhost of `amqp_uri`."""
    from nameko.standalone.events import event_dispatcher

    from shared.broker_access import dev_uri, login_name

    def dispatch(source: str, event_type: str, payload: Any) -> None:
        config = {"AMQP_URI": dev_uri(amqp_uri, source), "DECLARE_EVENT_EXCHANGES": False}
        event_dispatcher(config, user_id=login_name(source))(source, event_type, payload)

    return dispatch


def hook_caller(container: Any) -> Any:
    """call(METHOD, request): run one RPC method in a real worker of a running nameko container,
    with its contract models. Not for concurrent calls of one method (see rpc_over_broker)."""
    from nameko.testing.services import entrypoint_hook

    def call(method: Any, request: Any) -> Any:
        with entrypoint_hook(container, method.name) as hook:
            return method.response.model_validate(hook(request.model_dump(mode="json", exclude_unset=True)))

    return call
