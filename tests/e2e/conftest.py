"""The whole platform as processes (as `make up` runs it), on a database, a RabbitMQ vhost and
ports of its own, driven over HTTP and through a real browser, the emails read from the SMTP sink.

At the end of the session every process log is searched for every token and link the tests saw:
finding one fails the run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from devtools.isolated import create_organization, emailed_link, isolated, secrets_in_logs
from devtools.prepare import prepare
from devtools.sink_client import SinkClient
from devtools.stack import Stack, StackConfig
from shared.testing.helpers import ADMIN_PASSWORD, random_email, random_name

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
RETRY_DELAYS = (0.5, 1.0)
HTTP_TIMEOUT = 30


@dataclass
class Staff:
    api: httpx.Client
    email: str
    password: str
    organization_id: str

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 201) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.api.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def tenant_with_lease(self, email: str | None = None) -> dict[str, Any]:
        tenant = self.post(
            "/contacts",
            {
                "type": "tenant",
                "first_name": "Tess",
                "last_name": random_name("Tenant"),
                "email": email or random_email("tenant"),
            },
        )
        prop = self.post(
            "/properties",
            {
                "name": random_name("Maple Court "),
                "address_line1": "12 Maple Road",
                "city": "London",
                "postcode": "N1 7AA",
            },
        )
        unit = self.post(f"/properties/{prop['id']}/units", {"name": "Flat 2"})
        lease = self.post(
            "/leases",
            {"unit_id": unit["id"], "start_date": "2026-01-01", "tenant_contact_ids": [tenant["id"]]},
        )
        return {**tenant, "property": prop, "unit": unit, "lease": lease}


@dataclass
class Platform:
    stack: Stack
    config: StackConfig
    sink: SinkClient
    secrets_seen: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.config.gateway_url

    def browser_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, follow_redirects=False)

    def new_organization(self) -> Staff:
        """An organization made by the admin command, with its API token."""
        email = random_email("admin")
        created = create_organization(self.config, random_name("Lettings "), email, ADMIN_PASSWORD)
        self.secrets_seen.add(created.api_token)
        api = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {created.api_token}"},
            timeout=HTTP_TIMEOUT,
        )
        return Staff(api, email, ADMIN_PASSWORD, str(created.organization.id))

    def link_in_email(self, to: str, kind: str = "invite", count: int = 1) -> str:
        """The newest invitation or reset link sent to `to` (waiting for the count-th email)."""
        return emailed_link(self.sink, to, kind, count, self.secrets_seen)

    def path_of(self, link: str) -> str:
        assert link.startswith(self.config.public_base_url + "/"), link
        return link[len(self.config.public_base_url) :]

    def invite_and_accept(self, staff: Staff, contact: dict[str, Any], password: str) -> httpx.Client:
        """Staff invite the contact; the person opens the emailed link and creates their account:
        their browser, signed in."""
        staff.post(f"/contacts/{contact['id']}/portal-invitations")
        path = self.path_of(self.link_in_email(contact["email"]))
        self.secrets_seen.add(password)
        person = self.browser_client()
        page = person.get(path)
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "the page has no CSRF token"
        answer = person.post(
            "/invite/accept",
            data={
                "csrf_token": token.group(1),
                "token": path.rsplit("/", 1)[1],
                "password": password,
                "password_confirmation": password,
            },
        )
        assert (answer.status_code, answer.headers.get("location")) == (303, "/portal"), answer.text
        return person


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    log_dir = ARTIFACTS / "e2e-logs"
    for old in log_dir.glob("*.log"):
        old.unlink()
    with isolated("portal_e2e") as servers:
        config = servers.stack_config(
            {"EVENT_RETRY_DELAYS": "[0.5, 1.0]", "ENVIRONMENT": "test", "SERVER_TIMING": "true"}
        )
        stack = Stack(config, log_dir)
        platform = Platform(stack, config, SinkClient(config.mail_url))
        try:
            prepare(servers.database_url, servers.amqp_uri, RETRY_DELAYS, say=lambda _: None)
            stack.start()
            stack.wait_ready(timeout=120)
            yield platform
        finally:
            stack.stop()
    leaked = secrets_in_logs(log_dir, platform.secrets_seen)
    assert not leaked, f"tokens or links found in process logs: {leaked}"
    assert platform.secrets_seen, "the run saw no token at all: the log check checked nothing"


# --- the browser tests ------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (its own browser download cannot work here)."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed: make browser (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def screenshots() -> Path:
    """Where the browser tests keep their screenshots: `make screenshots` sets SCREENSHOTS_DIR to
    docs/screenshots."""
    directory = Path(os.environ.get("SCREENSHOTS_DIR") or ARTIFACTS / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
