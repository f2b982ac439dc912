"""Who may do what on the broker: one RabbitMQ login per kind of process, each with the least it
needs, and the identity every consumer checks (docs/architecture.md, "Trust boundaries").

A login is `portal-<component>`. RabbitMQ refuses a message whose `user_id` property is not the
login that published it, so `user_id` is an identity the broker vouches for: every process sets it
on what it publishes (`login_of` its own AMQP_URI), an event handler accepts an event only from
the owner of its exchange (`EVENT_PUBLISHERS`), and an RPC server serves a call only from a caller
its contract names (`RpcMethod.callers`). The permissions below keep each login to its own queues
and exchange, so no login can read another service's queues, delete an exchange or publish an
event of another service:

- a nameko service: configures, binds and reads its own queues (`rpc-<service>`, its reply
  queues if it calls others, its event queues), publishes to its own `<service>.events`, to
  `nameko-rpc` (calls and replies) and, if it consumes events, to the default exchange (its retry
  and dead-letter queues: the broker checks write on `amq.default`, so the `user_id` check is
  what stops it from slipping an event into another service's queue);
- the SMTP sender: publishes to `notifications.events`, nothing else;
- the gateway: its reply queue and `nameko-rpc`; it publishes no event;
- an outside subscriber (`subscriber_permissions`): declares, binds and reads queues named
  `<its login>.<anything>` on the events exchanges, and publishes nothing.
"""

from __future__ import annotations

import argparse
import functools
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.contracts.common import GATEWAY, RPC_METHODS
from shared.topology import (
    DELIVERY_LIMIT,
    RPC_EXCHANGE,
    SERVICES,
    SUBSCRIPTIONS,
    definitions_json,
    event_exchange_name,
    rabbitmq_definitions,
)

SENDER = "sender"
COMPONENTS = (*SERVICES, SENDER, GATEWAY)
LOGIN_PREFIX = "portal-"
# Who publishes each service's events: its own outbox relay, and for notifications also the
# sender, which publishes its delivery results from the same outbox (notifications.sender.relay).
EVENT_PUBLISHERS: dict[str, tuple[str, ...]] = {
    **{service: (service,) for service in SERVICES},
    "notifications": ("notifications", SENDER),
}
# The header in which a service keeps, on an event it sends round its own retry queue, the login
# that published the event first (only the service itself can publish with its own user_id).
PUBLISHER_HEADER = "x-portal-publisher"
DEFAULT_EXCHANGE = "amq.default"


def login_name(component: str) -> str:
    return LOGIN_PREFIX + component


def login_of(amqp_uri: str) -> str:
    """The login in an AMQP URI: what RabbitMQ takes as this process's `user_id`."""
    return urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).username or "guest")


def with_login(amqp_uri: str, login: str, password: str) -> str:
    """`amqp_uri` with another login (same host, port and vhost)."""
    parts = urllib.parse.urlsplit(amqp_uri)
    host = parts.hostname or "localhost"
    netloc = f"{urllib.parse.quote(login, safe='')}:{urllib.parse.quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def dev_password(component: str) -> str:
    """The password of a login in development and tests (`make up`, the test suites), never used
    by a deployment: those logins exist only on a broker the developer runs."""
    return f"{login_name(component)}-development-only"


def dev_uri(base_uri: str, component: str) -> str:
    """The development AMQP URI of a component, on the broker and vhost of `base_uri`."""
    return with_login(base_uri, login_name(component), dev_password(component))


def may_publish_events_of(source: str) -> frozenset[str]:
    """The logins whose events on `<source>.events` are the source's own."""
    return frozenset(login_name(c) for c in EVENT_PUBLISHERS.get(source, ()))


@functools.lru_cache(maxsize=1024)
def callers_of(routing_key: str) -> frozenset[str]:
    """The logins that may call the RPC method `<service>.<method>`: its contract's callers, or
    the gateway alone for a method with no contract of its own (`health`)."""
    method = RPC_METHODS.get(routing_key)
    callers = method.callers if method is not None else (GATEWAY,)
    return frozenset(login_name(c) for c in callers)


@dataclass(frozen=True)
class Permissions:
    """A login's permissions on one vhost: three regular expressions over resource names."""

    configure: str
    write: str
    read: str


NOTHING = "^$"


def _either(names: Iterable[str]) -> str:
    names = list(names)
    return "^(" + "|".join(names) + ")$" if names else NOTHING


def rpc_callers() -> frozenset[str]:
    """The components that call some service's RPC methods (each has reply queues)."""
    import shared.contracts.contacts
    import shared.contracts.invitations
    import shared.contracts.notifications
    import shared.contracts.properties  # noqa: F401

    return frozenset(c for method in RPC_METHODS.values() for c in method.callers)


def permissions(component: str) -> Permissions:
    """The least a component's login needs (see the module's docstring)."""
    if component == SENDER:
        return Permissions(NOTHING, _either([re.escape(event_exchange_name("notifications"))]), NOTHING)
    queues: list[str] = []
    if component in SERVICES:
        queues.append(re.escape(f"rpc-{component}"))
    if component in rpc_callers():
        queues.append(re.escape(f"rpc.reply-{component}-") + ".+")
    consumed = [s for s in SUBSCRIPTIONS if s.service == component]
    if consumed:
        # evt-<source>-<event>--<service>.<method>, and its .dead and .retry-<ms>ms queues
        queues.append(
            r"evt-[a-z_]+-[a-z_]+--" + re.escape(component) + r"\.[a-z_]+(\.dead|\.retry-[0-9]+ms)?"
        )
    write = [*queues, re.escape(RPC_EXCHANGE)]
    read = [*queues, re.escape(RPC_EXCHANGE)]
    if component in SERVICES:
        own_exchange = re.escape(event_exchange_name(component))
        write.append(own_exchange)
        queues_and_exchange = [*queues, own_exchange]  # the outbox relay declares its exchange
    else:
        queues_and_exchange = queues
    if consumed:
        write.append(re.escape(DEFAULT_EXCHANGE))
        read += sorted({re.escape(event_exchange_name(s.source)) for s in consumed})
    return Permissions(_either(queues_and_exchange), _either(write), _either(read))


def subscriber_permissions(login: str) -> Permissions:
    """An outside system's login: queues of its own (`<login>.<name>`) bound to the events
    exchanges, read; nothing published, nothing else configured or read."""
    own = re.escape(f"{login}.") + ".+"
    exchanges = [re.escape(event_exchange_name(source)) for source in SERVICES]
    return Permissions(_either([own]), _either([own]), _either([own, *exchanges]))


def definitions_permissions(vhost: str) -> list[dict[str, object]]:
    """The `permissions` of a RabbitMQ definitions document: one entry per platform login."""
    return [
        {"user": login_name(component), "vhost": vhost, **permissions(component).__dict__}
        for component in COMPONENTS
    ]


def definitions(
    retry_delays: Sequence[float], vhost: str = "/", *, delivery_limit: int = DELIVERY_LIMIT
) -> dict[str, list[dict[str, object]]]:
    """deploy/rabbitmq/definitions.json: the topology (`shared.topology.rabbitmq_definitions`)
    and every platform login's permissions on `vhost`. The logins themselves are not in it: each
    has a password of its own, which RabbitMQ would overwrite on every import. Make them first
    (docs/deployment.md); RabbitMQ refuses permissions for a login that does not exist."""
    document = rabbitmq_definitions(retry_delays, vhost, delivery_limit=delivery_limit)
    document["permissions"] = list(definitions_permissions(vhost))
    return document


def main() -> None:
    from shared.settings import ServiceSettings

    parser = argparse.ArgumentParser(
        description="Print deploy/rabbitmq/definitions.json: the platform's exchanges, queues, "
        "policies and its broker logins' permissions."
    )
    parser.add_argument("--definitions", action="store_true", required=True)
    parser.add_argument("--vhost", default="/", help="the vhost named in the definitions (default: /)")
    args = parser.parse_args()
    print(definitions_json(definitions(ServiceSettings().event_retry_delays, args.vhost)), end="")


if __name__ == "__main__":
    main()
