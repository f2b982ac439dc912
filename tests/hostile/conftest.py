"""The hostile-input suite's harness: the whole platform as processes (as `tests/e2e` runs it, but
never shared with it), on a database, a RabbitMQ vhost and ports of its own, torn down when the
package's last test ends.

Sizes: small by default (CI, `make hostile`); `HOSTILE_FULL=1` runs several hundred schemathesis
examples per operation. What ran is written to `test-artifacts/hostile/`.

Clients come from distinct loopback addresses (127.0.0.0/8 all reaches the gateway on 127.0.0.1),
so the token-guessing throttle and the services' credential throttle, which count per client
address, can tell them apart.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from devtools.isolated import create_organization, emailed_link, isolated, secrets_in_logs
from devtools.prepare import prepare
from devtools.sink_client import SinkClient
from devtools.stack import Stack, StackConfig
from shared.settings import CommonSettings
from shared.testing.helpers import ADMIN_PASSWORD, random_email, random_name
from shared.tokens import digest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "hostile"
FULL = os.environ.get("HOSTILE_FULL", "") not in ("", "0")
VARIANT = "full" if FULL else "ci"
HTTP_TIMEOUT_SECONDS = 30
PASSWORD = "violet lanterns drift south"
# The gateway's token-guessing throttle, small so its tests end in seconds.
TOKEN_GUESS_LIMIT = 10
TOKEN_GUESS_WINDOW_SECONDS = 6.0
# The services' credential throttle, at its defaults (named so the tests can count on them).
THROTTLE_ACCOUNT_BURST = 5
THROTTLE_CLIENT_BURST = 30
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_addresses = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis keeps its files with the suite's artifacts, not in the work tree."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(ARTIFACTS / "hypothesis")


def next_loopback() -> str:
    """A loopback address no other client of this run uses: a client of its own to the throttle."""
    n = next(_addresses)
    return f"127.{n // 250}.{n % 250 + 2}.1"


def csrf(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, f"the page {page.request.url.path} has no CSRF token"
    return match.group(1)


def heading(response: httpx.Response) -> str:
    match = H1.search(response.text)
    return match.group(1).strip() if match else ""


@dataclass
class Staff:
    """A staff member with an API client (Bearer token) and, on demand, a signed-in console."""

    label: str
    role: str
    can_manage_portal_access: bool
    id: str
    email: str
    password: str
    token: str
    organization_id: str
    api: httpx.Client
    _console: httpx.Client | None = None

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 201) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code == expect, f"POST {path}: {response.status_code} {response.text}"
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.api.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()  # type: ignore[no-any-return]


@dataclass
class Organization:
    id: str
    name: str
    admin: Staff
    staff: dict[str, Staff] = field(default_factory=dict)

    def contact(self, type: str = "tenant", email: str | None = None) -> dict[str, Any]:
        return self.admin.post(
            "/contacts",
            {
                "type": type,
                "first_name": type.capitalize(),
                "last_name": random_name("Hostile"),
                "email": email or random_email(type),
            },
        )

    def property(self) -> dict[str, Any]:
        prop = self.admin.post(
            "/properties",
            {
                "name": random_name("Maple Court "),
                "address_line1": "12 Maple Road",
                "city": "London",
                "postcode": "N1 7AA",
            },
        )
        unit = self.admin.post(f"/properties/{prop['id']}/units", {"name": "Flat 2"})
        return {**prop, "unit": unit}

    def tenant_with_lease(self, email: str | None = None) -> dict[str, Any]:
        tenant = self.contact("tenant", email)
        prop = self.property()
        lease = self.admin.post(
            "/leases",
            {"unit_id": prop["unit"]["id"], "start_date": "2026-01-01", "tenant_contact_ids": [tenant["id"]]},
        )
        return {**tenant, "property": prop, "unit": prop["unit"], "lease": lease}

    def linked_to_property(
        self, role: str, prop: dict[str, Any] | None = None, email: str | None = None
    ) -> dict[str, Any]:
        """A new contact of the type `role` (landlord, vendor or applicant) linked as that to `prop`,
        a new property unless given."""
        contact = self.contact(role, email)
        prop = prop or self.property()
        self.admin.post(
            f"/properties/{prop['id']}/contacts", {"contact_id": contact["id"], "role": role}, 200
        )
        return {**contact, "property": prop}

    def landlord_of_property(self, email: str | None = None) -> dict[str, Any]:
        return self.linked_to_property("landlord", email=email)


class Platform:
    artifacts = ARTIFACTS
    full = FULL
    variant = VARIANT
    csrf = staticmethod(csrf)
    heading = staticmethod(heading)
    next_loopback = staticmethod(next_loopback)
    token_guess_limit = TOKEN_GUESS_LIMIT
    token_guess_window_seconds = TOKEN_GUESS_WINDOW_SECONDS
    throttle_account_burst = THROTTLE_ACCOUNT_BURST
    throttle_client_burst = THROTTLE_CLIENT_BURST

    def __init__(self, stack: Stack, config: StackConfig, sink: SinkClient, engine: Engine) -> None:
        self.stack = stack
        self.config = config
        self.sink = sink
        self.engine = engine
        self.secrets_seen: set[str] = set()

    @property
    def url(self) -> str:
        return self.config.gateway_url

    def client(self, source: str | None = None, **kwargs: Any) -> httpx.Client:
        """A browser-like client (no redirects followed) from its own loopback address."""
        transport = httpx.HTTPTransport(local_address=source or next_loopback())
        return httpx.Client(
            base_url=self.url,
            timeout=HTTP_TIMEOUT_SECONDS,
            follow_redirects=False,
            transport=transport,
            **kwargs,
        )

    def api_client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=HTTP_TIMEOUT_SECONDS)

    def new_organization(self, prefix: str = "Lettings ") -> Organization:
        """An organization made by the admin command, with its admin's API token."""
        email = random_email("admin")
        created = create_organization(self.config, random_name(prefix), email, ADMIN_PASSWORD)
        self.secrets_seen.add(created.api_token)
        organization_id = str(created.organization.id)
        admin = Staff(
            label="admin",
            role="admin",
            can_manage_portal_access=True,
            id=str(created.admin.id),
            email=email,
            password=ADMIN_PASSWORD,
            token=created.api_token,
            organization_id=organization_id,
            api=self.api_client(created.api_token),
        )
        return Organization(organization_id, created.organization.name, admin, {"admin": admin})

    def add_staff(self, org: Organization, role: str, can_manage_portal_access: bool) -> Staff:
        """A staff member added by the admin, with a console password and an API token.

        The staff API has no way to issue a token to anyone but an organization's first admin, so
        the token is written straight into the contacts service's table, as that service would.
        """
        label = f"{role}{'+portal' if can_manage_portal_access else ''}"
        email = random_email(label.replace("+", "-"))
        member = org.admin.post(
            "/staff",
            {
                "email": email,
                "name": f"{role.capitalize()} Person",
                "role": role,
                "can_manage_portal_access": can_manage_portal_access,
                "password": PASSWORD,
            },
        )
        token = "pat_" + secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO contacts.staff_api_tokens (id, staff_member_id, token_hash, created_at) "
                    "VALUES (:id, :staff, :hash, now())"
                ),
                {"id": uuid.uuid4(), "staff": member["id"], "hash": digest(token)},
            )
        self.secrets_seen.add(token)
        staff = Staff(
            label=label,
            role=role,
            can_manage_portal_access=can_manage_portal_access,
            id=member["id"],
            email=email,
            password=PASSWORD,
            token=token,
            organization_id=org.id,
            api=self.api_client(token),
        )
        org.staff[label] = staff
        return staff

    def console(self, staff: Staff) -> httpx.Client:
        """The staff member signed in to the console (one client per staff member)."""
        if staff._console is None:
            browser = self.client()
            form = browser.get("/console/login")
            signed_in = browser.post(
                "/console/login",
                data={"csrf_token": csrf(form), "email": staff.email, "password": staff.password},
            )
            assert signed_in.status_code == 303, signed_in.text
            staff._console = browser
        return staff._console

    def link_in_email(self, to: str, kind: str = "invite", count: int = 1) -> str:
        return emailed_link(self.sink, to, kind, count, self.secrets_seen)

    def path_of(self, link: str) -> str:
        assert link.startswith(self.config.public_base_url + "/"), link
        return link[len(self.config.public_base_url) :]

    def accept(self, link: str, password: str = PASSWORD) -> httpx.Client:
        """Open an invitation link and create the account, or join it to the existing one: the
        person's browser, signed in."""
        person = self.client()
        path = self.path_of(link)
        page = person.get(path)
        token = path.rsplit("/", 1)[1]
        if heading(page) == "You already have a portal account":
            answer = person.post(
                "/invite/join", data={"csrf_token": csrf(page), "token": token, "password": password}
            )
        else:
            assert heading(page) == "Create Your Portal Account", page.text
            answer = person.post(
                "/invite/accept",
                data={
                    "csrf_token": csrf(page),
                    "token": token,
                    "password": password,
                    "password_confirmation": password,
                },
            )
        assert (answer.status_code, answer.headers.get("location")) == (303, "/portal"), answer.text
        return person

    def invite_and_accept(self, org: Organization, contact: dict[str, Any], count: int = 1) -> httpx.Client:
        org.admin.post(f"/contacts/{contact['id']}/portal-invitations")
        return self.accept(self.link_in_email(contact["email"], count=count))


@pytest.fixture(scope="package")
def platform() -> Iterator[Platform]:
    log_dir = ARTIFACTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    with isolated("portal_hostile") as servers:
        config = servers.stack_config(
            {
                "ENVIRONMENT": "test",
                "EVENT_RETRY_DELAYS": "[0.5, 1.0]",
                "TOKEN_GUESS_LIMIT": str(TOKEN_GUESS_LIMIT),
                "TOKEN_GUESS_WINDOW_SECONDS": str(TOKEN_GUESS_WINDOW_SECONDS),
                "THROTTLE_ACCOUNT_BURST": str(THROTTLE_ACCOUNT_BURST),
                "THROTTLE_CLIENT_BURST": str(THROTTLE_CLIENT_BURST),
                # The matrix resends invitations: a second's cooldown instead of a minute's.
                "RESEND_COOLDOWN_SECONDS": "1",
            }
        )
        stack = Stack(config, log_dir)
        engine = create_engine(CommonSettings(database_url=config.database_url).database_url, pool_size=2)
        platform = Platform(stack, config, SinkClient(config.mail_url), engine)
        try:
            prepare(config.database_url, config.amqp_uri, (0.5, 1.0), say=lambda _: None)
            stack.start()
            stack.wait_ready(timeout=120)
            yield platform
        finally:
            stack.stop()
            engine.dispose()
    leaked = secrets_in_logs(log_dir, platform.secrets_seen)
    assert not leaked, f"tokens or links found in process logs: {leaked}"
