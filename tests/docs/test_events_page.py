"""The events page's "Subscribing from outside Python" works when followed as written, on a vhost
of this test's own: its curl commands make a subscriber login; with it, its Python example makes
a queue that receives the events it names and no other; the login can do nothing else (publish an
event, call a service, read or make the platform's queues); its Node.js script is one Node accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Producer, Queue

from shared.broker_access import dev_uri, login_name
from shared.settings import CommonSettings
from shared.testing.infra import Management, check_rabbitmq, with_vhost
from shared.topology import RPC_EXCHANGE, SUBSCRIPTIONS, declare_topology

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "docs" / "events.md").read_text().split("## Subscribing from outside Python", 1)[1]
SECTION = SECTION.split("\n## ", 1)[0]
TIMEOUT_SECONDS = 30


def block(language: str) -> str:
    [code] = re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)
    return code


class Broker:
    def __init__(self, vhost: str, uri: str, management: Management) -> None:
        self.vhost, self.uri, self.management = vhost, uri, management
        self.login = f"crm{uuid.uuid4().hex[:8]}"  # logins are per broker, not per vhost

    def literally(self, code: str) -> str:
        """The page's code on this test's broker, vhost and subscriber login, nothing else changed."""
        parts = urllib.parse.urlsplit(self.uri)
        return (
            code.replace("%2F", urllib.parse.quote(self.vhost, safe=""))
            .replace("http://localhost:15672", self.management.base_url)
            .replace("admin:admin-password", f"{self.management.username}:{self.management.password}")
            .replace("localhost:5672", f"{parts.hostname}:{parts.port or 5672}")
            .replace("crm", self.login)
        )


@pytest.fixture
def broker() -> Iterator[Broker]:
    amqp_uri = CommonSettings().amqp_uri
    check_rabbitmq(amqp_uri)
    management = Management.for_broker(amqp_uri)
    name = f"portal_docs_{uuid.uuid4().hex[:12]}"
    management.create_vhost(name)
    management.create_platform_logins(name)
    broker = Broker(name, with_vhost(amqp_uri, name), management)
    try:
        declare_topology(broker.uri, (0.2,))
        yield broker
    finally:
        management.delete_vhost(name)
        management.request("DELETE", f"/api/users/{broker.login}")


@pytest.fixture
def subscriber(broker: Broker) -> str:
    """The page's curl commands, run: the subscriber's AMQP URI."""
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", broker.literally(block("sh"))],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    [uri] = re.findall(r'Connection\("([^"]+)"\)', broker.literally(block("python")))
    return uri


def publish_as_invitations(broker: Broker, event_types: list[str]) -> None:
    # With publisher confirms, each event is routed before this returns.
    with Connection(
        dev_uri(broker.uri, "invitations"),
        connect_timeout=TIMEOUT_SECONDS,
        transport_options={"confirm_publish": True},
    ) as conn:
        producer = Producer(conn.channel(), exchange=Exchange("invitations.events", "topic", no_declare=True))
        for event_type in event_types:
            producer.publish(
                json.dumps({"event_id": str(uuid.uuid4())}),
                routing_key=event_type,
                type=event_type,
                content_type="application/json",
                user_id=login_name("invitations"),
            )


def wait_for_consumer(broker: Broker, queue: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = [q for q in broker.management.queues(broker.vhost) if q["name"] == queue]
        if found and found[0].get("consumers"):
            return
        time.sleep(0.2)
    raise AssertionError(f"nobody consumes {queue} after {TIMEOUT_SECONDS} s")


def test_the_python_example_with_the_pages_login_gets_the_events_it_names(
    broker, subscriber, tmp_path
) -> None:
    script = tmp_path / "subscriber.py"
    script.write_text(broker.literally(block("python")))
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_consumer(broker, f"{broker.login}.portal-access")
        publish_as_invitations(
            broker, ["access_granted", "invitation_sent", "access_revoked", "invitation_expired"]
        )
        assert process.stdout is not None
        received = [process.stdout.readline().split()[0] for _ in range(2)]
    finally:
        process.kill()
        _, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    assert sorted(received) == ["access_granted", "access_revoked"], stderr


def refused(action) -> bool:  # type: ignore[no-untyped-def]
    try:
        action()
    except AccessRefused:
        return True
    return False


def test_the_subscriber_login_can_do_nothing_but_read_queues_of_its_own(broker, subscriber) -> None:
    platform_queue = SUBSCRIPTIONS[0].queue

    def publish(exchange: str, routing_key: str) -> None:
        # With publisher confirms, a refusal is raised here rather than arriving later.
        with Connection(
            subscriber, connect_timeout=TIMEOUT_SECONDS, transport_options={"confirm_publish": True}
        ) as conn:
            Producer(conn.channel()).publish(
                "{}", exchange=exchange, routing_key=routing_key, user_id=broker.login
            )

    def on_channel(action) -> None:  # type: ignore[no-untyped-def]
        with Connection(subscriber, connect_timeout=TIMEOUT_SECONDS) as conn:
            action(conn.channel())

    assert refused(lambda: publish("invitations.events", "access_granted")), "it published an event"
    assert refused(lambda: publish(RPC_EXCHANGE, "contacts.list_contacts")), "it made an RPC call"
    assert refused(lambda: publish("", platform_queue)), "it wrote into a platform queue"
    assert refused(lambda: on_channel(lambda ch: ch.basic_get(platform_queue))), "it read a platform queue"
    assert refused(lambda: on_channel(lambda ch: ch.queue_declare("evt-mine", auto_delete=True)))
    assert refused(lambda: on_channel(lambda ch: ch.exchange_delete("invitations.events")))
    # What the page says it may do, it may.
    on_channel(lambda ch: Queue(f"{broker.login}.other", auto_delete=True)(ch).declare())


# Stands in for amqplib (not installed here): records what the script asks of it.
AMQPLIB_STAND_IN = """
const calls = [];
const channel = {
  assertQueue: async (queue) => { calls.push(["assertQueue", queue]); return { queue }; },
  bindQueue: async (...args) => calls.push(["bindQueue", ...args]),
  consume: async (queue, onMessage) => {
    calls.push(["consume", queue]);
    onMessage({ content: Buffer.from('{"event_id": "e-1"}'), properties: { type: "access_granted" } });
  },
  ack: () => calls.push(["ack"]),
};
module.exports = {
  connect: async (url) => { calls.push(["connect", url]); return { createChannel: async () => channel }; },
};
process.on("exit", () => require("fs").writeFileSync(process.env.CALLS_FILE, JSON.stringify(calls)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_nodejs_example_runs_as_written_and_binds_the_events_it_names(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "amqplib").mkdir(parents=True)
    (tmp_path / "node_modules" / "amqplib" / "index.js").write_text(AMQPLIB_STAND_IN)
    (tmp_path / "subscriber.js").write_text(block("js"))
    calls_file = tmp_path / "calls.json"
    result = subprocess.run(
        ["node", "subscriber.js"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CALLS_FILE": str(calls_file)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    calls = json.loads(calls_file.read_text())
    assert calls[0] == ["connect", "amqp://crm:crm-password@localhost:5672/%2F"]
    # It binds the events it names to a queue its login may have, and declares no exchange.
    assert ["bindQueue", "crm.portal-access", "invitations.events", "access_granted"] in calls
    assert ["bindQueue", "crm.portal-access", "invitations.events", "access_revoked"] in calls
    assert calls[-1] == ["ack"]
