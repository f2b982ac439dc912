"""Access follows the relationship, with every service running as a process: staff end a tenant's
lease, or remove a landlord's link to their property, through the staff API; the person, signed in
to the portal, is signed out by their next page load, and the staff API shows their access revoked."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx

from shared.testing.helpers import random_email, random_name

PASSWORD = "mossy lanterns hum at dusk"
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def heading(response: httpx.Response) -> str:
    match = H1.search(response.text)
    return match.group(1).strip() if match else ""


def signed_out_soon(person: httpx.Client, timeout: float = 20) -> httpx.Response:
    """The person's next page loads until the portal sends them to sign in (the change travels as
    an event, so it may take a moment); the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        page = person.get("/portal")
        if page.status_code != 200 or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def test_a_tenant_whose_lease_ends_is_signed_out_and_shown_revoked(platform):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    person = platform.invite_and_accept(staff, tenant, PASSWORD)
    home = person.get("/portal")
    assert (home.status_code, heading(home)) == (200, f"Welcome, {tenant['display_name']}")
    assert staff.get(f"/contacts/{tenant['id']}/portal-access")["status"] == "active"

    ended = staff.post(f"/leases/{tenant['lease']['id']}/end", {"end_date": str(yesterday)}, 200)
    assert ended["end_date"] == str(yesterday)

    page = signed_out_soon(person)
    assert (page.status_code, page.headers.get("location")) == (303, "/login")
    assert staff.get(f"/contacts/{tenant['id']}/portal-access")["status"] == "revoked"
    # The lease page they had open is gone with the session too.
    lease_page = person.get(f"/portal/leases/{tenant['lease']['id']}")
    assert (lease_page.status_code, lease_page.headers.get("location")) == (303, "/login")


def test_a_landlord_whose_property_link_is_removed_is_signed_out_and_shown_revoked(platform):
    staff = platform.new_organization()
    prop = staff.post(
        "/properties",
        {
            "name": random_name("Ash House "),
            "address_line1": "9 Ash Row",
            "city": "Bath",
            "postcode": "BA2 2AA",
        },
    )
    landlord = staff.post(
        "/contacts",
        {
            "type": "landlord",
            "first_name": "Lars",
            "last_name": random_name("Landlord"),
            "email": random_email(),
        },
    )
    staff.post(f"/properties/{prop['id']}/contacts", {"contact_id": landlord["id"], "role": "landlord"}, 200)
    person = platform.invite_and_accept(staff, landlord, PASSWORD)
    assert person.get("/portal").status_code == 200

    removed = staff.api.delete(f"/properties/{prop['id']}/contacts/{landlord['id']}")

    assert removed.status_code == 200, removed.text
    assert removed.json()["contacts"] == []
    page = signed_out_soon(person)
    assert (page.status_code, page.headers.get("location")) == (303, "/login")
    assert staff.get(f"/contacts/{landlord['id']}/portal-access")["status"] == "revoked"
    assert staff.get(f"/contacts/{landlord['id']}/links")["properties"] == []
