"""Contenders of the RPC and HTTP benchmarks, each run as its own process by `bench.common.workers.Worker`:

    python -m bench.rpc_worker rpc-client          shared.rpc_client.RpcClient, as the gateway uses it
    python -m bench.rpc_worker floor               a bare aio-pika request/reply (the floor)
    python -m bench.rpc_worker standalone-threads  nameko's ServiceRpcProxy, one per OS thread
    python -m bench.rpc_worker standalone-green    nameko's ServiceRpcProxy, one per green thread
    python -m bench.rpc_worker http                bench.loadgen against an HTTP route

AMQP_URI names the broker (and vhost). Commands (one JSON line each, see `bench.worker`):

    {"op": "run", "calls": N, "concurrency": C, "service": "...", "method": "...", "kwargs": {...}}
    {"op": "run", "calls": N, "concurrency": C, "host": "...", "port": P, "path": "...",
     "headers": {...}, "expect": 200}                                          (http)

`kwargs_by_user` (rpc-client) and `headers_by_user` (http), lists, give user k the entry k modulo
their length instead: several tenants' sessions, say.

Every call has a timeout (RPC_TIMEOUT_SECONDS, 10 s by default), as in the platform.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from bench.worker import Answer, Command, closed_loop_async, serve, serve_async

AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
TIMEOUT = float(os.environ.get("RPC_TIMEOUT_SECONDS", "10"))


def rpc_client() -> None:
    from shared.rpc_client import RpcClient

    client = RpcClient(AMQP_URI, timeout=TIMEOUT, name="bench-rpc-client")

    async def handle(command: Command) -> Answer:
        service, method = command["service"], command["method"]
        kwargs = command.get("kwargs_by_user") or [command["kwargs"]]

        async def call(user: int) -> Any:
            return await client.call_raw(service, method, kwargs[user % len(kwargs)], timeout=TIMEOUT)

        return await closed_loop_async(call, command["calls"], command["concurrency"])

    serve_async(handle, client.start)


def floor() -> None:
    """The least an asyncio client can do: publish to nameko-rpc with a reply_to and a
    correlation id, and match the reply. No confirms, no mandatory flag, no timeout handling."""
    import asyncio
    import json
    from uuid import uuid4

    import aio_pika
    from aio_pika.abc import AbstractIncomingMessage

    state: dict[str, Any] = {}
    pending: dict[str, asyncio.Future[bytes]] = {}

    async def setup() -> None:
        connection = await aio_pika.connect(AMQP_URI)
        channel = await connection.channel(publisher_confirms=False)
        exchange = await channel.declare_exchange("nameko-rpc", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key=queue.name)

        async def on_reply(message: AbstractIncomingMessage) -> None:
            pending.pop(message.correlation_id or "").set_result(message.body)

        await queue.consume(on_reply, no_ack=True)
        state.update(connection=connection, exchange=exchange, reply_to=queue.name)

    async def handle(command: Command) -> Answer:
        body = json.dumps({"args": [], "kwargs": command["kwargs"]}).encode()
        routing_key = f"{command['service']}.{command['method']}"

        async def call(_: int) -> Any:
            correlation_id = uuid4().hex
            future = pending[correlation_id] = asyncio.get_running_loop().create_future()
            message = aio_pika.Message(
                body,
                content_type="application/json",  # nameko answers in the caller's content type
                correlation_id=correlation_id,
                reply_to=state["reply_to"],
            )
            await state["exchange"].publish(message, routing_key=routing_key)
            return json.loads(await future)["result"]

        return await closed_loop_async(call, command["calls"], command["concurrency"])

    serve_async(handle, setup)


def standalone(green: bool) -> None:
    """nameko's blocking proxy: one per user (it must not be shared), each user in its own green
    thread (eventlet, as nameko means it to run) or OS thread."""
    if green:
        from shared.green import patch

        patch()
    else:
        import warnings

        # nameko imports eventlet, which warns that it is deprecated: only that warning is hidden.
        warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    import queue
    import threading

    from nameko.standalone.rpc import ServiceRpcProxy

    users: list[Any] = []

    class User:
        """A thread (green or not) that owns one proxy and runs the calls it is given."""

        def __init__(self) -> None:
            self.work: queue.Queue[tuple[Command, int] | None] = queue.Queue()
            self.done: queue.Queue[tuple[list[float], list[str]]] = queue.Queue()
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()

        def _loop(self) -> None:
            proxies: dict[str, Any] = {}
            while (item := self.work.get()) is not None:
                command, share = item
                service = command["service"]
                if service not in proxies:
                    proxy = ServiceRpcProxy(service, {"AMQP_URI": AMQP_URI}, timeout=TIMEOUT)
                    proxies[service] = (proxy, proxy.start())
                method = getattr(proxies[service][1], command["method"])
                latencies: list[float] = []
                errors: list[str] = []
                for _ in range(share):
                    started = time.perf_counter()
                    try:
                        method(**command["kwargs"])
                    except Exception as exc:
                        errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    latencies.append(time.perf_counter() - started)
                self.done.put((latencies, errors))
            for proxy, _ in proxies.values():
                proxy.stop()

    def handle(command: Command) -> Answer:
        calls, concurrency = command["calls"], command["concurrency"]
        while len(users) < concurrency:
            users.append(User())
        shares = [calls // concurrency + (1 if n < calls % concurrency else 0) for n in range(concurrency)]
        started, cpu = time.perf_counter(), time.process_time()
        for user, share in zip(users, shares, strict=False):
            user.work.put((command, share))
        results = [user.done.get() for user in users[:concurrency]]
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        errors = [e for _, errs in results for e in errs]
        return {
            "latencies": [value for lats, _ in results for value in lats],
            "elapsed": elapsed,
            "cpu": cpu,
            "errors": len(errors),
            "first_error": errors[0] if errors else None,
        }

    serve(handle)
    for user in users:
        user.work.put(None)
    for user in users:
        user.thread.join(timeout=5)


def http() -> None:
    import asyncio

    from bench.loadgen import HttpConnection

    connections: dict[tuple[str, int], list[HttpConnection]] = {}

    async def handle(command: Command) -> Answer:
        target = (command["host"], int(command["port"]))
        pool = connections.setdefault(target, [])
        while len(pool) < command["concurrency"]:
            pool.append(HttpConnection(*target))
        # Fresh connections for each block, opened before the clock starts (see connect()).
        await asyncio.gather(*(connection.connect() for connection in pool[: command["concurrency"]]))
        headers = command.get("headers_by_user") or [command.get("headers") or {}]
        expect = int(command.get("expect", 200))
        method, path = command.get("method", "GET"), command["path"]

        # The RPCs each request made, from the gateway's Server-Timing header (SERVER_TIMING=true).
        rpc_ms: list[dict[str, float]] = []

        async def call(user: int) -> Any:
            response = await pool[user].request(method, path, headers[user % len(headers)])
            if response.status != expect:
                raise RuntimeError(f"{method} {path} answered {response.status}: {response.body[:200]!r}")
            if "server-timing" in response.headers:
                rpc_ms.append(server_timing(response.headers["server-timing"]))

        answer = await closed_loop_async(call, command["calls"], command["concurrency"])
        return {**answer, "rpc_ms": rpc_ms}

    async def noop() -> None:
        return None

    serve_async(handle, noop)


def server_timing(header: str) -> dict[str, float]:
    """`rpc;desc="contacts.get_contact";dur=4.20, ...` -> {"contacts.get_contact": 4.2, ...} (the
    longest, if a request made the same call twice)."""
    calls: dict[str, float] = {}
    for metric in header.split(","):
        fields = dict(part.strip().partition("=")[::2] for part in metric.split(";")[1:])
        name, duration = fields.get("desc", "").strip('"'), float(fields.get("dur", "0"))
        calls[name] = max(duration, calls.get(name, 0.0))
    return calls


KINDS = {
    "rpc-client": rpc_client,
    "floor": floor,
    "standalone-threads": lambda: standalone(green=False),
    "standalone-green": lambda: standalone(green=True),
    "http": http,
}

if __name__ == "__main__":
    KINDS[sys.argv[1]]()
