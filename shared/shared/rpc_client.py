"""An asyncio client of nameko RPC, one per process (the gateway, the admin CLI, the benchmarks).

nameko's own standalone proxy blocks and is not safe to share between threads, so asyncio code
speaks nameko's wire protocol itself over aio-pika (docs/architecture.md, "Pitfalls of this
stack"): publish `{"args", "kwargs"}` JSON
to the `nameko-rpc` topic exchange with routing key `<service>.<method>`, `mandatory` and publisher
confirms (no bound queue means no such service: an immediate error, not a hang), `reply_to` a
routing key bound to this client's exclusive reply queue, and a `correlation_id` to match the reply.

Each call costs CPU the gateway shares with everything else (bench/rpc.py, docs/performance.md), so
the hot path stays lean: replies are consumed on the underlying aiormq channel with one callback,
consumed again whenever the robust channel reopens after a reconnect (aio-pika's own consumer
would build an IncomingMessage and start a second task for every reply), and correlation ids are
a per-client prefix and a counter (uuid4 reads the OS's random source on every call; the reply
queue is exclusive, so ids need only be unique within this client).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from contextvars import ContextVar
from typing import Any, TypeVar
from uuid import uuid4

import aio_pika
from aio_pika.abc import AbstractRobustChannel
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, PublishError
from aiormq.abc import DeliveredMessage
from pydantic import BaseModel

from shared.broker_access import LOGIN_PREFIX, login_of
from shared.contracts.common import RpcMethod
from shared.contracts.errors import ServiceTimeout, ServiceUnavailable, from_remote
from shared.topology import RPC_EXCHANGE

log = logging.getLogger(__name__)

Resp = TypeVar("Resp", bound=BaseModel)
CONNECT_TIMEOUT_SECONDS = 10


# Set by a caller that wants to know what its calls took (the gateway's Server-Timing header):
# every call made in that context appends ("service.method", seconds), whatever its outcome.
call_timings: ContextVar[list[tuple[str, float]] | None] = ContextVar("call_timings", default=None)


class RpcClient:
    def __init__(self, amqp_uri: str, *, timeout: float, name: str) -> None:
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.name = name
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._prefix = uuid4().hex[:16]
        self.login = login_of(amqp_uri)  # the calls' `user_id`: the broker checks it, services trust it
        self._ids = itertools.count()

    async def start(self) -> None:
        try:
            self._connection = await aio_pika.connect_robust(
                self.amqp_uri,
                timeout=CONNECT_TIMEOUT_SECONDS,
                reconnect_interval=2,
                client_properties={"connection_name": self.name},
            )
        except CONNECTION_EXCEPTIONS as exc:
            raise ServiceUnavailable(f"cannot reach the message broker: {type(exc).__name__}") from None
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        # nameko-rpc is declared at deploy; this login may publish to it, not declare it.
        self._exchange = await channel.get_exchange(RPC_EXCHANGE, ensure=False)
        component = self.login.removeprefix(LOGIN_PREFIX)
        self._reply_to = f"{component}-{self.name}-{self._prefix}"
        self._reply_queue = await channel.declare_queue(
            f"rpc.reply-{self._reply_to}", exclusive=True, auto_delete=True
        )
        await self._reply_queue.bind(self._exchange, routing_key=self._reply_to)
        # After a reconnect the robust channel declares and binds the queue again, then calls this.
        self._channel = channel
        channel.reopen_callbacks.add(self._consume_replies)
        await self._consume_replies()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def call(
        self, method: RpcMethod[Any, Resp], request: BaseModel, timeout: float | None = None
    ) -> Resp:
        result = await self.call_raw(
            method.service,
            method.name,
            {"payload": request.model_dump(mode="json", exclude_unset=True)},
            timeout,
        )
        return method.response.model_validate(result)

    async def call_raw(
        self, service: str, method: str, kwargs: dict[str, Any], timeout: float | None = None
    ) -> Any:
        if self._connection is None:
            raise ServiceUnavailable("the RPC client is not started")
        timeout = self.timeout if timeout is None else timeout
        started = time.perf_counter()
        correlation_id = f"{self._prefix}.{next(self._ids)}"
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            async with asyncio.timeout(timeout):
                try:
                    await self._exchange.publish(
                        aio_pika.Message(
                            json.dumps({"args": [], "kwargs": kwargs}).encode(),
                            content_type="application/json",
                            correlation_id=correlation_id,
                            reply_to=self._reply_to,
                            user_id=self.login,
                            # Nobody waits for an answer after the timeout: a request still queued
                            # then (a service down or busy) is dropped, not run late.
                            expiration=timeout,
                        ),
                        routing_key=f"{service}.{method}",
                        mandatory=True,
                    )
                except PublishError:
                    raise ServiceUnavailable(f"the {service} service is not running") from None
                except CONNECTION_EXCEPTIONS as exc:
                    raise ServiceUnavailable(
                        f"the message broker is unreachable ({type(exc).__name__})"
                    ) from None
                body = await future
        except TimeoutError:
            raise ServiceTimeout(f"{service}.{method} did not answer within {timeout:g} s") from None
        finally:
            self._pending.pop(correlation_id, None)
            timings = call_timings.get()
            if timings is not None:
                timings.append((f"{service}.{method}", time.perf_counter() - started))
        reply = json.loads(body)
        error = reply.get("error")
        if error:
            raise from_remote(error.get("exc_type"), error.get("exc_args"), error.get("value"))
        return reply.get("result")

    async def _consume_replies(self, _: AbstractRobustChannel | None = None, /) -> None:
        underlay = await self._channel.get_underlay_channel()
        await underlay.basic_consume(self._reply_queue.name, self._on_reply, no_ack=True, exclusive=True)

    async def _on_reply(self, message: DeliveredMessage) -> None:
        future = self._pending.get(message.header.properties.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)
