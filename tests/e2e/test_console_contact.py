"""The console's contact page with every service running as a process: the eligibility reasons
before anything is sent, Rezi's Enable Access toggle (on sends the invitation, off ends the access
and the person's sessions), the invitations with their history and delivery results, the audit of
every change with who made it, and the viewing-feedback Visibility settings, per contact and per
contact type, holding from the person's next page load."""

from __future__ import annotations

import re
import time

import httpx

from shared.testing.helpers import random_email, random_name
from tests.e2e.test_view_as import console_for, csrf, text_of

PASSWORD = "copper lanterns sway gently"
FEEDBACK = "The kitchen needs work, but the garden sold it."


def landlord_of_a_property(staff) -> tuple[dict, dict]:
    prop = staff.post(
        "/properties",
        {
            "name": random_name("Oak House "),
            "address_line1": "3 Elm Row",
            "city": "York",
            "postcode": "YO1 7HH",
        },
    )
    landlord = staff.post(
        "/contacts",
        {
            "type": "landlord",
            "first_name": "Lou",
            "last_name": random_name("Landlord"),
            "email": random_email(),
        },
    )
    return landlord, prop


def link(staff, landlord: dict, prop: dict) -> None:
    staff.post(f"/properties/{prop['id']}/contacts", {"contact_id": landlord["id"], "role": "landlord"}, 200)


def toggle(console: httpx.Client, contact_id: str) -> httpx.Response:
    """Press the Enable Access switch on the contact's page; the page it lands on."""
    page = console.get(f"/console/contacts/{contact_id}")
    enable = re.search(r'name="enable" value="(on|off)"', page.text).group(1)
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page.text).group(1)
    pressed = console.post(
        f"/console/contacts/{contact_id}/portal-access/toggle",
        data={"csrf_token": csrf(page), "enable": enable, "request_key": key},
    )
    assert pressed.status_code == 303, pressed.text
    return console.get(pressed.headers["location"])


def switch_state(page: httpx.Response) -> str:
    return re.search(r'role="switch" aria-checked="(true|false)"', page.text).group(1)


def test_enable_access_from_the_contact_page_then_turn_it_off(platform):
    staff = platform.new_organization()
    landlord, prop = landlord_of_a_property(staff)
    console = console_for(platform, staff)

    # Not linked to anything yet: the page says why before anything is sent, and the switch sends nothing.
    page = console.get(f"/console/contacts/{landlord['id']}")
    assert page.status_code == 200
    assert switch_state(page) == "false"
    assert f"Why {landlord['display_name']} cannot be invited now" in text_of(page)
    refused = toggle(console, landlord["id"])
    assert "Portal access was not turned on: see why below." in text_of(refused)
    assert switch_state(refused) == "false"
    assert staff.get(f"/contacts/{landlord['id']}/invitations")["total"] == 0

    link(staff, landlord, prop)
    page = console.get(f"/console/contacts/{landlord['id']}")
    assert f"{landlord['display_name']} can be invited." in text_of(page)
    turned_on = toggle(console, landlord["id"])
    shown = text_of(turned_on)
    assert f"Portal access is on: an invitation is on its way to {landlord['email']}." in shown
    assert switch_state(turned_on) == "true"
    assert "Invitation sent Ada Admin" in shown  # the audit: what, by whom
    # Pressed twice (two tabs open): still one invitation.
    assert "Portal access was already on." in text_of(
        console.post(
            f"/console/contacts/{landlord['id']}/portal-access/toggle",
            data={"csrf_token": csrf(turned_on), "enable": "on"},
            follow_redirects=True,
        )
    )
    assert staff.get(f"/contacts/{landlord['id']}/invitations")["total"] == 1

    person = platform.browser_client()
    path = platform.path_of(platform.link_in_email(landlord["email"]))
    form = person.get(path)
    platform.secrets_seen.add(PASSWORD)
    accepted = person.post(
        "/invite/accept",
        data={
            "csrf_token": csrf(form),
            "token": path.rsplit("/", 1)[1],
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )
    assert accepted.status_code == 303
    active = text_of(console.get(f"/console/contacts/{landlord['id']}"))
    assert "Status: Active" in active
    assert "Account created, access granted " + landlord["display_name"] in active
    assert "Sent" in active and landlord["email"] in active  # the email and the server's answer
    assert "Accepted" in active  # the invitation's state history

    turned_off = toggle(console, landlord["id"])
    shown = text_of(turned_off)
    assert "Portal access is off" in shown
    assert switch_state(turned_off) == "false"
    assert "Access revoked Ada Admin" in shown
    assert person.get("/portal").status_code == 303, "the landlord's session outlived the revoke"
    audit = staff.get(f"/contacts/{landlord['id']}/access-audit")
    assert [entry["action"] for entry in audit["items"]] == [
        "access_revoked",
        "access_granted",
        "invitation_sent",
    ]


def test_send_portal_invitation_shows_the_reasons_before_sending(platform):
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    unhoused = staff.post(
        "/contacts",
        {"type": "tenant", "first_name": "Una", "last_name": random_name("Tenant"), "email": random_email()},
    )
    console = console_for(platform, staff)

    listing = console.get("/console/contacts?type=tenant")
    assert f'href="/console/contacts/{unhoused["id"]}/invite"' in listing.text
    refused = console.get(f"/console/contacts/{unhoused['id']}/invite")
    assert f"{unhoused['display_name']} cannot be invited yet" in text_of(refused)
    assert "Send invitation" not in refused.text

    ready = console.get(f"/console/contacts/{tenant['id']}/invite")
    assert tenant["email"] in text_of(ready) and "Send invitation" in ready.text
    assert staff.get(f"/contacts/{tenant['id']}/invitations")["total"] == 0, "showing the page sent something"
    sent = console.post(
        f"/console/contacts/{tenant['id']}/portal-access",
        data={
            "csrf_token": csrf(ready),
            "action": "send",
            "type": "tenant",
            "request_key": re.search(r'name="request_key" value="([0-9a-f]{32})"', ready.text).group(1),
        },
        follow_redirects=True,
    )
    assert f"Portal invitation sent to {tenant['display_name']}" in text_of(sent)


def test_visibility_per_contact_and_per_type_holds_from_the_next_page_load(platform):
    staff = platform.new_organization()
    landlord, prop = landlord_of_a_property(staff)
    link(staff, landlord, prop)
    viewing = staff.post(
        f"/properties/{prop['id']}/viewings",
        {"scheduled_at": "2026-05-02T11:00:00Z", "applicant_name": "Ann"},
    )
    staff.post(f"/viewings/{viewing['id']}/feedback", {"feedback": FEEDBACK}, 200)
    person = platform.invite_and_accept(staff, landlord, PASSWORD)
    console = console_for(platform, staff)
    portal_page = f"/portal/properties/{prop['id']}"
    assert FEEDBACK in person.get(portal_page).text

    page = console.get(f"/console/contacts/{landlord['id']}")
    assert "Viewing feedback is shown to" in text_of(page)
    hidden = console.post(
        f"/console/contacts/{landlord['id']}/visibility",
        data={"csrf_token": csrf(page), "visible": "hide"},
        follow_redirects=True,
    )
    shown = text_of(hidden)
    assert f"Saved. {landlord['display_name']} sees this from their next page load." in shown
    assert "Viewing feedback is hidden from" in shown and "(this decides)" in shown
    assert FEEDBACK not in person.get(portal_page).text

    # Back to the type's setting, then the organization hides feedback from every landlord.
    console.post(
        f"/console/contacts/{landlord['id']}/visibility",
        data={"csrf_token": csrf(page), "visible": "default"},
    )
    assert FEEDBACK in person.get(portal_page).text
    settings = console.get("/console/visibility")
    saved = console.post(
        "/console/visibility",
        data={"csrf_token": csrf(settings), "contact_type": "landlord", "visible": "hide"},
        follow_redirects=True,
    )
    assert "Saved for landlords." in text_of(saved)
    landlord_row = re.search(
        r"<tr>\s*<td data-label=\"Contact type\">Landlords</td>.*?</tr>", saved.text, re.S
    )
    assert "Hidden" in text_of_html(landlord_row.group(0)) and "(organization setting)" in landlord_row.group(
        0
    )
    assert FEEDBACK not in person.get(portal_page).text
    explained = staff.get(f"/contacts/{landlord['id']}/visibility/viewing-feedback")
    assert [rule["setting"] for rule in explained["chain"]] == [True, False, None]

    # This one property shows feedback to its landlords, whatever the organization says.
    page = console.get(f"/console/contacts/{landlord['id']}")
    assert f"On {prop['name']}: hidden" in text_of(page)
    shown_here = console.post(
        f"/console/properties/{prop['id']}/visibility",
        data={
            "csrf_token": csrf(page),
            "contact_type": "landlord",
            "visible": "show",
            "back_to": landlord["id"],
        },
        follow_redirects=True,
    )
    assert f"On {prop['name']}: shown" in text_of(shown_here)
    assert f"{prop['name']} has viewing feedback shown to landlords. (this decides)" in text_of(shown_here)
    assert FEEDBACK in person.get(portal_page).text
    on_property = staff.get(f"/contacts/{landlord['id']}/visibility/viewing-feedback", property_id=prop["id"])
    assert [rule["level"] for rule in on_property["chain"]] == [
        "default",
        "organization",
        "property",
        "contact",
    ]
    assert on_property["visible"] is True


def test_another_organizations_contact_page_is_not_found(platform):
    staff = platform.new_organization()
    other = platform.new_organization()
    landlord, _ = landlord_of_a_property(other)
    console = console_for(platform, staff)

    for path in (f"/console/contacts/{landlord['id']}", f"/console/contacts/{landlord['id']}/invite"):
        assert console.get(path).status_code == 404, path
    page = console.get("/console/visibility")
    for path, data in (
        (f"/console/contacts/{landlord['id']}/portal-access/toggle", {"enable": "on"}),
        (f"/console/contacts/{landlord['id']}/visibility", {"visible": "hide"}),
    ):
        answer = console.post(path, data={"csrf_token": csrf(page), **data})
        assert answer.status_code == 404, (path, answer.status_code)
    assert other.get(f"/contacts/{landlord['id']}/invitations")["total"] == 0


def text_of_html(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_bulk_invite_from_the_console_shows_the_progress_until_done(platform):
    staff = platform.new_organization()
    tenants = [staff.tenant_with_lease() for _ in range(3)]
    staff.post(
        "/contacts", {"type": "tenant", "first_name": "No", "last_name": "Lease", "email": random_email()}
    )
    console = console_for(platform, staff)

    listing = console.get("/console/contacts?type=tenant")
    assert 'href="/console/bulk?type=tenant"' in listing.text
    confirm = console.get("/console/bulk?type=tenant")
    assert "4 contacts match." in text_of(confirm)
    assert staff.get("/invitations")["total"] == 0, "showing the page sent something"
    started = console.post("/console/bulk", data={"csrf_token": csrf(confirm), "type": "tenant", "q": ""})
    assert started.status_code == 303
    progress_path = started.headers["location"]
    assert re.fullmatch(r"/console/bulk/[0-9a-f-]{36}", progress_path)

    def settled() -> httpx.Response | None:
        page = console.get(progress_path)
        shown = text_of(page)
        return page if "Done" in shown and "Emails delivered 3" in shown else None

    page = wait_for(settled, 60)
    shown = text_of(page)
    assert "4 of 4 contacts checked (100%)" in shown
    assert "Invited 3 Skipped 1" in shown
    assert "No active lease 1" in shown  # why, in the skipped table
    assert '<progress id="bulk-progress" max="4" value="4">' in page.text
    assert 'http-equiv="refresh"' not in page.text, "a finished job keeps refreshing"
    for tenant in tenants:
        assert len(platform.sink.messages(to=tenant["email"])) == 1

    nothing = console.post(
        "/console/bulk", data={"csrf_token": csrf(confirm), "type": "tenant", "q": "nobody-matches-this"}
    )
    assert nothing.status_code == 422 and "No contact matches." in text_of(nothing)
    other = console_for(platform, platform.new_organization())
    assert other.get(progress_path).status_code == 404


def wait_for(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s")
