"""The events page's "Subscribing from outside Python" works when followed as written: its curl
commands, run against a vhost of this test's own, make a queue that receives the events they name
and no other; its Node.js script is a script Node accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer

from shared.settings import CommonSettings
from shared.testing.infra import Management, check_rabbitmq, with_vhost
from shared.topology import declare_topology

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "docs" / "events.md").read_text().split("## Subscribing from outside Python", 1)[1]
SECTION = SECTION.split("\n## ", 1)[0]
TIMEOUT_SECONDS = 30


def block(language: str) -> str:
    [code] = re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)
    return code


@pytest.fixture
def vhost() -> Iterator[tuple[str, str, Management]]:
    amqp_uri = CommonSettings().amqp_uri
    check_rabbitmq(amqp_uri)
    management = Management.for_broker(amqp_uri)
    name = f"portal_docs_{uuid.uuid4().hex[:12]}"
    management.create_vhost(name)
    try:
        uri = with_vhost(amqp_uri, name)
        declare_topology(uri, (0.2,))
        yield name, uri, management
    finally:
        management.delete_vhost(name)


def test_the_curl_commands_bind_a_queue_that_gets_the_events_they_name(vhost) -> None:
    name, uri, management = vhost
    script = (
        block("sh")
        .replace("%2F", urllib.parse.quote(name, safe=""))
        .replace("http://localhost:15672", management.base_url)
        .replace("guest:guest", f"{management.username}:{management.password}")
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    assert result.returncode == 0, result.stderr

    # With publisher confirms, each event is routed before the queue is read.
    with Connection(
        uri, connect_timeout=TIMEOUT_SECONDS, transport_options={"confirm_publish": True}
    ) as conn:
        producer = Producer(conn.channel(), exchange=Exchange("invitations.events", "topic", durable=True))
        for event_type in ("access_granted", "invitation_sent", "access_revoked", "invitation_expired"):
            producer.publish(
                json.dumps({"event_id": str(uuid.uuid4())}), routing_key=event_type, type=event_type
            )
        channel = conn.channel()
        received = []
        while (message := channel.basic_get("crm.portal-access", no_ack=True)) is not None:
            received.append(message.properties["type"])
    assert sorted(received) == ["access_granted", "access_revoked"]


# Stands in for amqplib (not installed here): records what the script asks of it.
AMQPLIB_STAND_IN = """
const calls = [];
const channel = {
  assertExchange: async (...args) => calls.push(["assertExchange", ...args.slice(0, 2)]),
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
    assert calls[0] == ["connect", "amqp://guest:guest@localhost:5672/%2F"]
    assert ["bindQueue", "crm.portal-access", "invitations.events", "access_granted"] in calls
    assert ["bindQueue", "crm.portal-access", "invitations.events", "access_revoked"] in calls
    assert calls[-1] == ["ack"]
