"""View As with every service running as a process: a staff member signs in to the console, opens
the portal as a tenant who has never been invited (a preview), sees the tenant's dashboard under a
banner saying whose view it is, cannot write anything, and ends it; the audit has it. A portal
session the same browser holds for somebody else is neither used for writes nor touched."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import create_engine, text

PASSWORD = "amber kettles hum quietly"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def csrf(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def heading(response: httpx.Response) -> str:
    match = H1.search(response.text)
    return match.group(1).strip() if match else ""


def text_of(response: httpx.Response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.text).split())


def console_for(platform, staff) -> httpx.Client:
    console = platform.browser_client()
    form = console.get("/console/login")
    signed_in = console.post(
        "/console/login", data={"csrf_token": csrf(form), "email": staff.email, "password": staff.password}
    )
    assert signed_in.status_code == 303, signed_in.text
    return console


def audit_actions(platform, contact_id: str) -> list[tuple[str, str | None]]:
    engine = create_engine(platform.config.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT action, staff_member_id FROM invitations.access_audit "
                    "WHERE contact_id = :c ORDER BY id"
                ),
                {"c": contact_id},
            ).all()
    finally:
        engine.dispose()
    return [(action, str(staff) if staff else None) for action, staff in rows]


def test_staff_view_the_portal_as_a_tenant_read_only_and_end_it(platform):
    today = datetime.now(UTC).date()
    staff = platform.new_organization()
    me = staff.get("/me")
    tenant = staff.tenant_with_lease()  # never invited: View As is a preview
    lease_id = tenant["lease"]["id"]
    staff.post(
        f"/leases/{lease_id}/charges",
        {"description": "May rent", "amount_minor": 80_000, "due_date": str(today + timedelta(days=5))},
    )
    # Somebody's own portal session in the same browser (the staff member is a tenant elsewhere).
    neighbour = staff.tenant_with_lease()
    person = platform.invite_and_accept(staff, neighbour, PASSWORD)
    console = console_for(platform, staff)
    console.cookies.set("portal_session", person.cookies["portal_session"])

    listing = console.get("/console/contacts?type=tenant")
    action = f"/console/contacts/{tenant['id']}/view-as"
    assert f'action="{action}"' in listing.text and "View As" in listing.text
    started = console.post(action, data={"csrf_token": csrf(listing)})
    assert (started.status_code, started.headers["location"]) == (303, "/portal")
    cookie = next(c for c in started.headers.get_list("set-cookie") if c.startswith("view_as_session="))
    platform.secrets_seen.add(cookie.split(";")[0].split("=", 1)[1])  # never in a log
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))
    assert 890 <= max_age <= 900  # 15 minutes

    home = console.get("/portal")
    assert home.status_code == 200
    assert heading(home) == f"Welcome, {tenant['display_name']}"
    shown = text_of(home)
    assert f"You are viewing the portal as {tenant['display_name']} (read-only), until" in shown
    assert "End View As" in shown
    assert "Balance £800.00" in shown
    assert neighbour["display_name"] not in shown
    lease = console.get(re.search(r'href="(/portal/leases/' + lease_id + r'[^"]*)"', home.text).group(1))
    assert lease.status_code == 200 and "May rent" in lease.text

    # Every write is refused, whichever session it might have used.
    form = console.get("/portal/maintenance/new")
    assert form.status_code == 200
    refused = console.post(
        "/portal/maintenance",
        data={
            "csrf_token": csrf(form),
            "m": re.search(r'name="m" value="([^"]+)"', form.text).group(1),
            "lease_id": lease_id,
            "category": "plumbing",
            "priority": "normal",
            "description": "A leak that must not be reported",
        },
    )
    assert refused.status_code == 403
    assert "read-only" in text_of(refused)
    assert staff.get("/maintenance-requests", lease_id=lease_id)["total"] == 0
    assert staff.get("/maintenance-requests", lease_id=neighbour["lease"]["id"])["total"] == 0
    assert console.post("/logout", data={"csrf_token": csrf(form)}).status_code == 403
    assert person.get("/portal").status_code == 200, "the person's own session was ended"

    ended = console.post("/console/view-as/end", data={"csrf_token": csrf(home)})
    assert ended.status_code == 303
    assert ended.headers["location"].startswith(f"/console/contacts?type=tenant&contact={tenant['id']}")
    assert any(c.startswith('view_as_session=""') for c in ended.headers.get_list("set-cookie"))
    back = console.get(ended.headers["location"])
    assert f"You are no longer viewing the portal as {tenant['display_name']}" in text_of(back)
    # The browser's own portal session is as it was: the portal is the neighbour's again.
    assert heading(console.get("/portal")) == f"Welcome, {neighbour['display_name']}"

    assert audit_actions(platform, tenant["id"]) == [
        ("view_as_started", me["staff_member"]["id"]),
        ("view_as_ended", me["staff_member"]["id"]),
    ]


def test_view_as_elsewhere_or_without_a_live_session_shows_nothing(platform):
    staff, other = platform.new_organization(), platform.new_organization()
    tenant = staff.tenant_with_lease()
    console = console_for(platform, other)

    listing = console.get("/console/contacts?type=tenant")
    refused = console.post(f"/console/contacts/{tenant['id']}/view-as", data={"csrf_token": csrf(listing)})
    assert refused.status_code == 404
    assert "view_as_session" not in refused.headers.get("set-cookie", "")
    assert audit_actions(platform, tenant["id"]) == []
    forged = console.post(f"/console/contacts/{tenant['id']}/view-as", data={})
    assert forged.status_code == 403

    # An unknown View As is no session at all: sign in, or nothing to end.
    nobody = platform.browser_client()
    nobody.cookies.set("view_as_session", "u" * 43)
    assert nobody.get("/portal").headers["location"] == "/login"
    assert nobody.get("/portal/maintenance").headers["location"] == "/login"
    ended = nobody.post("/console/view-as/end", data={"csrf_token": csrf(nobody.get("/login"))})
    assert (ended.status_code, ended.headers["location"]) == (303, "/console/contacts")
