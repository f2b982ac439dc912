"""The portal page asks contacts and properties while the session is being checked, once it knows
what the session looked at, shows nothing the check did not confirm, and keeps organization names
for a while (docs/performance.md)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import InvalidCredentials

NOW = datetime(2026, 11, 21, tzinfo=UTC)
SESSION = "s" * 43
SESSION_CHECK_SECONDS = 0.2


def membership(name: str) -> tuple[i.Membership, c.OrganizationView, c.ContactView]:
    org = c.OrganizationView(id=uuid.uuid4(), name=f"{name} Lettings", active=True, created_at=NOW)
    contact = c.ContactView(
        id=uuid.uuid4(),
        organization_id=org.id,
        type=ContactType.TENANT,
        first_name=name,
        last_name="Tenant",
        display_name=f"{name} Tenant",
        email="tess@example.com",
        phone=None,
        locale="en-GB",
        archived_at=None,
        created_at=NOW,
        updated_at=NOW,
    )
    grant = i.Membership(
        grant_id=uuid.uuid4(),
        organization_id=org.id,
        contact_id=contact.id,
        contact_type=ContactType.TENANT,
        granted_at=NOW,
    )
    return grant, org, contact


class PageRpc:
    """The four services' answers; the session check takes a while, and the log says in which
    order calls started and the session check ended."""

    connected = True

    def __init__(self, *memberships: tuple[i.Membership, c.OrganizationView, c.ContactView]) -> None:
        self.memberships = memberships
        self.session_valid = True
        self.log: list[str] = []

    async def call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        self.log.append(method.name)
        if method.name == "check_session":
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            self.log.append("session checked")
            if not self.session_valid:
                raise InvalidCredentials("Your session has ended. Sign in again.")
            return i.PortalSession(
                account_id=uuid.uuid4(),
                email="tess@example.com",
                expires_at=NOW + timedelta(days=1),
                memberships=[grant for grant, _, _ in self.memberships],
            )
        if method.name == "get_contact":
            return next(contact for _, _, contact in self.memberships if contact.id == request.contact_id)
        if method.name == "get_organization":
            return next(org for _, org, _ in self.memberships if org.id == request.organization_id)
        if method.name == "get_contact_links":
            return p.ContactLinks(contact_id=request.contact_id, leases=[], properties=[])
        raise AssertionError(f"unexpected call {method.name}")

    def reads_before_the_session_was_checked(self) -> list[str]:
        return self.log[: self.log.index("session checked")][1:]


@pytest.fixture
def tess() -> tuple[i.Membership, c.OrganizationView, c.ContactView]:
    return membership("Tess")


def portal(rpc: PageRpc) -> TestClient:
    app = create_app(GatewaySettings(), rpc=rpc)  # type: ignore[arg-type]
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    client.cookies.set("portal_session", SESSION)
    return client


def test_a_first_visit_checks_the_session_then_asks_the_services(tess):
    rpc = PageRpc(tess)
    with portal(rpc) as browser:
        page = browser.get("/portal")
    assert page.status_code == 200
    assert "Welcome, Tess Tenant" in page.text
    assert rpc.log[:2] == ["check_session", "session checked"]
    assert sorted(rpc.log[2:]) == ["get_contact", "get_contact_links", "get_organization"]


def test_a_later_visit_asks_the_services_while_the_session_is_checked(tess):
    rpc = PageRpc(tess)
    with portal(rpc) as browser:
        browser.get("/portal")
        rpc.log.clear()
        page = browser.get("/portal")
    assert page.status_code == 200
    assert "Welcome, Tess Tenant" in page.text
    # The organization's name is kept from the first visit; the rest is asked for at once.
    assert sorted(rpc.reads_before_the_session_was_checked()) == ["get_contact", "get_contact_links"]
    assert len(rpc.log) == 4  # the early answers were used, not asked for again


def test_a_session_that_ended_sees_nothing_of_what_was_read_early(tess):
    rpc = PageRpc(tess)
    with portal(rpc) as browser:
        browser.get("/portal")
        rpc.session_valid = False
        page = browser.get("/portal")
        assert (page.status_code, page.headers["location"]) == (303, "/login")
        assert "Tess" not in page.text
        rpc.log.clear()
        browser.get("/portal")
    assert rpc.log == ["check_session", "session checked"]  # forgotten: nothing is read early again


def test_another_membership_than_last_time_is_read_after_the_check(tess):
    other = membership("Olga")
    rpc = PageRpc(tess, other)
    with portal(rpc) as browser:
        browser.get("/portal")
        rpc.log.clear()
        page = browser.get(f"/portal?m={other[0].grant_id}")
    assert "Welcome, Olga Tenant" in page.text
    assert rpc.log[:2] == ["check_session", "session checked"]
