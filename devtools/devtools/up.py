"""`make up` (python -m devtools.up): run the whole platform locally, seeded, until Ctrl-C.

Checks the servers, migrates, starts every service, the gateway and an SMTP sink whose page lists
every email, seeds a demo organization and prints where everything is.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from pydantic import AnyHttpUrl

from devtools.prepare import REPO, prepare
from devtools.seed import seed
from devtools.stack import Stack, StackConfig, port_in_use
from portal_gateway.settings import GatewaySettings
from shared.settings import ServiceSettings
from shared.testing.infra import InfraError

VAR = REPO / "var"


def main() -> int:
    service_settings = ServiceSettings()
    config = StackConfig(
        database_url=service_settings.database_url,
        amqp_uri=service_settings.amqp_uri,
        gateway_port=int(os.environ.get("PORTAL_PORT", "8000")),
        smtp_port=int(os.environ.get("SMTP_SINK_PORT", "1025")),
        mail_port=int(os.environ.get("MAIL_VIEWER_PORT", "8025")),
    )
    for name, port in (
        ("portal", config.gateway_port),
        ("SMTP sink", config.smtp_port),
        ("mail viewer", config.mail_port),
    ):
        if port_in_use(config.host, port):
            print(
                f"Port {port} ({name}) is already in use: is the platform already running? "
                f"Stop it, or choose other ports with PORTAL_PORT, SMTP_SINK_PORT, MAIL_VIEWER_PORT.",
                file=sys.stderr,
            )
            return 2
    try:
        prepare(config.database_url, config.amqp_uri, service_settings.event_retry_delays)
    except InfraError as exc:
        print(f"\n{exc}\n", file=sys.stderr)
        return 2

    stack = Stack(config, VAR / "log")
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"Starting {len(stack.specs)} processes (logs in {VAR / 'log'}) ...")
    stack.start()
    try:
        stack.wait_ready(timeout=120, progress=lambda state: print(f"  ... {state[:160]}"))
        gateway_settings = GatewaySettings(public_base_url=AnyHttpUrl(config.public_base_url))
        demo = seed(config.gateway_url, gateway_settings, VAR / "demo.json")
    except Exception as exc:
        print(f"\nThe platform did not start: {exc}", file=sys.stderr)
        stack.stop()
        return 1

    base = config.public_base_url
    print(
        f"""
The portal platform is running. Ctrl-C stops it.

  Staff console   {base}/console/login   sign in as {demo.admin_email} / {demo.admin_password}
  Portal          {base}/login
  Staff API       {base}/docs   (Authorization: Bearer {demo.api_token})
  Emails          http://{config.public_host}:{config.mail_port}/   (every email sent, links clickable)

Try it: in the console open Contacts > Tenants, use Actions > Send Portal Invitation on
{demo.tenant_email}, open the email at the Emails page and follow the link.
"""
    )
    while not stopping:
        for note in stack.supervise():
            print(note)
        time.sleep(1)
    print("Stopping ...")
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
