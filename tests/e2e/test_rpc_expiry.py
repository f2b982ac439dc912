"""A request the caller stopped waiting for is dropped by the broker, not run late by a service
that comes back (docs/reliability.md, problem 7)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from shared.contracts.errors import ServiceTimeout
from shared.rpc_client import RpcClient
from shared.topology import RPC_EXCHANGE


def test_a_request_nobody_waits_for_any_more_leaves_the_queue(platform):
    # A service that is deployed (its queue is bound) but not consuming: down, or busy.
    service = f"stalled_{uuid.uuid4().hex[:8]}"
    queue = Queue(
        f"rpc-{service}",
        Exchange(RPC_EXCHANGE, type="topic", durable=True),
        routing_key=f"{service}.*",
        durable=False,
        auto_delete=False,
    )
    with Connection(platform.config.amqp_uri, connect_timeout=10) as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        try:

            async def call() -> None:
                client = RpcClient(platform.config.uri_of("gateway"), timeout=1.0, name="expiry-test")
                await client.start()
                try:
                    await client.call_raw(service, "do_something", {"payload": {}})
                finally:
                    await client.close()

            with pytest.raises(ServiceTimeout):
                asyncio.run(call())
            # Queued while the caller waited; gone once it gave up, with nobody having taken it.
            deadline = time.monotonic() + 15
            while (
                waiting := bound.queue_declare(passive=True).message_count
            ) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert waiting == 0, "the request is still queued for the service to run later"
        finally:
            bound.delete()
