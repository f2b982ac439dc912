"""Maintenance status emails end to end, over HTTP as browsers send it: a tenant with an account
reports a problem in the portal, staff move it on in the console, the tenant's email arrives in
the SMTP sink with a plain link to the request, and that link shows the new status."""

from __future__ import annotations

import re

import httpx

PASSWORD = "pewter gulls circle the harbour"


def csrf(page: httpx.Response) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the page has no CSRF token"
    return token.group(1)


def console_for(platform, staff) -> httpx.Client:
    console = platform.browser_client()
    form = console.get("/console/login")
    signed_in = console.post(
        "/console/login", data={"csrf_token": csrf(form), "email": staff.email, "password": staff.password}
    )
    assert signed_in.status_code == 303, signed_in.text
    return console


def submit_request(person: httpx.Client, lease_id: str) -> str:
    form = person.get("/portal/maintenance/new")
    grant = re.search(r'name="m" value="([^"]+)"', form.text)
    assert grant, form.text
    made = person.post(
        "/portal/maintenance",
        data={
            "csrf_token": csrf(form),
            "m": grant.group(1),
            "lease_id": lease_id,
            "category": "heating",
            "priority": "urgent",
            "description": "No hot water since this morning.",
        },
    )
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0].rsplit("/", 1)[1]


def test_staff_schedule_a_request_in_the_console_and_the_tenant_is_emailed_a_link_to_it(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    person = platform.invite_and_accept(staff, tenant, PASSWORD)
    request_id = submit_request(person, tenant["lease"]["id"])
    console = console_for(platform, staff)

    # The console's list, all and by status, links to the request.
    listing = console.get("/console/maintenance")
    assert listing.status_code == 200
    assert f'href="/console/maintenance/{request_id}"' in listing.text
    assert 'href="/console/maintenance" aria-current="page"' in listing.text  # the navigation
    assert request_id not in console.get("/console/maintenance", params={"status": "scheduled"}).text
    assert request_id in console.get("/console/maintenance", params={"status": "submitted"}).text

    page = console.get(f"/console/maintenance/{request_id}")
    assert page.status_code == 200
    assert tenant["display_name"] in page.text  # who reported it
    offered = re.findall(r'<option value="([a-z_]+)"', page.text)
    assert offered == ["acknowledged", "scheduled", "in_progress", "completed", "cancelled"]

    changed = console.post(
        f"/console/maintenance/{request_id}/status",
        data={"csrf_token": csrf(page), "status": "scheduled", "note": "An engineer comes tomorrow at 10."},
    )
    assert changed.status_code == 303, changed.text
    assert changed.headers["location"] == f"/console/maintenance/{request_id}?notice=changed"
    after = console.get(changed.headers["location"])
    assert "The status is changed" in after.text
    assert re.findall(r'<option value="([a-z_]+)"', after.text) == ["in_progress", "completed", "cancelled"]
    assert request_id in console.get("/console/maintenance", params={"status": "scheduled"}).text

    # Back to acknowledged: refused with the service's reason, and nothing changes.
    refused = console.post(
        f"/console/maintenance/{request_id}/status",
        data={"csrf_token": csrf(after), "status": "acknowledged"},
    )
    assert refused.status_code == 409
    assert "A request cannot go back from scheduled to acknowledged." in refused.text
    assert staff.get(f"/maintenance-requests/{request_id}")["status"] == "scheduled"

    # The tenant's email: the invitation first, then this one.
    messages = platform.sink.wait_for(tenant["email"], count=2, timeout=60)
    email = max(messages, key=lambda m: m["id"])
    # Stripped: a subject too long for one line is folded, and the sink keeps the fold's space.
    subject = email["subject"].strip()
    assert subject == f"Your heating request at Flat 2, {tenant['property']['name']} is now scheduled"
    assert "Status: Submitted -> Scheduled" in email["text"]
    assert "An engineer comes tomorrow at 10." in email["text"]
    link = f"{platform.config.public_base_url}/portal/maintenance/{request_id}"
    assert email["links"] == [link]

    # The link opens the request in the tenant's portal, with the new status and the note.
    shown = person.get(platform.path_of(link))
    assert shown.status_code == 200
    assert re.search(r"<dt>Status</dt><dd><span[^>]*>Scheduled</span>", shown.text)
    assert "An engineer comes tomorrow at 10." in shown.text
    # Only the tenant's own browser sees it: signed out, the link asks to sign in.
    assert platform.browser_client().get(platform.path_of(link)).headers["location"] == "/login"
