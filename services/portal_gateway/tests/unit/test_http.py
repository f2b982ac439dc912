"""The gateway's own behaviour over HTTP, with the services replaced by a fake RPC backend: the error
table, authentication, body limits, CSRF, headers, the access log and readiness. The real services
are exercised by tests/e2e."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal_gateway.app import create_app
from portal_gateway.errors import STATUS_BY_ERROR, status_for
from portal_gateway.settings import GatewaySettings
from shared.contracts import contacts as c
from shared.contracts.common import StaffRole
from shared.contracts.errors import (
    OUTAGES,
    REFUSALS,
    NotFound,
    RateLimited,
    RemoteFailure,
    ServiceError,
    ServiceUnavailable,
)

TOKEN = "pat_" + "T" * 43
NOW = datetime(2026, 11, 21, tzinfo=UTC)
ORG = c.OrganizationView(id=uuid.uuid4(), name="Acme Lettings", active=True, created_at=NOW)
PRINCIPAL = c.StaffPrincipal(
    organization=ORG,
    staff_member=c.StaffMemberView(
        id=uuid.uuid4(),
        organization_id=ORG.id,
        email="ada@example.com",
        name="Ada",
        role=StaffRole.ADMIN,
        can_manage_portal_access=True,
        active=True,
    ),
)


class FakeRpc:
    """Answers by method name with a value, an exception to raise, or a function of the request."""

    connected = True

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {"authenticate_api_token": PRINCIPAL}
        self.calls: list[str] = []

    async def call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        self.calls.append(method.name if method.name != "health" else f"health:{method.service}")
        answer = self.answers.get(method.name)
        if callable(answer) and not isinstance(answer, type):
            answer = answer(method, request)
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            raise AssertionError(f"the test gave no answer for {method.name}")
        return answer


@pytest.fixture
def rpc() -> FakeRpc:
    return FakeRpc()


@pytest.fixture
def client(rpc: FakeRpc):
    app = create_app(GatewaySettings(max_body_bytes=4096), rpc=rpc)  # type: ignore[arg-type]
    with TestClient(app, base_url="http://testserver") as client:
        yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("error_class", sorted(STATUS_BY_ERROR, key=lambda cls: cls.__name__))
def test_every_contract_error_has_its_status_and_code(client, rpc, error_class):
    details = {"retry_after": 7} if error_class is RateLimited else {"reason": "x"}
    rpc.answers["get_contact"] = error_class("a sentence for a person", details)

    response = client.get(f"/api/v1/contacts/{uuid.uuid4()}", headers=AUTH)

    assert response.status_code == STATUS_BY_ERROR[error_class]
    assert response.json()["error"]["code"] == error_class.code
    assert response.json()["error"]["message"] == "a sentence for a person"
    if error_class is RateLimited:
        assert response.headers["retry-after"] == "7"


def test_a_service_bug_is_a_500_that_tells_nothing_inside(client, rpc):
    rpc.answers["get_contact"] = RemoteFailure("KeyError", "'secret_column'")
    response = client.get(f"/api/v1/contacts/{uuid.uuid4()}", headers=AUTH)
    assert response.status_code == 500
    assert "secret_column" not in response.text
    assert response.json()["error"]["code"] == "internal_error"


def test_a_broker_outage_is_a_503_not_a_500(client, rpc):
    rpc.answers["authenticate_api_token"] = ServiceUnavailable("the message broker is unreachable")
    response = client.get("/api/v1/contacts", headers=AUTH)
    assert response.status_code == 503


def test_every_refusal_is_a_4xx_and_every_outage_a_5xx():
    # The services log a refusal as one INFO line (shared.logs): it must be what a client gets a 4xx for.
    for cls in STATUS_BY_ERROR:
        assert (STATUS_BY_ERROR[cls] < 500) == issubclass(cls, REFUSALS), cls.__name__
    for cls in REFUSALS:
        assert 400 <= status_for(cls("a sentence")) < 500, cls.__name__
    for cls in OUTAGES:
        assert status_for(cls("a sentence")) >= 500, cls.__name__


def test_a_refusal_is_not_logged_here_and_a_service_bug_is_one_line_without_its_sql(client, rpc, caplog):
    contact_id = uuid.uuid4()
    rpc.answers["get_contact"] = NotFound("no contact for ada@example.com")
    with caplog.at_level(logging.INFO, logger="portal_gateway.errors"):
        assert client.get(f"/api/v1/contacts/{contact_id}", headers=AUTH).status_code == 404
    assert [r for r in caplog.records if r.name == "portal_gateway.errors"] == []

    rpc.answers["get_contact"] = RemoteFailure(
        "IntegrityError",
        "(psycopg.errors.UniqueViolation) duplicate key value\n"
        "[SQL: SELECT contacts.email FROM contacts]\n[parameters: {'email': 'ada@example.com'}]",
    )
    with caplog.at_level(logging.INFO, logger="portal_gateway.errors"):
        assert client.get(f"/api/v1/contacts/{contact_id}", headers=AUTH).status_code == 500
    [line] = [r for r in caplog.records if r.name == "portal_gateway.errors"]
    assert line.levelno == logging.ERROR
    assert line.getMessage() == (
        "GET /contacts/{contact_id}: a service failed: "
        "IntegrityError: (psycopg.errors.UniqueViolation) duplicate key value"
    )
    assert line.exc_info is None
    assert "ada@example.com" not in caplog.text and str(contact_id) not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Token abc"}, {"Authorization": "Bearer a b c"}],
)
def test_no_or_malformed_credentials_are_refused_without_asking_a_service(client, rpc, headers):
    response = client.get("/api/v1/contacts", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert rpc.calls == []


def test_malformed_json_is_400_and_reaches_no_service(client, rpc):
    response = client.post(
        "/api/v1/contacts", content=b'{"type": ', headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert "create_contact" not in rpc.calls


def test_validation_errors_name_fields_and_never_echo_values(client, rpc):
    body = {
        "type": "tenant",
        "first_name": "A",
        "last_name": "B",
        "email": "secret-value@@x",
        "password": "hunter2",
    }
    response = client.post("/api/v1/contacts", json=body, headers=AUTH)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["details"]["errors"]}
    assert fields == {"body.email", "body.password"}
    assert "secret-value" not in response.text and "hunter2" not in response.text
    assert "create_contact" not in rpc.calls


def test_an_oversized_body_is_413_declared_or_streamed(client, rpc):
    big = b"x" * 5000
    assert client.post("/api/v1/contacts", content=big, headers=AUTH).status_code == 413
    streamed = client.post("/api/v1/contacts", content=iter([big[:3000], big[3000:]]), headers=AUTH)
    assert streamed.status_code == 413
    assert rpc.calls == []


def test_pages_carry_security_headers_and_a_csrf_cookie(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"]
    assert "portal_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_form_post_without_the_csrf_token_is_403_and_reaches_no_service(client, rpc):
    client.get("/login")  # gets the cookie
    response = client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert rpc.calls == []


def test_a_malformed_invitation_token_is_an_unknown_link_without_a_service_call(client, rpc):
    response = client.get("/invite/short")
    assert response.status_code == 404
    assert "This link is not valid" in response.text
    assert rpc.calls == []


def test_the_access_log_names_the_route_never_the_token(client, rpc, caplog):
    from shared.contracts import invitations as i

    token = "S" * 43
    rpc.answers["open_invitation"] = i.InvitationLanding(status=i.LinkStatus.EXPIRED)
    with caplog.at_level(logging.INFO, logger="portal_gateway.access"):
        response = client.get(f"/invite/{token}")
    assert response.status_code == 410
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "GET /invite/{token} 410" in caplog.text
    assert token not in caplog.text


def test_readyz_names_the_service_that_does_not_answer(client, rpc):
    from shared.health import Health

    def health(method: Any, request: Any) -> Any:
        if method.service == "notifications":
            return ServiceUnavailable("the notifications service is not running")
        return Health(service=method.service, database=True)

    rpc.answers["health"] = health
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "broker": "ok",
        "contacts": "ok",
        "properties": "ok",
        "invitations": "ok",
        "notifications": "the notifications service is not running",
    }
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_openapi_document_lists_the_staff_api(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/contacts/{contact_id}/portal-invitations" in spec["paths"]
    assert not any(path.startswith(("/invite", "/console")) for path in spec["paths"])
    assert client.get("/docs").status_code == 200


def test_contract_errors_all_have_a_status():
    unmapped = [cls.__name__ for cls in ServiceError.__subclasses__() if cls not in STATUS_BY_ERROR]
    assert unmapped == []


def test_a_bulk_invitation_may_list_ten_thousand_contacts_and_no_more(client, rpc):
    from shared.contracts import invitations as i

    def started(method: Any, request: Any) -> Any:
        return i.BulkInvitationView(
            id=uuid.uuid4(),
            organization_id=ORG.id,
            created_by_staff_member_id=PRINCIPAL.staff_member.id,
            created_at=NOW,
            finished_at=None,
            total=len(request.contact_ids),
            processed=0,
            invited=0,
            skipped=0,
            skipped_reasons={},
            delivered=0,
            bounced=0,
            accepted=0,
        )

    rpc.answers["start_bulk_invitation"] = started
    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    accepted = client.post("/api/v1/portal-invitations/bulk", json={"contact_ids": ids}, headers=AUTH)
    assert accepted.status_code == 202, accepted.text[:300]
    assert accepted.json()["total"] == 10_000
    too_many = client.post(
        "/api/v1/portal-invitations/bulk", json={"contact_ids": [*ids, str(uuid.uuid4())]}, headers=AUTH
    )
    assert too_many.status_code == 422
    # The larger limit is for this route only.
    assert client.post("/api/v1/contacts", json={"x": "y" * 100_000}, headers=AUTH).status_code == 413
