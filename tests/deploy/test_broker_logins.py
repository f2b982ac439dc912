"""The platform's broker logins (`shared.broker_access`), on a vhost of the real RabbitMQ with the
permissions of deploy/rabbitmq/definitions.json: each may publish where its process must and
nowhere else, and none can pass for another (RabbitMQ checks `user_id`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection, Exchange, Producer

from shared.broker_access import COMPONENTS, SENDER, dev_uri, login_name
from shared.settings import CommonSettings
from shared.testing.infra import Management, check_rabbitmq, with_vhost
from shared.topology import EXCHANGES, RPC_EXCHANGE, SUBSCRIPTIONS, declare_topology, event_exchange_name

TIMEOUT_SECONDS = 10


@pytest.fixture(scope="module")
def vhost_uri() -> Iterator[str]:
    amqp_uri = CommonSettings().amqp_uri
    check_rabbitmq(amqp_uri)
    management = Management.for_broker(amqp_uri)
    name = f"portal_logins_{uuid.uuid4().hex[:12]}"
    management.create_vhost(name)
    try:
        management.create_platform_logins(name)
        uri = with_vhost(amqp_uri, name)
        declare_topology(uri, (0.2,))
        yield uri
    finally:
        management.delete_vhost(name)


def publish(uri: str, component: str, exchange: str, routing_key: str, user_id: str | None = None) -> str:
    """'ok', or why the broker refused (publisher confirms: a refusal surfaces here)."""
    try:
        with Connection(
            dev_uri(uri, component),
            connect_timeout=TIMEOUT_SECONDS,
            transport_options={"confirm_publish": True},
        ) as conn:
            Producer(conn.channel()).publish(
                "{}",
                exchange=Exchange(exchange, type="topic", no_declare=True) if exchange else "",
                routing_key=routing_key,
                user_id=user_id or login_name(component),
            )
    except AccessRefused:
        return "access refused"
    except PreconditionFailed:
        return "precondition failed"
    return "ok"


def may_publish_to(uri: str, component: str) -> set[str]:
    return {exchange for exchange in EXCHANGES if publish(uri, component, exchange, "anything") == "ok"}


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_login_publishes_only_where_its_process_must(vhost_uri: str, component: str) -> None:
    expected = {
        SENDER: {event_exchange_name("notifications")},
        "gateway": {RPC_EXCHANGE},  # calls; never an event
    }.get(component, {RPC_EXCHANGE, event_exchange_name(component)})
    assert may_publish_to(vhost_uri, component) == expected


@pytest.mark.parametrize("component", COMPONENTS)
def test_no_login_passes_for_another(vhost_uri: str, component: str) -> None:
    """Where a login may publish, it still cannot name another login as the publisher."""
    for exchange in may_publish_to(vhost_uri, component):
        other = login_name("invitations" if component != "invitations" else "contacts")
        assert publish(vhost_uri, component, exchange, "x", user_id=other) == "precondition failed"


def test_no_login_reaches_into_another_services_queues(vhost_uri: str) -> None:
    for sub in SUBSCRIPTIONS:
        for component in COMPONENTS:
            result = publish(vhost_uri, component, "", sub.queue)
            # Only consumers of events write to the default exchange (their retry and dead-letter
            # queues); the consumer's own check (user_id) refuses what they put in other queues.
            allowed = component in {s.service for s in SUBSCRIPTIONS}
            assert (result == "ok") == allowed, (component, sub.queue, result)


@pytest.mark.parametrize("component", COMPONENTS)
def test_no_login_may_delete_an_exchange_it_does_not_own(vhost_uri: str, component: str) -> None:
    for exchange in EXCHANGES:
        if exchange == event_exchange_name(component):
            continue
        with Connection(dev_uri(vhost_uri, component), connect_timeout=TIMEOUT_SECONDS) as conn:
            with pytest.raises(AccessRefused):
                conn.channel().exchange_delete(exchange)
