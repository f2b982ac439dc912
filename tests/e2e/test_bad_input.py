"""Bad input to the staff API: a 4xx with a clear message, and nothing changes."""

from __future__ import annotations

import pytest

from shared.testing.helpers import random_email


@pytest.fixture(scope="module")
def staff(platform):
    return platform.new_organization()


def contact_count(staff) -> int:
    return staff.get("/contacts", include_archived=True)["total"]


def valid_contact() -> dict:
    return {"type": "tenant", "first_name": "Tess", "last_name": "Tenant", "email": random_email()}


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b'{"type": "tenant", "first_name": ', 400, "malformed_json", None),
        (b"not json at all", 400, "malformed_json", None),
        (
            b'{"type": "tenant", "first_name": "A", "last_name": "B", "email": "a@example.com", '
            b'"is_admin": true}',
            422,
            "invalid_input",
            "body.is_admin",
        ),
        (
            b'{"type": "tenant", "first_name": ["A"], "last_name": "B", "email": "a@example.com"}',
            422,
            "invalid_input",
            "body.first_name",
        ),
        (
            b'{"type": "wizard", "first_name": "A", "last_name": "B", "email": "a@example.com"}',
            422,
            "invalid_input",
            "body.type",
        ),
        (
            b'{"type": "tenant", "first_name": "A", "last_name": "B", "email": "a@@example"}',
            422,
            "invalid_input",
            "body.email",
        ),
        (
            b'{"type": "tenant", "first_name": "", "last_name": "B", "email": "a@example.com"}',
            422,
            "invalid_input",
            "body.first_name",
        ),
        (b"[]", 422, "invalid_input", "body"),
    ],
)
def test_bad_contact_bodies_are_refused_clearly(staff, body, status, code, field):
    before = contact_count(staff)
    response = staff.api.post("/contacts", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if field:
        assert field in [e["field"] for e in error["details"]["errors"]]
    assert contact_count(staff) == before


def test_a_duplicate_email_is_refused_and_names_the_existing_contact(staff):
    first = staff.post("/contacts", valid_contact())
    before = contact_count(staff)
    again = staff.api.post("/contacts", json={**valid_contact(), "email": first["email"].upper()})
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate_contact"
    assert first["display_name"] in error["message"]
    assert error["details"]["existing_contact_id"] == first["id"]
    assert contact_count(staff) == before


def test_an_oversized_body_is_refused_before_it_is_read(staff, platform):
    before = contact_count(staff)
    big = b'{"type": "tenant", "first_name": "' + b"A" * 200_000 + b'"}'
    declared = staff.api.post("/contacts", content=big, headers={"content-type": "application/json"})

    def chunks():
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = staff.api.post("/contacts", content=chunks(), headers={"content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"
    assert contact_count(staff) == before


def test_bad_query_parameters_and_ids_are_clear(staff):
    assert staff.api.get("/contacts", params={"limit": 5000}).status_code == 422
    assert staff.api.get("/contacts", params={"type": "wizard"}).status_code == 422
    not_a_uuid = staff.api.get("/contacts/not-a-uuid")
    assert not_a_uuid.status_code == 422
    assert not_a_uuid.json()["error"]["details"]["errors"][0]["field"] == "path.contact_id"


def test_calls_without_a_valid_token_are_unauthenticated(platform):
    import httpx

    api = httpx.Client(base_url=f"{platform.url}/api/v1", timeout=10)
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer pat_" + "A" * 43},
    ):
        response = api.get("/contacts", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["message"]
