"""Run one nameko service as a process: `python -m <service>` calls `run_service`.

The caller must have called `shared.green.patch()` before importing anything else.
"""

from __future__ import annotations

import logging
import time
import urllib.parse

from shared.logs import configure_logging
from shared.settings import ServiceSettings
from shared.topology import SUBSCRIPTIONS, declare_topology, event_exchange_name

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 30


def run_service(service_cls: type, settings: ServiceSettings) -> None:
    from nameko.cli.run import run

    name = service_cls.name  # type: ignore[attr-defined]
    configure_logging(name, settings.log_level)
    wait_for_broker(name, settings)
    log.info("starting %s with %d workers", name, settings.max_workers)
    run([service_cls], settings.nameko_config())


def wait_for_broker(service: str, settings: ServiceSettings) -> None:
    """Declare the service's own exchange and the queues of its subscriptions (so its retry and
    dead-letter queues exist), waiting for the broker rather than exiting while it is down. The
    rest of the topology is declared at deploy (deploy/rabbitmq/definitions.json, `make up`)."""
    where = urllib.parse.urlsplit(settings.amqp_uri)
    delay = 1.0
    while True:
        try:
            declare_topology(
                settings.amqp_uri,
                settings.event_retry_delays,
                settings.quorum_queues,
                subscriptions=[s for s in SUBSCRIPTIONS if s.service == service],
                exchanges=[event_exchange_name(service)],
            )
            return
        except Exception as exc:  # any failure to reach or use the broker: wait and retry
            log.warning(
                "RabbitMQ at %s:%s cannot be used yet (%s); trying again in %.0f s",
                where.hostname,
                where.port or 5672,
                type(exc).__name__,
                delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, MAX_WAIT_SECONDS)
