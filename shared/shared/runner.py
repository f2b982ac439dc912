"""Run one nameko service as a process: `python -m <service>` calls `run_service`.

The caller must have called `shared.green.patch()` before importing anything else.
"""

from __future__ import annotations

import logging

from shared.logs import configure_logging
from shared.settings import ServiceSettings
from shared.topology import declare_topology

log = logging.getLogger(__name__)


def run_service(service_cls: type, settings: ServiceSettings) -> None:
    from nameko.cli.run import run

    configure_logging(service_cls.name, settings.log_level)  # type: ignore[attr-defined]
    # Declared before consuming, so the retry and dead-letter queues exist whoever starts first.
    declare_topology(settings.amqp_uri, settings.event_retry_delays, settings.quorum_queues)
    log.info("starting %s with %d workers", service_cls.name, settings.max_workers)  # type: ignore[attr-defined]
    run([service_cls], settings.nameko_config())
