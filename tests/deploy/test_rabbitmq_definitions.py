"""deploy/rabbitmq/definitions.json: generated from the code, equal to what the services declare.

The last test imports the definitions into a vhost of the real broker (AMQP_URI, with its
management API) and checks them against RabbitMQ itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.broker_access import definitions
from shared.settings import CommonSettings, ServiceSettings
from shared.topology import (
    RPC_EXCHANGE,
    SERVICES,
    SUBSCRIPTIONS,
    declare_topology,
    definitions_json,
    event_exchange_name,
    rabbitmq_definitions,
)

REGENERATE = "python -m shared.broker_access --definitions > deploy/rabbitmq/definitions.json"


@pytest.fixture
def default_retry_delays(monkeypatch: pytest.MonkeyPatch) -> tuple[float, ...]:
    monkeypatch.delenv("EVENT_RETRY_DELAYS", raising=False)
    return ServiceSettings().event_retry_delays


@pytest.fixture
def committed(repo: Path) -> str:
    return (repo / "deploy" / "rabbitmq" / "definitions.json").read_text()


def test_the_committed_file_is_what_the_code_generates(committed: str, default_retry_delays) -> None:
    generated = definitions_json(definitions(default_retry_delays))
    assert committed == generated, f"deploy/rabbitmq/definitions.json is out of date; run: {REGENERATE}"


def test_the_command_prints_the_committed_file(repo: Path, committed: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"EVENT_RETRY_DELAYS", "ENVIRONMENT"}}
    result = subprocess.run(
        [sys.executable, "-m", "shared.broker_access", "--definitions"],
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == committed


def test_the_vhost_is_named_in_every_object(default_retry_delays) -> None:
    document = definitions(default_retry_delays, vhost="portal")
    for kind in ("exchanges", "queues", "bindings", "policies", "permissions"):
        assert document[kind]
        assert {item["vhost"] for item in document[kind]} == {"portal"}, kind


def test_every_subscription_has_quorum_queues_bound_to_its_exchange(
    committed: str, default_retry_delays
) -> None:
    document = json.loads(committed)
    queues = {q["name"]: q for q in document["queues"]}
    exchanges = {e["name"]: e for e in document["exchanges"]}
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in document["bindings"]}
    assert len(queues) == len(document["queues"]), "a queue is listed twice"

    assert set(exchanges) == {RPC_EXCHANGE, *(event_exchange_name(s) for s in SERVICES)}
    for exchange in exchanges.values():
        assert exchange["type"] == "topic" and exchange["durable"] and not exchange["auto_delete"]

    expected_names: set[str] = set()
    for sub in SUBSCRIPTIONS:
        retry_names = [sub.retry_queue(delay) for delay in default_retry_delays]
        for name in (sub.queue, sub.dead_letter_queue, *retry_names):
            expected_names.add(name)
            assert name in queues, f"{name} is missing"
            queue = queues[name]
            assert queue["arguments"]["x-queue-type"] == "quorum", name
            assert queue["durable"] and not queue["auto_delete"], name
        for delay, name in zip(default_retry_delays, retry_names, strict=True):
            assert queues[name]["arguments"] == {
                "x-queue-type": "quorum",
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": sub.queue,
            }
        assert queues[sub.queue]["arguments"] == {"x-queue-type": "quorum"}
        assert queues[sub.dead_letter_queue]["arguments"] == {"x-queue-type": "quorum"}
        assert (event_exchange_name(sub.source), sub.queue, sub.event_type) in bindings
    assert set(queues) == expected_names
    # Only the main queues are bound; the others are reached through the default exchange.
    assert len(bindings) == len(SUBSCRIPTIONS)


def test_a_delivery_limit_policy_covers_each_main_queue_and_nothing_else(committed: str) -> None:
    document = json.loads(committed)
    queue_names = [q["name"] for q in document["queues"]]
    policies = document["policies"]
    assert len(policies) == len(SUBSCRIPTIONS)
    for sub in SUBSCRIPTIONS:
        [policy] = [p for p in policies if re.search(p["pattern"], sub.queue)]
        assert policy["apply-to"] == "queues"
        assert policy["definition"] == {
            "delivery-limit": 10,
            "dead-letter-exchange": "",
            "dead-letter-routing-key": sub.dead_letter_queue,
        }
        assert [name for name in queue_names if re.search(policy["pattern"], name)] == [sub.queue]


class _RecordingChannel:
    """Stands in for a kombu channel: keeps what `declare_topology` declares."""

    def __init__(self) -> None:
        self.exchanges: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.bindings: set[tuple[str, str, str]] = set()

    def exchange_declare(self, exchange, type, durable, auto_delete, arguments=None, **_: Any):
        self.exchanges[exchange] = {
            "type": type,
            "durable": durable,
            "auto_delete": auto_delete,
            "arguments": arguments or {},
        }

    def prepare_queue_arguments(self, arguments, **kwargs: Any) -> dict[str, Any]:
        # What kombu's AMQP transports do with a queue's arguments before declaring it.
        from kombu.transport.base import to_rabbitmq_queue_arguments

        return to_rabbitmq_queue_arguments(arguments, **kwargs)

    def queue_declare(self, queue, durable, exclusive, auto_delete, arguments=None, **_: Any):
        assert not exclusive
        self.queues[queue] = {"durable": durable, "auto_delete": auto_delete, "arguments": arguments or {}}
        return (queue, 0, 0)

    def queue_bind(self, queue, exchange, routing_key="", arguments=None, **_: Any):
        assert not arguments
        self.bindings.add((exchange, queue, routing_key))


def test_the_definitions_are_exactly_what_declare_topology_declares(
    monkeypatch: pytest.MonkeyPatch, default_retry_delays
) -> None:
    import kombu

    channel = _RecordingChannel()

    class FakeConnection:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> FakeConnection:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def channel(self) -> _RecordingChannel:
            return channel

    monkeypatch.setattr(kombu, "Connection", FakeConnection)
    declared = declare_topology("amqp://unused", default_retry_delays, quorum=True)
    document = rabbitmq_definitions(default_retry_delays)

    assert channel.exchanges == {
        e["name"]: {k: e[k] for k in ("type", "durable", "auto_delete", "arguments")}
        for e in document["exchanges"]
    }
    assert channel.queues == {
        q["name"]: {k: q[k] for k in ("durable", "auto_delete", "arguments")} for q in document["queues"]
    }
    assert channel.bindings == {
        (b["source"], b["destination"], b["routing_key"]) for b in document["bindings"]
    }
    assert sorted(declared) == sorted(channel.queues)


# --- against the real broker --------------------------------------------------------------------


def _amqp_uri() -> str:
    return os.environ.get("AMQP_URI", CommonSettings.model_fields["amqp_uri"].default)


def _get(queue: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = queue.get(no_ack=False)
        if message is not None:
            return message
        time.sleep(0.05)
    raise AssertionError(f"nothing arrived in {queue.name} within {timeout:g} s")


def test_rabbitmq_takes_the_definitions_and_the_services_declarations_match_them() -> None:
    """Imported into a fresh vhost: the services' own declarations (quorum) are accepted as
    equivalent and add nothing, events reach the main queue, a delay queue sends its message back
    to the main queue, and the policy parks a message redelivered past the limit."""
    from kombu import Connection, Queue

    from shared.testing.infra import Management, check_rabbitmq, with_vhost

    amqp_uri = _amqp_uri()
    check_rabbitmq(amqp_uri)
    management = Management.for_broker(amqp_uri)
    vhost = f"deploy-test-{uuid.uuid4().hex[:10]}"
    delays = (0.2,)
    sub = SUBSCRIPTIONS[0]
    management.create_vhost(vhost)
    try:
        management.create_platform_logins(vhost)  # RabbitMQ takes permissions only for existing logins
        document = definitions(delays, vhost, delivery_limit=2)
        management.request("POST", "/api/definitions", document)
        imported = {q["name"] for q in management.queues(vhost)}
        assert imported == {q["name"] for q in document["queues"]}

        vhost_uri = with_vhost(amqp_uri, vhost)
        # Raises PRECONDITION_FAILED if any argument differed from what was imported.
        declare_topology(vhost_uri, delays, quorum=True)
        assert {q["name"] for q in management.queues(vhost)} == imported

        with Connection(vhost_uri, connect_timeout=10) as conn:
            channel = conn.channel()
            producer = conn.Producer(channel)
            main = Queue(sub.queue, no_declare=True)(channel)
            dead = Queue(sub.dead_letter_queue, no_declare=True)(channel)

            producer.publish(
                {"n": 1},
                exchange=event_exchange_name(sub.source),
                routing_key=sub.event_type,
                serializer="json",
            )
            message = _get(main)
            assert message.payload == {"n": 1}
            message.ack()

            producer.publish({"n": 2}, exchange="", routing_key=sub.retry_queue(delays[0]), serializer="json")
            message = _get(main)
            assert message.payload == {"n": 2}
            message.ack()

            # The policy (limit 2 here): the third redelivery does not happen; the message is parked.
            producer.publish(
                {"n": 3},
                exchange=event_exchange_name(sub.source),
                routing_key=sub.event_type,
                serializer="json",
            )
            deliveries = 0
            deadline = time.monotonic() + 15
            parked = None
            while parked is None and time.monotonic() < deadline:
                message = main.get(no_ack=False)
                if message is not None:
                    deliveries += 1
                    message.requeue()
                    continue
                parked = dead.get(no_ack=True)
                time.sleep(0.05)
            assert parked is not None, f"not dead-lettered after {deliveries} deliveries"
            assert parked.payload == {"n": 3}
            # RabbitMQ 3.x counts the first delivery too; either way the limit stopped the loop.
            assert 2 <= deliveries <= 3
            assert parked.headers["x-death"][0]["reason"] == "delivery_limit"
    finally:
        management.delete_vhost(vhost)
