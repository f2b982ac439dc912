"""Hostile bodies and headers against the running platform: oversized, deeply nested and
non-UTF-8 bodies are refused with a 4xx and the error body, and change nothing; a forged Host
header changes no link and no redirect."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.testing.helpers import random_email

EVIL = "evil.example"
FORGED = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/x"}


@pytest.fixture(scope="module")
def org(platform: Any) -> Any:
    return platform.new_organization("Hostile bodies ")


def _contact(**extra: Any) -> dict[str, Any]:
    return {"type": "tenant", "first_name": "Tess", "last_name": "Tenant", "email": random_email(), **extra}


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


BODIES = {
    # 4xx and the error code each must get.
    "declared over the limit": (b'{"first_name": "' + b"A" * 70_000 + b'"}', 413, "body_too_large"),
    "nested 60,000 deep": (b"[" * 60_000 + b"]" * 60_000, 413, "body_too_large"),
    "nested 30,000 deep (under the limit)": (b"[" * 30_000 + b"]" * 30_000, 400, "malformed_json"),
    "objects nested 10,000 deep": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400, "malformed_json"),
    "nested 500 deep in a field": (
        json.dumps(_contact(first_name=_nested(500))).encode(),
        422,
        "invalid_input",
    ),
    "latin-1": ('{"type": "tenant", "first_name": "Zoë"}'.encode("latin-1"), 400, "malformed_json"),
    "utf-16": (json.dumps(_contact()).encode("utf-16"), 400, "malformed_json"),
    "utf-32": (json.dumps(_contact()).encode("utf-32"), 400, "malformed_json"),
    "lone surrogate escape": (json.dumps(_contact(first_name="\ud800")).encode(), 422, "invalid_input"),
    "NUL in a name": (json.dumps(_contact(first_name="Te\u0000ss")).encode(), 422, "invalid_input"),
    "a 5,000-digit number": (
        b'{"type": "tenant", "first_name": 1' + b"0" * 5000 + b"}",
        400,
        "malformed_json",
    ),
    "NaN": (b'{"type": "tenant", "first_name": NaN}', 422, "invalid_input"),
    "duplicate keys smuggling a field": (
        b'{"type": "tenant", "first_name": "A", "last_name": "B", "email": "a@example.com", "email": 7}',
        422,
        "invalid_input",
    ),
}


def _count(org: Any) -> int:
    return org.admin.get("/contacts", include_archived=True)["total"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(BODIES))
def test_a_hostile_json_body_is_refused_with_the_error_body_and_changes_nothing(org, name):
    body, status, code = BODIES[name]
    before = _count(org)
    response = org.admin.api.post("/contacts", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert _count(org) == before


def test_a_streamed_oversized_body_is_refused_before_it_is_read(org):
    before = _count(org)

    def chunks() -> Any:
        yield b'{"first_name": "'
        for _ in range(20):
            yield b"A" * 8192

    response = org.admin.api.post("/contacts", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert _count(org) == before


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", json.dumps(_contact()).encode(), 422),
        ("application/x-www-form-urlencoded", b"type=tenant&first_name=A", 422),
        ("application/json; charset=utf-16", json.dumps(_contact()).encode("utf-16"), 400),
    ],
)
def test_a_body_that_is_not_json_is_refused(org, content_type, body, status):
    before = _count(org)
    response = org.admin.api.post("/contacts", content=body, headers={"content-type": content_type})
    assert response.status_code == status, response.text[:300]
    assert response.json()["error"]["code"]
    assert _count(org) == before


def test_nul_in_a_query_or_a_form_is_refused_before_any_service(platform, org):
    """PostgreSQL cannot store NUL: it used to reach a service and come back as a 500."""
    search = org.admin.api.get("/contacts", params={"q": "Te\x00ss"})
    assert search.status_code == 422
    browser = platform.client()
    token = platform.csrf(browser.get("/forgot"))
    forgot = browser.post("/forgot", data={"csrf_token": token, "email": "a\x00@example.com"})
    assert forgot.status_code == 422
    login = browser.post(
        "/login", data={"csrf_token": token, "email": "a@example.com", "password": "pass\x00word"}
    )
    assert login.status_code == 422


def test_page_forms_refuse_oversized_and_non_utf8_bodies(platform):
    browser = platform.client()
    token = platform.csrf(browser.get("/login"))
    big = browser.post("/login", data={"csrf_token": token, "email": "a" * 70_000, "password": "x"})
    assert big.status_code == 413
    latin = browser.post(
        "/login",
        content=f"csrf_token={token}&email=zo\xeb@example.com&password=x".encode("latin-1"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert latin.status_code == 400
    assert browser.get("/login").status_code == 200


# --- a forged Host header ---------------------------------------------------------------------


def test_the_invitation_email_link_ignores_a_forged_host(platform, org):
    tenant = org.tenant_with_lease()
    sent = org.admin.api.post(f"/contacts/{tenant['id']}/portal-invitations", headers=FORGED)
    assert sent.status_code == 201
    link = platform.link_in_email(tenant["email"])
    assert link.startswith(platform.config.public_base_url + "/invite/")
    [email] = platform.sink.messages(to=tenant["email"])
    assert EVIL not in email["text"] + email["html"]


def test_the_reset_email_link_ignores_a_forged_host(platform, org):
    tenant = org.tenant_with_lease()
    org.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    platform.accept(platform.link_in_email(tenant["email"]))
    browser = platform.client(headers=FORGED)
    form = browser.get("/forgot")
    assert (
        browser.post(
            "/forgot", data={"csrf_token": platform.csrf(form), "email": tenant["email"]}
        ).status_code
        == 200
    )
    link = platform.link_in_email(tenant["email"], kind="reset", count=2)
    assert link.startswith(platform.config.public_base_url + "/reset/")


def test_redirects_are_relative_whatever_the_host(platform, org):
    """Every redirect the gateway makes, asked with a forged Host: a path on this site, never a URL
    built from the header (and a trailing slash is not redirected at all)."""
    tenant = org.tenant_with_lease()
    org.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    link = platform.link_in_email(tenant["email"])
    anonymous = platform.client(headers=FORGED)
    person = platform.client(headers=FORGED)
    page = person.get(platform.path_of(link))
    accepted = person.post(
        "/invite/accept",
        data={
            "csrf_token": platform.csrf(page),
            "token": platform.path_of(link).rsplit("/", 1)[1],
            "password": "violet lanterns drift south",
            "password_confirmation": "violet lanterns drift south",
        },
    )
    staff = platform.client(headers=FORGED)
    form = staff.get("/console/login")
    signed_in = staff.post(
        "/console/login",
        data={"csrf_token": platform.csrf(form), "email": org.admin.email, "password": org.admin.password},
    )
    redirects = {
        "accept": accepted,
        "/": anonymous.get("/"),
        "/portal anonymous": anonymous.get("/portal"),
        "/login signed in": person.get("/login"),
        "/console": anonymous.get("/console"),
        "/console/contacts anonymous": anonymous.get("/console/contacts"),
        "console login": signed_in,
        "/console/login signed in": staff.get("/console/login"),
        "logout": person.post("/logout", data={"csrf_token": platform.csrf(person.get("/portal"))}),
    }
    for name, response in redirects.items():
        location = response.headers.get("location", "")
        assert response.status_code == 303, (name, response.status_code)
        assert re.match(r"^/(?!/)", location) or location.startswith(platform.config.public_base_url), (
            name,
            location,
        )
        assert EVIL not in location, (name, location)
    bulk = org.admin.api.post(
        "/portal-invitations/bulk", json={"contact_ids": [org.contact()["id"]]}, headers=FORGED
    )
    assert bulk.status_code == 202 and bulk.headers["location"].startswith("/api/v1/")
    for path in ("/login/", "/portal/", "/console/contacts/", "/api/v1/contacts/"):
        slash = anonymous.get(path)
        assert slash.status_code == 404 and "location" not in slash.headers, path


def test_pages_never_mention_the_forged_host(platform):
    browser = platform.client(headers=FORGED)
    for path in ("/login", "/forgot", "/console/login", "/invite/" + "x" * 43, "/docs", "/openapi.json"):
        response = browser.get(path)
        assert EVIL not in response.text, path
