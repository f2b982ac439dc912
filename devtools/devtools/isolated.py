"""The platform on servers of its own, for a test suite or a benchmark: a database and a RabbitMQ
vhost made for one run on the local PostgreSQL and RabbitMQ (DATABASE_URL, AMQP_URI), free ports,
and the few things every such run does with it (an organization made by the admin command, the
link in an email, the check that no secret reached a process log).

    with isolated("portal_e2e") as servers:
        config = servers.stack_config({"ENVIRONMENT": "test"})
        stack = Stack(config, log_dir)
        ...
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.sink_client import SinkClient
from devtools.stack import StackConfig, free_port
from shared.contracts.common import GATEWAY
from shared.settings import CommonSettings
from shared.testing.infra import Management, drop_database, with_database, with_vhost

if TYPE_CHECKING:
    from shared.contracts.contacts import OrganizationCreated

# An invitation or password-reset link, and its token.
SECRET_LINK = re.compile(r"https?://[^\s\"'<>]+/(?:invite|reset)/([A-Za-z0-9_-]{20,})")
CLEANUP_ATTEMPTS = 5
CLEANUP_PAUSE_SECONDS = 3.0


@dataclass(frozen=True)
class Servers:
    name: str  # of the database and of the vhost
    database_url: str
    amqp_uri: str
    management: Management

    def stack_config(self, extra_env: Mapping[str, str]) -> StackConfig:
        return StackConfig(
            database_url=self.database_url,
            amqp_uri=self.amqp_uri,
            gateway_port=free_port(),
            smtp_port=free_port(),
            mail_port=free_port(),
            extra_env=dict(extra_env),
        )


@contextmanager
def isolated(
    prefix: str,
    *,
    keep: bool = False,
    say: Callable[[str], None] = print,
    database_url: str | None = None,
    amqp_uri: str | None = None,
    management: Management | None = None,
) -> Iterator[Servers]:
    """A new vhost and the name of a new database (`devtools.prepare.prepare` creates and migrates
    it), both removed at the end unless `keep`. On the servers of DATABASE_URL and AMQP_URI (the
    local ones by default), or on those given (the fault suite's own, `devtools.private_servers`).
    Each is removed on its own, retried for a while: a server restarting meanwhile (the fault
    suite restarts them) must not leave the other behind."""
    defaults = CommonSettings()
    base_db = CommonSettings(
        database_url=database_url or os.environ.get("DATABASE_URL", defaults.database_url)
    ).database_url
    base_amqp = amqp_uri or os.environ.get("AMQP_URI", defaults.amqp_uri)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    database_url = with_database(base_db, name)
    management = management or Management.for_broker(base_amqp)
    management.create_vhost(name)
    try:
        yield Servers(name, database_url, with_vhost(base_amqp, name), management)
    finally:
        if keep:
            say(f"kept for a look: database {database_url}, vhost {name}")
        else:
            _retry(lambda: drop_database(database_url), f"drop database {name}", say)
            _retry(lambda: management.delete_vhost(name), f"delete vhost {name}", say)


def _retry(action: Callable[[], Any], what: str, say: Callable[[str], None]) -> None:
    for attempt in range(1, CLEANUP_ATTEMPTS + 1):
        try:
            action()
            return
        except Exception as exc:  # reported, not raised: the run's own results matter more
            if attempt == CLEANUP_ATTEMPTS:
                say(f"could not {what}: {type(exc).__name__}: {exc}")
                return
            time.sleep(CLEANUP_PAUSE_SECONDS)


def create_organization(
    config: StackConfig, name: str, admin_email: str, admin_password: str
) -> OrganizationCreated:
    """An organization made the way the admin command makes it: its admin and their API token."""
    from portal_gateway.admin import create_organization as admin_command
    from portal_gateway.settings import GatewaySettings

    settings = GatewaySettings(amqp_uri=config.uri_of(GATEWAY), public_base_url=config.public_base_url)
    coroutine = admin_command(settings, name, admin_email, "Ada Admin", admin_password)
    # In a thread of its own: the caller may have an event loop running (Playwright's sync API).
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


def emailed_link(sink: SinkClient, to: str, kind: str, count: int, seen: set[str]) -> str:
    """The first /<kind>/ link of the newest email to `to`, waiting for the count-th email; every
    secret link's token in it is added to `seen` (for `secrets_in_logs`)."""
    messages = sink.wait_for(to, count=count, timeout=60)
    newest = max(messages, key=lambda m: m["id"])
    links = [link for link in newest["links"] if f"/{kind}/" in link]
    assert links, f"no /{kind}/ link in the email to {to}"
    for match in SECRET_LINK.finditer(newest["text"] + newest["html"]):
        seen.add(match.group(1))
    return str(links[0])


def secrets_in_logs(log_dir: Path, secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(log file, the secret's first characters) for every secret found in a process log."""
    secrets = list(secrets)
    return [
        (path.name, secret[:6] + "…")
        for path in sorted(log_dir.glob("*.log"))
        for secret in secrets
        if secret in path.read_text(errors="replace")
    ]
