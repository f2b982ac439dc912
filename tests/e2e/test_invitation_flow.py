"""The invitation flow through the gateway, with every service running as a process, the email
read from the SMTP sink and its link followed, as a person would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
from sqlalchemy import create_engine, text

from shared.testing.helpers import random_email

PASSWORD = "violet lanterns drift south"
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.1)


def heading(response: httpx.Response) -> str:
    match = H1.search(response.text)
    return match.group(1).strip() if match else ""


def words(response: httpx.Response) -> str:
    """The page's text as a person reads it: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.text).split())


def turn_back_the_clock(platform, contact_id: str, column: str) -> None:
    """Move `column` (`created_at` or `expires_at`) of the contact's invitations two minutes into
    the past, as if that time had gone by: past the resend cooldown, or past the expiry."""
    assert column in ("created_at", "expires_at")
    engine = create_engine(platform.config.database_url)
    try:
        with engine.begin() as conn:
            moved = conn.execute(
                text(
                    f"UPDATE invitations.invitations SET {column} = LEAST({column}, now()) - interval "
                    "'2 minutes' WHERE contact_id = :contact_id"
                ),
                {"contact_id": contact_id},
            ).rowcount
    finally:
        engine.dispose()
    assert moved >= 1


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def accept(platform, link: str, password: str = PASSWORD) -> httpx.Client:
    """Open the link and create the account: the person's browser, signed in."""
    platform.secrets_seen.add(password)
    person = platform.browser_client()
    page = person.get(platform.path_of(link))
    assert heading(page) == "Create Your Portal Account"
    token = platform.path_of(link).rsplit("/", 1)[1]
    answer = person.post(
        "/invite/accept",
        data={
            "csrf_token": csrf(page),
            "token": token,
            "password": password,
            "password_confirmation": password,
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/portal"
    return person


def test_staff_invite_a_tenant_who_creates_an_account_and_lands_on_the_portal(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()

    assert staff.get(f"/contacts/{tenant['id']}/portal-eligibility") == {
        "schema_version": 1,
        "contact_id": tenant["id"],
        "eligible": True,
        "reasons": [],
    }
    invitation = staff.post(f"/contacts/{tenant['id']}/portal-invitations")
    assert invitation["state"] == "pending"

    link = platform.link_in_email(tenant["email"])
    # What staff see once the mail server took the email.
    wait_until(lambda: staff.get(f"/contacts/{tenant['id']}/portal-access")["status"] == "delivered")
    email = platform.sink.messages(to=tenant["email"])[0]
    assert "invites you" in email["subject"]
    assert link in email["text"] and link in email["html"]

    person = platform.browser_client()
    page = person.get(platform.path_of(link))
    assert page.status_code == 200
    assert heading(page) == "Create Your Portal Account"
    assert f'value="{tenant["email"]}" readonly' in page.text
    assert "Create Account &amp; Access Portal" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    person = accept(platform, link)
    cookie = next(c for c in person.cookies.jar if c.name == "portal_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    home = person.get("/portal")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert heading(home) == f"Welcome, {tenant['display_name']}"
    for shown in (tenant["property"]["name"], "Flat 2", "12 Maple Road", "Active"):
        assert shown in home.text
    # SERVER_TIMING is on in this stack: the page names each RPC it made and its duration.
    timed = [part.split('desc="')[1].split('"')[0] for part in home.headers["server-timing"].split(", ")]
    assert {"invitations.check_session", "contacts.get_contact", "properties.get_contact_links"} <= set(timed)

    history = staff.get(f"/contacts/{tenant['id']}/invitations")["items"][0]["history"]
    assert [change["state"] for change in history] == ["pending", "sent", "delivered", "accepted"]
    assert staff.get(f"/contacts/{tenant['id']}/portal-access")["status"] == "active"
    deliveries = staff.get(f"/invitations/{invitation['id']}/deliveries")["items"]
    assert [(d["status"], d["last_smtp_code"]) for d in deliveries] == [("sent", 250)]

    again = platform.browser_client().get(platform.path_of(link))
    assert again.status_code == 410
    assert heading(again) == "This link has already been used"


def test_expired_superseded_revoked_and_unknown_links_each_say_what_to_do(platform):
    staff = platform.new_organization()
    superseded_tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{superseded_tenant['id']}/portal-invitations")
    old_link = platform.link_in_email(superseded_tenant["email"])
    resend = staff.api.post(f"/contacts/{superseded_tenant['id']}/portal-invitations/resend")
    assert resend.status_code == 429  # inside the cooldown
    assert int(resend.headers["retry-after"]) > 0
    assert resend.json()["error"]["code"] == "rate_limited"
    person = platform.browser_client()
    usable = person.get(platform.path_of(old_link))
    assert heading(usable) == "Create Your Portal Account"

    # The cooldown has passed (the first invitation made two minutes earlier): staff resend, and
    # the first link is superseded by the new one.
    turn_back_the_clock(platform, superseded_tenant["id"], "created_at")
    resent = staff.api.post(f"/contacts/{superseded_tenant['id']}/portal-invitations/resend")
    assert resent.status_code == 201, resent.text
    new_link = platform.link_in_email(superseded_tenant["email"], count=2)
    assert new_link != old_link
    superseded = person.get(platform.path_of(old_link))
    assert (superseded.status_code, heading(superseded)) == (410, "A newer link was sent")
    assert "Use the link in the most recent email you received" in words(superseded)
    assert heading(person.get(platform.path_of(new_link))) == "Create Your Portal Account"

    # An invitation whose time is up (expires_at two minutes ago).
    expired_tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{expired_tenant['id']}/portal-invitations")
    expired_link = platform.link_in_email(expired_tenant["email"])
    turn_back_the_clock(platform, expired_tenant["id"], "expires_at")
    expired = person.get(platform.path_of(expired_link))
    assert (expired.status_code, heading(expired)) == (410, "This link has expired")
    assert "Ask your property manager to send you a new invitation" in words(expired)

    revoked_tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{revoked_tenant['id']}/portal-invitations")
    revoked_link = platform.link_in_email(revoked_tenant["email"])
    result = staff.post(
        f"/contacts/{revoked_tenant['id']}/portal-access/revoke", {"reason": "sent by mistake"}, 200
    )
    assert result["revoked_invitations"] == 1

    revoked = person.get(platform.path_of(revoked_link))
    assert (revoked.status_code, heading(revoked)) == (410, "This invitation was withdrawn")
    assert "Contact them if you think this is a mistake" in words(revoked)
    unknown = person.get("/invite/" + "x" * 43)
    assert (unknown.status_code, heading(unknown)) == (404, "This link is not valid")
    assert "Check that you opened the whole link from the email" in words(unknown)
    assert "ask for a new invitation" in words(unknown)


def test_another_organizations_contacts_and_invitations_are_not_found(platform):
    mine, theirs = platform.new_organization(), platform.new_organization()
    tenant = mine.tenant_with_lease()
    invitation = mine.post(f"/contacts/{tenant['id']}/portal-invitations")

    for method, path in (
        ("GET", f"/contacts/{tenant['id']}"),
        ("GET", f"/contacts/{tenant['id']}/links"),
        ("GET", f"/contacts/{tenant['id']}/portal-eligibility"),
        ("POST", f"/contacts/{tenant['id']}/portal-invitations"),
        ("POST", f"/contacts/{tenant['id']}/portal-access/revoke"),
        ("GET", f"/properties/{tenant['property']['id']}"),
    ):
        response = theirs.api.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert tenant["email"] not in response.text
    for path in (f"/contacts/{tenant['id']}/invitations", f"/invitations/{invitation['id']}/deliveries"):
        response = theirs.api.get(path)
        assert response.status_code == 404, (path, response.text)
    assert theirs.get("/contacts", q=tenant["email"])["total"] == 0


def test_revoking_access_ends_the_persons_session(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{tenant['id']}/portal-invitations")
    person = accept(platform, platform.link_in_email(tenant["email"]))
    assert person.get("/portal").status_code == 200

    staff.post(f"/contacts/{tenant['id']}/portal-access/revoke", {}, 200)

    after = person.get("/portal")
    assert (after.status_code, after.headers["location"]) == (303, "/login")
    assert staff.get(f"/contacts/{tenant['id']}/portal-access")["status"] == "revoked"


def test_forgot_password_answers_alike_and_mails_only_a_known_account(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{tenant['id']}/portal-invitations")
    accept(platform, platform.link_in_email(tenant["email"]))
    nobody = random_email("nobody")

    answers = []
    for email in (nobody, tenant["email"]):
        browser = platform.browser_client()
        form = browser.get("/forgot")
        answer = browser.post("/forgot", data={"csrf_token": csrf(form), "email": email})
        answers.append((answer.status_code, answer.text.replace(csrf(form), "")))
    assert answers[0] == answers[1]
    assert "If a portal account exists for that address" in answers[0][1]

    reset_link = platform.link_in_email(tenant["email"], kind="reset", count=2)
    assert platform.sink.messages(to=nobody) == []  # its request was answered before the known one
    browser = platform.browser_client()
    form = browser.get(platform.path_of(reset_link))
    assert heading(form) == "Choose a new password"
    new_password = "seven quiet harbours north"
    platform.secrets_seen.add(new_password)
    token = platform.path_of(reset_link).rsplit("/", 1)[1]
    done = browser.post(
        "/reset",
        data={
            "csrf_token": csrf(form),
            "token": token,
            "password": new_password,
            "password_confirmation": new_password,
        },
    )
    assert (done.status_code, done.headers["location"]) == (303, "/portal")
    reused = platform.browser_client().get(platform.path_of(reset_link))
    assert heading(reused) == "This link has already been used"

    login = platform.browser_client()
    page = login.get("/login")
    signed_in = login.post(
        "/login", data={"csrf_token": csrf(page), "email": tenant["email"], "password": new_password}
    )
    assert signed_in.status_code == 303


def test_sign_in_fails_alike_for_known_and_unknown_emails(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{tenant['id']}/portal-invitations")
    accept(platform, platform.link_in_email(tenant["email"]))

    answers = []
    for email in (tenant["email"], random_email("nobody")):
        browser = platform.browser_client()
        page = browser.get("/login")
        answer = browser.post(
            "/login", data={"csrf_token": csrf(page), "email": email, "password": "wrong password!"}
        )
        answers.append((answer.status_code, answer.text.replace(csrf(page), "").replace(email, "")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{tenant['id']}/portal-invitations")
    link = platform.link_in_email(tenant["email"])
    token = platform.path_of(link).rsplit("/", 1)[1]

    forged = platform.browser_client().post(
        "/invite/accept", data={"token": token, "password": PASSWORD, "password_confirmation": PASSWORD}
    )
    assert forged.status_code == 403
    assert heading(platform.browser_client().get(platform.path_of(link))) == "Create Your Portal Account"


def test_a_bounced_invitation_shows_bounced_with_the_mail_servers_reason(platform):
    staff = platform.new_organization()
    email = random_email("bounce")
    platform.sink.add_fault(reply="550 5.1.1 No such mailbox here", match=email, count=1)
    tenant = staff.tenant_with_lease(email)
    invitation = staff.post(f"/contacts/{tenant['id']}/portal-invitations")

    wait_until(lambda: staff.get(f"/contacts/{tenant['id']}/portal-access")["status"] == "bounced")
    last = staff.get(f"/contacts/{tenant['id']}/invitations")["items"][0]["history"][-1]
    assert last["state"] == "bounced"
    assert "550" in last["detail"] and "No such mailbox here" in last["detail"]
    [delivery] = staff.get(f"/invitations/{invitation['id']}/deliveries")["items"]
    assert (delivery["status"], delivery["last_smtp_code"], delivery["attempts"]) == ("failed", 550, 1)
    assert platform.sink.messages(to=email) == []


def test_signing_out_ends_the_session_on_the_server(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    staff.post(f"/contacts/{tenant['id']}/portal-invitations")
    person = accept(platform, platform.link_in_email(tenant["email"]))
    session_id = person.cookies["portal_session"]
    home = person.get("/portal")

    out = person.post("/logout", data={"csrf_token": csrf(home)})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    # The old cookie, replayed, is worth nothing: the session ended on the server.
    replay = platform.browser_client()
    replay.cookies.set("portal_session", session_id)
    after = replay.get("/portal")
    assert (after.status_code, after.headers["location"]) == (303, "/login")


def admin_command(platform, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m portal_gateway.admin create-organization ARGS`, run against the test platform."""
    env = {
        **os.environ,
        "AMQP_URI": platform.config.uri_of("gateway"),
        "PUBLIC_BASE_URL": platform.config.public_base_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "portal_gateway.admin", "create-organization", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_admin_command_makes_an_organization_whose_admin_can_sign_in(platform):
    email = random_email("founder")
    result = admin_command(
        platform,
        *("--name", "Founders Lettings", "--admin-email", email, "--admin-name", "Fay Founder"),
        "--show-api-token",
    )
    assert result.returncode == 0, result.stderr
    printed = dict(
        re.findall(r"^  (Staff console|Sign in as|Password|API token)\s+(\S+)", result.stdout, re.M)
    )
    assert printed["Staff console"] == f"{platform.config.public_base_url}/console/login"
    assert printed["Sign in as"] == email
    platform.secrets_seen.update((printed["Password"], printed["API token"]))

    console = platform.browser_client()
    form = console.get("/console/login")
    signed_in = console.post(
        "/console/login", data={"csrf_token": csrf(form), "email": email, "password": printed["Password"]}
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console/contacts?type=tenant")
    me = httpx.get(f"{platform.url}/api/v1/me", headers={"Authorization": f"Bearer {printed['API token']}"})
    assert me.json()["organization"]["name"] == "Founders Lettings"

    weak = admin_command(
        platform,
        *("--name", "Weak", "--admin-email", random_email(), "--admin-name", "W", "--password-stdin"),
        stdin="password1234\n",
    )
    assert weak.returncode == 2
    assert "too common" in weak.stderr


def test_the_admin_command_takes_no_secret_on_its_command_line_and_shows_the_token_only_when_asked(
    platform,
):
    email, password = random_email("quiet"), "a long passphrase of my own 7"
    platform.secrets_seen.add(password)
    made = admin_command(
        platform,
        *("--name", "Quiet Lettings", "--admin-email", email, "--admin-name", "Quinn Quiet"),
        "--password-stdin",
        stdin=password + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert password not in made.stdout + made.stderr, "a password the admin chose is never echoed"
    assert "pat_" not in made.stdout + made.stderr, "the API token is shown only when asked"
    assert "--show-api-token" in made.stdout
    console = platform.browser_client()
    form = console.get("/console/login")
    signed_in = console.post(
        "/console/login", data={"csrf_token": csrf(form), "email": email, "password": password}
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console/contacts?type=tenant")

    on_the_command_line = admin_command(
        platform,
        *("--name", "Loud Lettings", "--admin-email", random_email(), "--admin-name", "Q"),
        *("--admin-password", password),
    )
    assert on_the_command_line.returncode == 2
    assert "unrecognized arguments: --admin-password" in on_the_command_line.stderr


def test_a_person_invited_by_a_second_organization_joins_it_to_their_one_account(platform):
    email = random_email("person")
    first, second = platform.new_organization(), platform.new_organization()
    first_tenant, second_tenant = first.tenant_with_lease(email), second.tenant_with_lease(email)
    first.post(f"/contacts/{first_tenant['id']}/portal-invitations")
    accept(platform, platform.link_in_email(email))

    second.post(f"/contacts/{second_tenant['id']}/portal-invitations")
    link = platform.link_in_email(email, count=2)
    person = platform.browser_client()
    page = person.get(platform.path_of(link))
    assert heading(page) == "You already have a portal account"
    token = platform.path_of(link).rsplit("/", 1)[1]
    wrong = person.post(
        "/invite/join", data={"csrf_token": csrf(page), "token": token, "password": "not mine at all"}
    )
    assert wrong.status_code == 401
    assert "The email or password is not right." in wrong.text
    joined = person.post(
        "/invite/join", data={"csrf_token": csrf(page), "token": token, "password": PASSWORD}
    )
    assert (joined.status_code, joined.headers["location"]) == (303, "/portal")

    home = person.get("/portal")
    switcher = re.search(r'<nav class="card" aria-labelledby="switch-title">(.*?)</nav>', home.text, re.S)
    assert switcher, "a person with two memberships can switch between them"
    other = re.search(r'href="(/portal\?m=[^"]+)"', switcher.group(1))
    assert other
    switched = person.get(other.group(1))
    names = {heading(home), heading(switched)}
    assert names == {f"Welcome, {first_tenant['display_name']}", f"Welcome, {second_tenant['display_name']}"}
    assert first.get(f"/contacts/{first_tenant['id']}/portal-access")["status"] == "active"
    assert second.get(f"/contacts/{second_tenant['id']}/portal-access")["status"] == "active"


def test_staff_bulk_invite_tenants_by_filter_and_follow_the_progress(platform):
    staff = platform.new_organization()
    tenants = [staff.tenant_with_lease() for _ in range(5)]
    staff.post(
        "/contacts", {"type": "tenant", "first_name": "No", "last_name": "Lease", "email": random_email()}
    )
    staff.post(
        "/contacts", {"type": "landlord", "first_name": "Not", "last_name": "Tenant", "email": random_email()}
    )

    for body in ({}, {"contact_ids": [tenants[0]["id"]], "type": "tenant"}, {"type": "tenant", "limit": 3}):
        refused = staff.api.post("/portal-invitations/bulk", json=body)
        assert refused.status_code == 422, body
    started = staff.api.post("/portal-invitations/bulk", json={"type": "tenant"})
    assert started.status_code == 202
    job = started.json()
    assert job["total"] == 6
    location = started.headers["location"]
    assert location == f"/api/v1/portal-invitations/bulk/{job['id']}"

    def progress():
        return staff.get(location.removeprefix("/api/v1"))

    wait_until(lambda: progress()["delivered"] == 5, timeout=60)
    final = progress()
    assert (final["invited"], final["skipped"], final["bounced"]) == (5, 1, 0)
    assert final["skipped_reasons"] == {"no_active_lease": 1}
    assert final["finished_at"] is not None
    for tenant in tenants:
        assert len(platform.sink.messages(to=tenant["email"])) == 1


def test_send_portal_invitation_again_with_its_idempotency_key_sends_one_email(platform):
    """A staff system whose request timed out sends it again with the same Idempotency-Key: the
    answer is the first invitation, and the contact gets one email."""
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    path = f"/contacts/{tenant['id']}/portal-invitations"
    key = {"Idempotency-Key": "0b6f7c1e-retry"}

    first = staff.api.post(path, headers=key)
    again = staff.api.post(path, headers=key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    platform.link_in_email(tenant["email"])
    assert len(platform.sink.messages(to=tenant["email"])) == 1
    assert [inv["id"] for inv in staff.get(f"/contacts/{tenant['id']}/invitations")["items"]] == [
        first.json()["id"]
    ]

    bad = staff.api.post(path, headers={"Idempotency-Key": "no spaces allowed"})
    assert bad.status_code == 422, bad.text
