"""`python -m devtools.infra_check`: can the platform and its tests use the servers?

PostgreSQL and RabbitMQ must answer; the tests also need RabbitMQ's management API (they make a
vhost of their own). When the broker runs on this machine and the API is off, this turns it on.
Each failure says which server, where it looked and how to start it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.parse

from shared.settings import CommonSettings
from shared.testing.infra import InfraError, Management, check_postgres, check_rabbitmq

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def ensure_management(amqp_uri: str) -> None:
    management = Management.for_broker(amqp_uri)
    try:
        management.request("GET", "/api/overview")
        return
    except InfraError:
        host = urllib.parse.urlsplit(amqp_uri).hostname or "localhost"
        plugins = shutil.which("rabbitmq-plugins")
        if host not in LOCAL_HOSTS or plugins is None:
            raise
    print("Turning on RabbitMQ's management API (rabbitmq-plugins enable rabbitmq_management) ...")
    subprocess.run([plugins, "enable", "rabbitmq_management"], check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        try:
            management.request("GET", "/api/overview")
            return
        except InfraError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def main() -> int:
    settings = CommonSettings()
    try:
        check_postgres(settings.database_url)
        check_rabbitmq(settings.amqp_uri)
        ensure_management(settings.amqp_uri)
    except (InfraError, subprocess.SubprocessError) as exc:
        print(f"\n{exc}\n", file=sys.stderr)
        return 2
    print("PostgreSQL, RabbitMQ and its management API answer.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
