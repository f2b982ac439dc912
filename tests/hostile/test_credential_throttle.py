"""Credential routes resist strangers, on the whole platform: the services count attempts per
client address (as the gateway's uvicorn gives it) and per (email, client), so one client that
tries many emails is refused with 429 and Retry-After, while the person whose email it tried
signs in from their own client. The bounds are the services' defaults (conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.testing.helpers import random_email

PASSWORD = "violet lanterns drift south"  # what `platform.accept` sets (conftest.py)
WRONG = "not the password at all"


def _sign_in(platform: Any, browser: httpx.Client, email: str, password: str, path: str = "/login") -> int:
    token = platform.csrf(browser.get(path))
    return browser.post(path, data={"csrf_token": token, "email": email, "password": password}).status_code


def _retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.status_code
    return int(response.headers["retry-after"])


def test_two_hundred_failed_sign_ins_from_one_client_get_429_and_the_owner_still_signs_in(platform):
    org = platform.new_organization("Throttled ")
    tenant = org.tenant_with_lease()
    platform.invite_and_accept(org, tenant)
    stranger = platform.client()
    token = platform.csrf(stranger.get("/login"))

    # First the victim's email, then a new email each time: 200 wrong passwords from one client.
    emails = [tenant["email"]] * platform.throttle_account_burst
    emails += [random_email("guess") for _ in range(200 - len(emails))]
    answers = [
        stranger.post("/login", data={"csrf_token": token, "email": email, "password": WRONG})
        for email in emails
    ]

    statuses = [answer.status_code for answer in answers]
    burst = platform.throttle_client_burst
    assert statuses == [401] * burst + [429] * (200 - burst), statuses
    waits = {_retry_after(answer) for answer in answers[burst:]}
    assert all(wait > 0 for wait in waits), waits
    assert "Too many attempts" in answers[-1].text
    # That client's other credential forms are refused too: forgot password, say.
    forgot = stranger.post("/forgot", data={"csrf_token": token, "email": tenant["email"]})
    assert _retry_after(forgot) > 0

    # The person, from their own client, signs in with their password; the stranger cannot.
    assert _sign_in(platform, platform.client(), tenant["email"], PASSWORD) == 303
    assert _sign_in(platform, stranger, tenant["email"], PASSWORD) == 429


def test_wrong_passwords_at_a_staff_email_do_not_keep_the_admin_out_of_the_console(platform):
    """A staff admin has no password reset: a lock on their email would keep them out for good."""
    org = platform.new_organization("Console ")
    stranger = platform.client()
    tries = [
        _sign_in(platform, stranger, org.admin.email, WRONG, "/console/login")
        for _ in range(platform.throttle_account_burst + 1)
    ]
    assert tries == [401] * platform.throttle_account_burst + [429]
    assert _sign_in(platform, stranger, org.admin.email, org.admin.password, "/console/login") == 429
    assert _sign_in(platform, platform.client(), org.admin.email, org.admin.password, "/console/login") == 303


def test_forgot_password_is_bounded_per_client(platform):
    asker, bystander = platform.client(), platform.client()
    token = platform.csrf(asker.get("/forgot"))
    answers = [
        asker.post("/forgot", data={"csrf_token": token, "email": random_email("forgot")})
        for _ in range(platform.throttle_client_burst + 1)
    ]
    assert [answer.status_code for answer in answers] == [200] * platform.throttle_client_burst + [429]
    assert _retry_after(answers[-1]) > 0
    form = bystander.get("/forgot")
    answer = bystander.post("/forgot", data={"csrf_token": platform.csrf(form), "email": random_email()})
    assert answer.status_code == 200
