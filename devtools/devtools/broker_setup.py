"""The broker ready for the platform in development: its logins with their development passwords
and their permissions (`shared.broker_access`), then every exchange and queue.

    python -m devtools.broker_setup

On the broker and vhost of AMQP_URI, with that URI's login (an administrator) and the management
API (RABBITMQ_MANAGEMENT_URL, or port 15672 of the broker's host). `make up` and the test suites do
the same through `devtools.prepare`; docker-compose.yml runs this once before the platform. Waits
up to a minute for the broker to answer. A deployment makes its logins with passwords of its own.
"""

from __future__ import annotations

import sys
import time
import urllib.parse

from shared.settings import ServiceSettings
from shared.testing.infra import InfraError, Management, check_rabbitmq
from shared.topology import declare_topology

WAIT_SECONDS = 60


def vhost_of(amqp_uri: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).path[1:]) or "/"


def prepare_broker(
    amqp_uri: str, retry_delays: tuple[float, ...], quorum: bool = False, management: Management | None = None
) -> None:
    (management or Management.for_broker(amqp_uri)).create_platform_logins(vhost_of(amqp_uri))
    declare_topology(amqp_uri, retry_delays, quorum)


def main() -> None:
    settings = ServiceSettings()
    if settings.environment == "production":
        sys.exit("devtools.broker_setup makes logins with development passwords; not in production")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            check_rabbitmq(settings.amqp_uri)
            prepare_broker(settings.amqp_uri, settings.event_retry_delays, settings.quorum_queues)
            break
        except InfraError as exc:
            if time.monotonic() > deadline:
                sys.exit(str(exc))
            time.sleep(2)
    print(f"the platform's broker logins and queues are ready on vhost {vhost_of(settings.amqp_uri)!r}")


if __name__ == "__main__":
    main()
