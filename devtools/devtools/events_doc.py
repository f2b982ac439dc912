"""`python -m devtools.events_doc > docs/events.md`: the event reference, made from the contracts.

The introduction is written here by hand; each event's section comes from its pydantic model in
shared/contracts/events.py, so the document cannot drift from what is published
(tests/docs/test_docs.py checks the committed file against this output).
"""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel

from shared.broker_access import subscriber_permissions
from shared.contracts.events import ALL_EVENTS, Event
from shared.topology import SUBSCRIPTIONS

# The outside subscriber's login in the examples.
SUBSCRIBER = "crm"

INTRO = """\
# Events

Every change to portal access is announced as an event, so other systems (a CRM, a billing system,
an audit store) can follow it without asking any service. This page is generated from the
contracts in `shared/shared/contracts/events.py` by `python -m devtools.events_doc`; a test fails
when it is out of date.

## How events travel

- Each service publishes to its own RabbitMQ **topic exchange** `<service>.events` (durable), with
  the **event type as routing key**: `invitations.events` / `invitation_sent`.
- The body is **JSON** (`content_type: application/json`), the event model's fields. Message
  properties: `message_id` = the event's `event_id`, `type` = the event type, persistent delivery.
- Events leave through each service's **outbox**: written in the transaction of the change,
  published with publisher confirms, marked afterwards. Delivery is **at least once**: after a
  crash an event may come twice, so a consumer records the `event_id`s it has handled and ignores
  a repeat (every consumer in this platform does, in the transaction of its effect).
- Order is not guaranteed across events. Each carries `occurred_at`; state-changing consumers
  (like the invitation states) only move forward.
- Fields are only ever added. A consumer must ignore fields it does not know. A change of meaning
  gets a new event name; `schema_version` counts additive versions of one event.
- Ids are UUID strings; times are ISO 8601 in UTC.
- Secrets never travel readable: invitation and reset events carry the link **sealed**
  (`sealed_link`, Fernet with `LINK_SEALING_KEY`), which only the notifications service can open.
  The seal names the link's recipient, purpose, subject and expiry: the same event published
  again with another `email` gets no email, only a `delivery_failed` with `link_refused`.

## Subscribing from outside Python

A system outside the platform gets a broker login of its own, which may declare, bind and read
queues named `<login>.<anything>` on the four events exchanges, and nothing else: it cannot
publish (an event, or a call to a service), and it cannot read the platform's own queues. The
platform's services accept an event only from the service that owns its exchange (RabbitMQ's
validated `user_id`), so even a login that could publish would change nothing.

A broker administrator makes the login once, here `crm`, with the management API
(`rabbitmq_management`) and curl. The examples use the default vhost, `/`, written `%2F` in URLs:

```sh
curl -fsS -u admin:admin-password -X PUT -H 'content-type: application/json' \\
  -d '{"password": "crm-password", "tags": ""}' http://localhost:15672/api/users/crm
curl -fsS -u admin:admin-password -X PUT -H 'content-type: application/json' \\
  -d 'SUBSCRIBER_PERMISSIONS' \\
  http://localhost:15672/api/permissions/%2F/crm
```

With that login, declare a durable queue of your own and bind it to the exchange once for each
event type you want, or with `#` for all of them. A routing key is one word of a topic exchange
(`access_granted`): `*` stands for a whole word, so a pattern such as `access_*` matches no event.
RabbitMQ keeps events for a bound queue while your consumer is down; it drops events published
before any queue is bound, so bind first. Do not declare the exchange (the platform has, and your
login may not); acknowledge a message only after you have handled it.

In Python with kombu (`pip install kombu`):

```python
from kombu import Connection, Exchange, Queue

exchange = Exchange("invitations.events", type="topic", no_declare=True)
queue = Queue(
    "crm.portal-access",
    exchange=exchange,
    bindings=[],
    durable=True,
)


def handle(body, message):
    print(message.properties["type"], body["event_id"], flush=True)  # handle it once per event_id
    message.ack()


with Connection("amqp://crm:crm-password@localhost:5672/%2F") as conn:
    bound = queue(conn.default_channel)
    bound.declare()
    for key in ["access_granted", "access_revoked"]:
        bound.bind_to(exchange="invitations.events", routing_key=key)
    with conn.Consumer(bound, callbacks=[handle], accept=["json"]):
        while True:
            try:
                conn.drain_events(timeout=60)
            except TimeoutError:
                conn.heartbeat_check()
```

Or in Node.js with amqplib (`npm install amqplib`), as a CommonJS script:

```js
const amqp = require("amqplib");

async function main() {
  const conn = await amqp.connect("amqp://crm:crm-password@localhost:5672/%2F");
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue("crm.portal-access", { durable: true });
  for (const key of ["access_granted", "access_revoked"]) {
    await ch.bindQueue(queue, "invitations.events", key);
  }
  await ch.consume(queue, (msg) => {
    const event = JSON.parse(msg.content.toString());
    console.log(msg.properties.type, event.event_id); // handle it here, once per event_id
    ch.ack(msg);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
```

Every event carries `schema_version` (integer), `event_id` (UUID, unique) and `occurred_at`
(date-time), besides the fields listed below.
"""


def type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # a bounded string inside an Optional: named as its type
        return type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        suffix = " or null" if len(args) < len(typing.get_args(annotation)) else ""
        return " or ".join(type_name(a) for a in args) + suffix
    if origin is list:
        return f"list of {type_name(typing.get_args(annotation)[0])}"
    if inspect.isclass(annotation):
        if issubclass(annotation, enum.Enum):
            return "string: " + ", ".join(f"`{member.value}`" for member in annotation)
        if issubclass(annotation, BaseModel):
            return f"object ({annotation.__name__}, below)"
        names = {UUID: "string (UUID)", datetime: "string (date-time)", str: "string", bool: "boolean"}
        names[int] = "integer"
        names[date] = "string (date)"
        if annotation in names:
            return names[annotation]
    return str(annotation)


def fields_table(model: type[BaseModel], skip: set[str]) -> list[str]:
    rows = ["| field | type |", "|---|---|"]
    for name, info in model.model_fields.items():
        if name not in skip:
            rows.append(f"| `{name}` | {type_name(info.annotation)} |")
    return rows


def render() -> str:
    # The subscriber's permissions, as the platform defines them (`shared.broker_access`).
    permissions = json.dumps(subscriber_permissions(SUBSCRIBER).__dict__)
    lines = [INTRO.replace("SUBSCRIBER_PERMISSIONS", permissions), "## The events", ""]
    base = set(Event.model_fields)
    nested: dict[str, type[BaseModel]] = {}
    for event in ALL_EVENTS:
        consumers = sorted(
            s.service for s in SUBSCRIPTIONS if (s.source, s.event_type) == (event.source, event.event_type)
        )
        lines += [
            f"### `{event.event_type}`",
            "",
            f"Exchange `{event.source}.events`, routing key `{event.event_type}`."
            + (f" Consumed here by: {', '.join(consumers)}." if consumers else ""),
            "",
        ]
        doc = inspect.getdoc(event)
        if doc and doc != inspect.getdoc(Event):
            lines += [" ".join(doc.split()), ""]
        lines += fields_table(event, base)
        lines.append("")
        for info in event.model_fields.values():
            if inspect.isclass(info.annotation) and issubclass(info.annotation, BaseModel):
                nested[info.annotation.__name__] = info.annotation
    for name, model in sorted(nested.items()):
        lines += [f"### {name}", "", *fields_table(model, set()), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
