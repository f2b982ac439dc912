"""A platform of its own for one benchmark: a database, a RabbitMQ vhost, free ports, the chosen
processes, and the staff API and portal as a benchmark drives them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench.common.paths import LOGS
from bench.common.processes import PROFILE, profiled
from devtools.isolated import isolated
from devtools.prepare import prepare
from devtools.sink_client import SinkClient
from devtools.stack import ProcessSpec, Stack, StackConfig, platform_processes
from shared.broker_access import COMPONENTS
from shared.testing.infra import Management

NAMEKO_SERVICES = ("contacts", "properties", "invitations", "notifications")
HTTP_TIMEOUT = 30
PASSWORD = "violet lanterns drift south"  # noqa: S105 - the benchmark tenants' password
RETRY_DELAYS = (0.5, 1.0)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class StaffApi:
    """The staff API as one organization's API token, for setting up a benchmark's data."""

    api: httpx.Client
    organization_id: str
    api_token: str

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 201) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        if response.status_code != expect:
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.api.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()  # type: ignore[no-any-return]

    def unit(self) -> dict[str, Any]:
        """A new property with one unit."""
        prop = self.post(
            "/properties",
            {
                "name": f"Maple Court {uuid.uuid4().hex[:8]}",
                "address_line1": "12 Maple Road",
                "city": "London",
                "postcode": "N1 7AA",
            },
        )
        return self.post(f"/properties/{prop['id']}/units", {"name": "Flat 2"})

    def tenant_with_lease(self, unit: dict[str, Any] | None = None) -> dict[str, Any]:
        """A tenant with a current lease (so eligible for an invitation), on `unit` or a new one."""
        unit = unit or self.unit()
        tenant = self.post(
            "/contacts",
            {
                "type": "tenant",
                "first_name": "Tess",
                "last_name": f"Tenant{uuid.uuid4().hex[:8]}",
                "email": f"tenant.{uuid.uuid4().hex[:12]}@example.com",
            },
        )
        self.post(
            "/leases",
            {"unit_id": unit["id"], "start_date": "2026-01-01", "tenant_contact_ids": [tenant["id"]]},
        )
        return {**tenant, "unit": unit}

    def invite(self, contact_id: str) -> dict[str, Any]:
        return self.post(f"/contacts/{contact_id}/portal-invitations")


@dataclass
class BenchPlatform:
    name: str
    config: StackConfig
    stack: Stack
    management: Management
    vhost: str
    log_dir: Path
    sink: SinkClient

    @property
    def url(self) -> str:
        return self.config.gateway_url

    @property
    def amqp_uri(self) -> str:
        return self.config.amqp_uri

    @property
    def database_url(self) -> str:
        return self.config.database_url

    def wait_for_rpc(self, service: str, timeout: float = 120) -> None:
        """Until a process consumes `service`'s RPC queue (nameko's `rpc-<service>`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._fail_if_exited()
            queues = {q.get("name"): q for q in self.management.queues(self.vhost)}
            queue = queues.get(f"rpc-{service}")
            if queue is not None and int(queue.get("consumers") or 0) > 0:  # type: ignore[call-overload]
                return
            time.sleep(0.5)
        raise RuntimeError(f"{service} did not start consuming RPC within {timeout:g} s")

    def wait_for_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local URL
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer within {timeout:g} s")

    def pid(self, name: str) -> int:
        """The process id of a running platform process (the one py-spy runs, when profiled)."""
        pid = self.stack.running[name].process.pid
        if name in PROFILE:  # the profiled program is py-spy's child
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pid = int(children[0]) if children else pid
        return pid

    def _fail_if_exited(self) -> None:
        dead = self.stack.exited()
        if dead:
            name, code = next(iter(dead.items()))
            raise RuntimeError(f"{name} exited with code {code}:\n{self.stack.log_tail(name)}")

    def new_organization(self) -> StaffApi:
        """An organization made the way the admin command makes it, with its API token."""
        from portal_gateway.admin import create_organization
        from portal_gateway.settings import GatewaySettings

        settings = GatewaySettings(amqp_uri=self.config.uri_of("gateway"))
        created = asyncio.run(
            create_organization(
                settings,
                f"Bench Lettings {uuid.uuid4().hex[:8]}",
                f"admin.{uuid.uuid4().hex[:10]}@example.com",
                "Ada Admin",
                "bench admin password 42",
            )
        )
        api = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {created.api_token}"},
            timeout=HTTP_TIMEOUT,
        )
        return StaffApi(api, str(created.organization.id), created.api_token)

    def invitation_token(self, email: str, timeout: float = 60) -> str:
        """The token of the newest invitation link emailed to `email` (read from the SMTP sink)."""
        messages = self.sink.wait_for(email, timeout=timeout)
        newest = max(messages, key=lambda m: m["id"])
        link = next(link for link in newest["links"] if "/invite/" in link)
        return str(link.rsplit("/", 1)[1])

    def accept_form(self, token: str) -> tuple[httpx.Client, dict[str, str]]:
        """A fresh browser that opened the invitation link, and the form it would post."""
        browser = httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, follow_redirects=False)
        page = browser.get(f"/invite/{token}")
        match = _CSRF.search(page.text)
        if page.status_code != 200 or match is None:
            raise RuntimeError(f"the invitation page answered {page.status_code}")
        form = {"csrf_token": match.group(1), "token": token, "password": PASSWORD}
        form["password_confirmation"] = PASSWORD
        return browser, form

    def portal_cookies(self, session_id: str) -> str:
        """The Cookie header a signed-in browser sends to the portal: its session and the CSRF
        cookie the first page set (without it every page would mint and set a new one)."""
        with httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, follow_redirects=False) as browser:
            browser.cookies.set("portal_session", session_id)
            page = browser.get("/portal")
            if page.status_code != 200:
                raise RuntimeError(f"GET /portal answered {page.status_code}")
            return f"portal_session={session_id}; portal_csrf={page.cookies['portal_csrf']}"

    def accept(self, token: str) -> str:
        """Accept the invitation as its recipient would; the new portal session id."""
        browser, form = self.accept_form(token)
        try:
            answer = browser.post("/invite/accept", data=form)
        finally:
            browser.close()
        if answer.status_code != 303:
            raise RuntimeError(f"accepting answered {answer.status_code}: {answer.text[:300]}")
        return str(answer.cookies["portal_session"])


def stop_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C does, so every `finally` (and `with`) cleans up."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def bench_platform(
    name: str,
    processes: Sequence[str] | None = None,
    extra: Sequence[ProcessSpec] = (),
    env: Mapping[str, str] | None = None,
    process_env: Mapping[str, Mapping[str, str]] | None = None,
    rpc_services: Sequence[str] = (),
    http_checks: Sequence[str] = (),
    say: Any = print,
) -> Iterator[BenchPlatform]:
    """The platform (or some of its processes) on a database, vhost and ports of its own.

    processes     names from `devtools.stack.platform_processes` (smtp-sink, contacts, properties,
                  invitations, notifications, sender, gateway); None for all of them
    extra         more ProcessSpecs (their own names), e.g. `ProcessSpec("sender-2", [...])`
    env           environment for every process (over the StackConfig's)
    process_env   environment for one process, by name (over `env`)
    rpc_services  more nameko services to wait for (e.g. an `extra` benchmark-only service)
    http_checks   more URLs to wait for (an `extra` web process's health page)
    """
    stop_on_sigterm()
    with isolated(f"bench_{name}", say=say) as servers:
        config = servers.stack_config(
            {"ENVIRONMENT": "test", "EVENT_RETRY_DELAYS": "[0.5, 1.0]", **(env or {})}
        )
        wanted = set(processes) if processes is not None else None
        specs = [spec for spec in platform_processes(config) if wanted is None or spec.name in wanted]
        if wanted is not None and len(specs) != len(wanted):
            unknown = wanted - {spec.name for spec in specs}
            raise ValueError(f"no such platform processes: {', '.join(sorted(unknown))}")
        specs += list(extra)
        log_dir = LOGS / name
        log_dir.mkdir(parents=True, exist_ok=True)
        for old in [*log_dir.glob("*.log"), *log_dir.glob("profile-*")]:
            old.unlink()
        specs = [
            ProcessSpec(
                spec.name,
                profiled(spec.name, spec.argv, log_dir),
                {**own_login(spec, config), **spec.env, **(process_env or {}).get(spec.name, {})},
            )
            for spec in specs
        ]
        stack = Stack(config, log_dir, processes=specs)
        bench = BenchPlatform(
            name, config, stack, servers.management, servers.name, log_dir, SinkClient(config.mail_url)
        )
        try:
            say(f"[{name}] database and vhost {servers.name}; migrating ...")
            prepare(servers.database_url, servers.amqp_uri, RETRY_DELAYS, say=lambda _: None)
            say(f"[{name}] starting {', '.join(spec.name for spec in specs)} (logs in {log_dir}) ...")
            stack.start()
            started = {spec.name for spec in specs}
            for service in [s for s in NAMEKO_SERVICES if s in started] + list(rpc_services):
                bench.wait_for_rpc(service)
            if "gateway" in started:
                bench.wait_for_http(f"{config.gateway_url}/healthz")
            if "smtp-sink" in started:
                bench.wait_for_http(f"{config.mail_url}/healthz")
            for url in http_checks:
                bench.wait_for_http(url)
            yield bench
        finally:
            say(f"[{name}] stopping and cleaning up ...")
            profiled_children = []
            for spec in specs:
                if spec.name in PROFILE and spec.name in stack.running:
                    with contextlib.suppress(OSError, ValueError):
                        profiled_children.append(bench.pid(spec.name))
                    # py-spy writes its profile, then stops the process it runs; give it the time.
                    stack.kill(spec.name, signal.SIGINT)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        stack.running[spec.name].process.wait(timeout=30)
            stack.stop()
            for pid in profiled_children:  # never leave one behind, whatever happened to py-spy
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def own_login(spec: ProcessSpec, config: StackConfig) -> dict[str, str]:
    """An extra platform process (`sender-2`) on the broker login of its kind, as the others are."""
    kind = spec.name.rsplit("-", 1)[0]
    return {"AMQP_URI": config.uri_of(kind)} if kind in COMPONENTS and "AMQP_URI" not in spec.env else {}
