"""The gateway's guards against hostile clients, with the services replaced by a fake: the token
guessing throttle, the client address and the 429 of the credential forms, who may manage portal
access, input the contracts refuse, redirects that never follow the Host header. Against the real
services: tests/hostile."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings
from portal_gateway.throttle import FailureWindow
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts.common import StaffRole
from shared.contracts.errors import NotFound, RateLimited

TOKEN = "pat_" + "T" * 43
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 11, 21, tzinfo=UTC)
ORG = c.OrganizationView(id=uuid.uuid4(), name="Acme Lettings", active=True, created_at=NOW)
LIMIT = 3


def principal(role: StaffRole, can_manage_portal_access: bool) -> c.StaffPrincipal:
    return c.StaffPrincipal(
        organization=ORG,
        staff_member=c.StaffMemberView(
            id=uuid.uuid4(),
            organization_id=ORG.id,
            email="someone@example.com",
            name="Someone",
            role=role,
            can_manage_portal_access=can_manage_portal_access,
            active=True,
        ),
    )


class FakeRpc:
    connected = True

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {
            "authenticate_api_token": principal(StaffRole.ADMIN, True),
            "open_invitation": i.InvitationLanding(status=i.LinkStatus.UNKNOWN),
        }
        self.calls: list[str] = []
        self.requests: dict[str, Any] = {}

    async def call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        self.calls.append(method.name)
        self.requests[method.name] = request
        answer = self.answers.get(method.name)
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            raise AssertionError(f"the test gave no answer for {method.name}")
        return answer


@pytest.fixture
def rpc() -> FakeRpc:
    return FakeRpc()


@pytest.fixture
def app(rpc: FakeRpc) -> Any:
    settings = GatewaySettings(token_guess_limit=LIMIT, token_guess_window_seconds=60)
    return create_app(settings, rpc=rpc)  # type: ignore[arg-type]


@pytest.fixture
def client_from(app: Any) -> Any:
    """client_from(address): a client of the app from that address (the app started once each)."""
    opened: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = TestClient(app, client=(address, 40000), follow_redirects=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


# --- the sliding window -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_limit_failures_then_waits_for_the_oldest_to_age_out():
    clock = Clock()
    window = FailureWindow(limit=3, window=60, clock=clock)
    for step in range(3):
        clock.now = 1000.0 + step * 10
        assert window.begin("a") is not None
    assert window.begin("a") is None
    assert window.retry_after("a") == 40  # the first failure (t=1000) leaves at t=1060
    assert window.retry_after("b") is None and window.begin("b") is not None
    clock.now = 1060.0
    assert window.begin("a") is not None  # the oldest left the window: one more
    assert window.begin("a") is None


def test_a_success_gives_its_reservation_back_and_forgotten_keys_free_memory():
    clock = Clock()
    window = FailureWindow(limit=2, window=60, max_keys=2, clock=clock)
    for _ in range(10):
        at = window.begin("a")
        assert at is not None
        window.succeeded("a", at)
    assert len(window) == 0
    for key in ("a", "b", "c"):
        window.begin(key)
    assert len(window) == 2  # the least recently failing key ("a") was dropped
    clock.now += 61
    assert window.retry_after("b") is None and len(window) == 1


# --- the throttle in the app ------------------------------------------------------------------


def test_unknown_tokens_get_429_after_the_limit_for_that_client_only(client_from, rpc):
    guesser, bystander = client_from("10.0.0.1"), client_from("10.0.0.2")
    answers = [guesser.get(f"/invite/{'x' * 43}").status_code for _ in range(LIMIT + 2)]
    assert answers == [404] * LIMIT + [429, 429]
    refused = guesser.get("/reset/" + "y" * 43)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["referrer-policy"] == "no-referrer"
    assert rpc.calls.count("open_invitation") == LIMIT  # refused guesses reach no service
    assert bystander.get(f"/invite/{'x' * 43}").status_code == 404


def test_a_usable_link_does_not_count(client_from, rpc):
    rpc.answers["open_invitation"] = i.InvitationLanding(
        status=i.LinkStatus.USABLE,
        email="p@example.com",
        organization_name="Acme",
        display_name="P",
        account_exists=False,
    )
    person = client_from("10.0.0.3")
    assert [person.get(f"/invite/{'z' * 43}").status_code for _ in range(LIMIT + 2)] == [200] * (LIMIT + 2)


def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(client_from):
    guesser = client_from("10.0.0.4")
    for n in range(LIMIT):
        guesser.get(f"/invite/{'x' * 43}", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    spoofed = guesser.get(f"/invite/{'x' * 43}", headers={"X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status_code == 429


# --- the credential forms: the client the services count, and their 429 ----------------------

CREDENTIAL_FORMS = {
    "/login": ("login", {"email": "p@example.com", "password": "x"}),
    "/console/login": ("staff_login", {"email": "s@example.com", "password": "x"}),
    "/forgot": ("request_password_reset", {"email": "p@example.com"}),
    "/reset": ("reset_password", {"token": "t" * 43, "password": "x", "password_confirmation": "x"}),
    "/invite/accept": (
        "accept_invitation",
        {"token": "t" * 43, "password": "x", "password_confirmation": "x"},
    ),
    "/invite/join": ("accept_invitation_as_account", {"token": "t" * 43, "password": "x"}),
}


@pytest.mark.parametrize("path", CREDENTIAL_FORMS)
def test_credential_forms_name_the_client_and_answer_429_with_retry_after(client_from, rpc, path):
    """The services count attempts per client address: the gateway names the client as uvicorn
    gives it (an X-Forwarded-For from a peer that is no trusted proxy changes nothing), and the
    services' refusal is a 429 with Retry-After on every form."""
    method, form = CREDENTIAL_FORMS[path]
    rpc.answers[method] = RateLimited("Too many attempts. Try again in 2 minute(s).", {"retry_after": 90})
    browser = client_from("10.0.4.1")
    token = browser.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = browser.post(
        path, data={"csrf_token": token, **form}, headers={"X-Forwarded-For": "192.0.2.9"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "90"
    assert "Try again in 2 minute(s)." in response.text
    assert rpc.requests[method].client == "10.0.4.1"


# --- who may manage portal access -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        (StaffRole.VIEWER, True),
        (StaffRole.VIEWER, False),
        (StaffRole.AGENT, False),
        (StaffRole.MANAGER, False),
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/contacts/{id}/portal-invitations", None),
        ("POST", "/api/v1/contacts/{id}/portal-invitations/resend", None),
        ("POST", "/api/v1/contacts/{id}/portal-access/revoke", {}),
        ("POST", "/api/v1/portal-invitations/bulk", {"contact_ids": ["{id}"]}),
    ],
)
def test_portal_access_writes_need_the_permission(client_from, rpc, role, granted, method, path, body):
    rpc.answers["authenticate_api_token"] = principal(role, can_manage_portal_access=granted)
    contact_id = str(uuid.uuid4())
    json_body = {k: [contact_id] for k in body} if body else body
    response = client_from("10.0.1.1").request(
        method, path.format(id=contact_id), json=json_body, headers=AUTH
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert rpc.calls == ["authenticate_api_token"]


def test_a_viewer_cannot_add_staff(client_from, rpc):
    rpc.answers["authenticate_api_token"] = principal(StaffRole.VIEWER, False)
    response = client_from("10.0.1.2").post(
        "/api/v1/staff", json={"email": "new@example.com", "name": "New"}, headers=AUTH
    )
    assert response.status_code == 403
    assert rpc.calls == ["authenticate_api_token"]


def test_portal_access_of_another_organizations_contact_is_404(client_from, rpc):
    rpc.answers["get_contact"] = NotFound("no such contact")
    rpc.answers["get_portal_access"] = i.PortalAccessList(items=[])
    response = client_from("10.0.1.3").get(f"/api/v1/contacts/{uuid.uuid4()}/portal-access", headers=AUTH)
    assert response.status_code == 404


# --- input the contracts refuse is a 422, never a 500 -----------------------------------------


def test_a_blank_search_is_422(client_from, rpc):
    response = client_from("10.0.2.1").get("/api/v1/contacts", params={"q": "\u00a0"}, headers=AUTH)
    assert response.status_code == 422
    assert "list_contacts" not in rpc.calls


@pytest.mark.parametrize(
    "lease",
    [
        {"start_date": "2026-01-01", "end_date": "2025-01-01"},
        {"start_date": "2026-01-01", "tenant_contact_ids": ["twice", "twice"]},
    ],
)
def test_a_lease_the_contract_refuses_is_422(client_from, rpc, lease):
    twice = str(uuid.uuid4())
    body = {"unit_id": str(uuid.uuid4()), "tenant_contact_ids": [str(uuid.uuid4())], **lease}
    body["tenant_contact_ids"] = [twice if x == "twice" else x for x in body["tenant_contact_ids"]]
    response = client_from("10.0.2.2").post("/api/v1/leases", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert "create_lease" not in rpc.calls


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,
        b'{"type": "tenant", "first_name": "\xff\xfe"}',
        b'{"a": 1' + b"0" * 5000 + b"}",
        '{"type": "tenant", "first_name": "A", "last_name": "B", "email": "a@example.com"}'.encode("utf-16"),
    ],
    ids=["deeply nested", "latin-1", "a 5000-digit number", "utf-16"],
)
def test_unreadable_json_is_400(client_from, rpc, body):
    response = client_from("10.0.2.3").post(
        "/api/v1/contacts", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert "create_contact" not in rpc.calls


# --- the Host header builds nothing -----------------------------------------------------------


def test_a_trailing_slash_is_not_redirected_to_the_host_header(client_from):
    response = client_from("10.0.3.1").get("/login/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers


def test_a_form_that_is_not_utf8_is_400_and_reaches_no_service(client_from, rpc):
    browser = client_from("10.0.2.4")
    page = browser.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = browser.post(
        "/login",
        content=b"csrf_token=" + token.encode() + b"&email=\xff\xfe@example.com&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "login" not in rpc.calls


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("GET", "/api/v1/contacts?q=Te%00ss", None, None),
        ("POST", "/api/v1/contacts", b'{"type": "tenant", "first_name": "Te\\u0000ss"}', "application/json"),
        ("POST", "/api/v1/contacts", b'{"first_name": "\\\\\\u0000"}', "application/json"),
        ("POST", "/forgot", b"csrf_token=x&email=a%00@example.com", "application/x-www-form-urlencoded"),
    ],
    ids=["query", "json", "json after an escaped backslash", "form"],
)
def test_nul_in_text_is_422_and_reaches_no_service(client_from, rpc, method, path, body, content_type):
    headers = {**AUTH, "content-type": content_type} if content_type else AUTH
    response = client_from("10.0.2.5").request(method, path, content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["message"] == "must not contain NUL characters"
    assert rpc.calls == []


def test_an_escaped_backslash_before_u0000_is_not_nul(client_from, rpc):
    body = b'{"type": "tenant", "first_name": "\\\\u0000", "last_name": "B", "email": "a@example.com"}'
    rpc.answers["create_contact"] = NotFound("reached the service")
    response = client_from("10.0.2.6").post(
        "/api/v1/contacts", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 404
    assert "create_contact" in rpc.calls


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/v1/contacts"), ("PATCH", f"/api/v1/contacts/{uuid.uuid4()}")]
)
def test_a_schema_version_that_is_not_an_integer_is_422(client_from, rpc, method, path):
    body = {"type": "tenant", "first_name": "A", "last_name": "B", "email": "a@example.com"}
    response = client_from("10.0.2.7").request(
        method, path, json={**body, "schema_version": False}, headers=AUTH
    )
    assert response.status_code == 422
    assert rpc.calls == ["authenticate_api_token"]
