"""The `container_factory` fixture of the service tests: nameko's fixture of that name, with each
service on its own broker login, as deployed (`shared.broker_access`), and two changes that take
about a second off every service test and change nothing a test observes.

- A container's consumer notices it is asked to stop at its next poll of the broker. kombu polls once
  a second; here every 50 ms, so killing a container takes about 50 ms rather than up to a second.
- The test's containers are killed side by side rather than one after another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from kombu.mixins import ConsumerMixin
from nameko.containers import ServiceContainer, get_container_cls
from nameko.messaging import QueueConsumer

CONSUMER_POLL_SECONDS = 0.05


def polling_often(consumer: QueueConsumer, _tokens: int = 1, **kwargs: Any) -> None:
    ConsumerMixin.run(consumer, _tokens, safety_interval=CONSUMER_POLL_SECONDS, **kwargs)


def kill_quietly(container: ServiceContainer) -> None:
    """Kill a container at teardown; a test's own failure is already reported, so teardown goes on."""
    with contextlib.suppress(Exception):
        container.kill()


@pytest.fixture
def container_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(QueueConsumer, "run", polling_often)
    made: list[ServiceContainer] = []

    def make_container(service_cls: type, config: dict[str, Any]) -> ServiceContainer:
        config = as_service(config, service_cls.name)  # type: ignore[attr-defined]
        container = get_container_cls(config)(service_cls, config)
        made.append(container)
        return container

    yield make_container
    pool = eventlet.GreenPool()
    for container in made:
        pool.spawn(kill_quietly, container)
    pool.waitall()


def as_service(config: dict[str, Any], service: str) -> dict[str, Any]:
    """A nameko config (with its `SETTINGS`) on the development login of `service`, same vhost."""
    from shared.broker_access import dev_uri

    uri = dev_uri(config["AMQP_URI"], service)
    settings = config["SETTINGS"].model_copy(update={"amqp_uri": uri})
    return {**config, "AMQP_URI": uri, "SETTINGS": settings}
