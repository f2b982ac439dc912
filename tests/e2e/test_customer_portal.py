"""Uptick's customer portal over HTTP, the whole platform as processes: client groups with a parent
through the staff API, an authorised account invited and signed in from the emailed link, who sees
the properties of the group and of the group below it with the dashboard's figures, and the
documents staff upload for a group and for a property, and nothing of another group; bad input is
refused and changes nothing. Defects staff record on a site without a lease reach the customer's
property page and dashboard, and move to the resolved list once resolved."""

from __future__ import annotations

import re
from typing import Any

import httpx

from shared.testing.helpers import random_email, random_name

PASSWORD = "amber harbour lights glow"
PDF = b"%PDF-1.7\n% service report\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TEXT = b"Fire risk assessment for the depot: passed.\n"


def customer(staff: Any) -> dict[str, Any]:
    return staff.post(
        "/contacts",
        {
            "type": "customer",
            "first_name": "Cara",
            "last_name": random_name("Customer"),
            "email": random_email("cara"),
        },
    )


def site(staff: Any, group_id: str | None, name: str) -> dict[str, Any]:
    prop = staff.post(
        "/properties", {"name": name, "address_line1": "1 Dock Road", "city": "Hull", "postcode": "HU1 1AA"}
    )
    unit = staff.post(f"/properties/{prop['id']}/units", {"name": "Unit 1"})
    if group_id is not None:
        response = staff.api.put(f"/properties/{prop['id']}/client-group", json={"client_group_id": group_id})
        assert response.status_code == 200, response.text
        assert response.json()["client_group_id"] == group_id
    return {**prop, "unit": unit}


def upload(staff: Any, title: str, name: str, data: bytes, content_type: str, **place: str) -> dict[str, Any]:
    made = staff.api.post(
        "/documents",
        data={"kind": "other", "title": title, **place},
        files={"file": (name, data, content_type)},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def download_link(page: httpx.Response, title: str) -> str:
    link = re.search(r'<a href="(/portal/documents/[^"]+)" download>' + re.escape(title) + "</a>", page.text)
    assert link, f"no download link for {title}"
    return link.group(1).replace("&amp;", "&")


def report_problem(platform: Any, staff: Any, unit_id: str, description: str) -> str:
    """A tenant of the unit, invited and signed in, reports a problem from the portal."""
    tenant = staff.post(
        "/contacts",
        {"type": "tenant", "first_name": "Tess", "last_name": random_name("Tenant"), "email": random_email()},
    )
    lease = staff.post(
        "/leases", {"unit_id": unit_id, "start_date": "2026-01-01", "tenant_contact_ids": [tenant["id"]]}
    )
    browser = platform.invite_and_accept(staff, tenant, PASSWORD)
    form = browser.get("/portal/maintenance/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    grant = re.search(r'name="m" value="([^"]+)"', form.text)
    assert token and grant
    made = browser.post(
        "/portal/maintenance",
        data={
            "csrf_token": token.group(1),
            "m": grant.group(1),
            "lease_id": lease["id"],
            "category": "structural",
            "priority": "high",
            "description": description,
        },
    )
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0].rsplit("/", 1)[1]


def test_an_authorised_account_sees_its_group_and_the_group_below(platform):
    staff = platform.new_organization()
    top = staff.post("/client-groups", {"name": random_name("Acme Holdings ")})
    north = staff.post("/client-groups", {"name": random_name("Acme North "), "parent_id": top["id"]})
    other = staff.post("/client-groups", {"name": random_name("Other Co ")})
    head_office = site(staff, top["id"], random_name("Head office "))
    depot = site(staff, north["id"], random_name("Depot "))
    elsewhere = site(staff, other["id"], random_name("Elsewhere "))
    cara = customer(staff)

    # Not invitable before being an authorised account of a group.
    eligibility = staff.get(f"/contacts/{cara['id']}/portal-eligibility")
    assert [reason["code"] for reason in eligibility["reasons"]] == ["no_client_group"]
    added = staff.api.post(f"/client-groups/{top['id']}/members", json={"contact_id": cara["id"]})
    assert added.status_code == 200, added.text
    assert [m["contact_id"] for m in added.json()["members"]] == [cara["id"]]
    assert staff.get(f"/client-groups/{north['id']}")["parent"]["id"] == top["id"]
    assert [x["id"] for x in staff.get(f"/client-groups/{top['id']}/properties")["items"]] == [
        head_office["id"]
    ]

    # Two requests on the depot: one stays open, one is completed.
    first = report_problem(platform, staff, depot["unit"]["id"], "The fire door does not close")
    second = report_problem(platform, staff, depot["unit"]["id"], "The sprinkler head leaks")
    staff.post(f"/maintenance-requests/{first}/status", {"status": "scheduled"}, 200)
    staff.post(f"/maintenance-requests/{second}/status", {"status": "completed"}, 200)

    person = platform.invite_and_accept(staff, cara, PASSWORD)
    home = person.get("/portal")
    assert home.status_code == 303 and home.headers["location"].startswith("/portal/customer?m=")
    dashboard = person.get(home.headers["location"])
    assert dashboard.status_code == 200
    assert head_office["name"] in dashboard.text and depot["name"] in dashboard.text
    assert elsewhere["name"] not in dashboard.text
    assert 'role="img"' in dashboard.text
    assert "1 open: Scheduled 1 (100%)." in dashboard.text  # the pie chart's description
    assert "2 requests in the last 12 months" in dashboard.text  # the bar chart's
    page = person.get(f"/portal/customer/properties/{depot['id']}")
    assert page.status_code == 200
    assert "The fire door does not close" in page.text and "The sprinkler head leaks" in page.text
    # Another group's property, or one made up: 404, with nothing of it.
    refused = person.get(f"/portal/customer/properties/{elsewhere['id']}")
    assert refused.status_code == 404 and elsewhere["name"] not in refused.text
    # A portfolio that is not theirs.
    assert person.get(f"/portal/customer?g={other['id']}").status_code == 404

    # Staff upload a document for the group below (customers see it by default) and one for the
    # depot shared with customers: the dashboard lists the first, the depot's page both, and the
    # customer downloads exactly the bytes uploaded.
    plan = upload(
        staff, "North service plan", "plan.pdf", PDF, "application/pdf", client_group_id=north["id"]
    )
    assessment = upload(
        staff,
        "Fire risk assessment",
        "assessment.txt",
        TEXT,
        "text/plain",
        property_id=depot["id"],
        audiences="customer",
    )
    hidden = upload(
        staff, "Landlord statement", "statement.pdf", PDF, "application/pdf", property_id=depot["id"]
    )
    dashboard = person.get(home.headers["location"])
    assert "North service plan" in dashboard.text and "Fire risk assessment" not in dashboard.text
    page = person.get(f"/portal/customer/properties/{depot['id']}")
    assert "Landlord statement" not in page.text
    for title, data in (("North service plan", PDF), ("Fire risk assessment", TEXT)):
        got = person.get(download_link(page, title))
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-disposition"].startswith("attachment;")
    assert person.get(download_link(dashboard, "North service plan")).content == PDF
    # A document not shared with customers, or one of another group, is "not found".
    assert person.get(f"/portal/documents/{hidden['id']}").status_code == 404
    theirs = upload(
        staff, "Other Co letter", "letter.pdf", PDF, "application/pdf", client_group_id=other["id"]
    )
    assert person.get(f"/portal/documents/{theirs['id']}").status_code == 404
    # Staff ask why: the chain names the group the customer's link runs through.
    why = staff.get(f"/documents/{plan['id']}/visibility", contact_id=cara["id"])
    assert why["visible"] is True and why["linked_as"] == ["customer"]
    assert (
        f"authorised on {top['name']}, a client group above {north['name']}" in why["chain"][0]["explanation"]
    )
    why = staff.get(f"/documents/{assessment['id']}/visibility", contact_id=cara["id"])
    assert why["visible"] is True and north["name"] in why["chain"][0]["explanation"]


def test_bad_client_group_input_is_refused_and_changes_nothing(platform):
    staff, them = platform.new_organization(), platform.new_organization()
    top = staff.post("/client-groups", {"name": random_name("Top ")})
    child = staff.post("/client-groups", {"name": random_name("Child "), "parent_id": top["id"]})
    theirs = them.post("/client-groups", {"name": random_name("Theirs ")})
    api: httpx.Client = staff.api

    cycle = api.patch(f"/client-groups/{top['id']}", json={"parent_id": child["id"]})
    assert cycle.status_code == 409, cycle.text
    assert cycle.json()["error"]["code"] == "conflict"
    foreign = api.post("/client-groups", json={"name": random_name("X "), "parent_id": theirs["id"]})
    assert foreign.status_code == 404, foreign.text
    assert api.get(f"/client-groups/{theirs['id']}").status_code == 404
    duplicate = api.post("/client-groups", json={"name": top["name"].upper()})
    assert duplicate.status_code == 422, duplicate.text
    assert api.post("/client-groups", json={"name": "X", "colour": "red"}).status_code == 422
    assert api.patch(f"/client-groups/{top['id']}", json={}).status_code == 422
    tenant = staff.post(
        "/contacts",
        {"type": "tenant", "first_name": "T", "last_name": random_name("T"), "email": random_email()},
    )
    not_customer = api.post(f"/client-groups/{top['id']}/members", json={"contact_id": tenant["id"]})
    assert not_customer.status_code == 422, not_customer.text
    prop = site(staff, None, random_name("Site "))
    moved = api.put(f"/properties/{prop['id']}/client-group", json={"client_group_id": theirs["id"]})
    assert moved.status_code == 404, moved.text

    assert staff.get(f"/client-groups/{top['id']}")["parent"] is None
    assert staff.get(f"/client-groups/{top['id']}")["members"] == []
    assert staff.get(f"/properties/{prop['id']}")["client_group_id"] is None
    assert [g["id"] for g in staff.get("/client-groups")["items"]] == sorted(
        [top["id"], child["id"]], key=lambda gid: (top if gid == top["id"] else child)["name"].lower()
    )


def test_staff_record_a_defect_on_a_site_without_a_lease_and_the_customer_follows_it(platform):
    staff, them = platform.new_organization(), platform.new_organization()
    group = staff.post("/client-groups", {"name": random_name("Acme Sites ")})
    yard = site(staff, group["id"], random_name("Yard "))  # a unit, no lease: no requests
    cara = customer(staff)
    staff.post(f"/client-groups/{group['id']}/members", {"contact_id": cara["id"]}, 200)
    person = platform.invite_and_accept(staff, cara, PASSWORD)
    dashboard = person.get("/portal/customer")
    assert "0 open defects" in dashboard.text

    leak = staff.post(
        f"/properties/{yard['id']}/defects",
        {
            "title": "Roof leak over bay 3",
            "description": "Water comes through the roof lights when it rains.",
            "severity": "critical",
            "found_on": "2026-01-05",
        },
    )
    assert (leak["status"], leak["severity"], leak["resolved_at"]) == ("open", "critical", None)
    rail = staff.post(
        f"/properties/{yard['id']}/defects",
        {"title": "Loose handrail", "description": "The loading bay stair rail moves.", "severity": "low"},
    )
    assert [d["id"] for d in staff.get(f"/properties/{yard['id']}/defects", status="open")["items"]] == [
        rail["id"],
        leak["id"],
    ]

    # The dashboard counts them beside the open requests; the property's page lists them above
    # its maintenance requests, with what a customer needs to know.
    dashboard = person.get("/portal/customer")
    assert "2 open defects" in dashboard.text and "0 open requests" in dashboard.text
    page = person.get(f"/portal/customer/properties/{yard['id']}")
    assert page.status_code == 200
    open_list = page.text.split('id="open-defects"')[1].split("</ul>")[0]
    assert "Roof leak over bay 3" in open_list and "Loose handrail" in open_list
    assert "Water comes through the roof lights when it rains." in open_list
    assert "Critical severity" in open_list and "5 January 2026" in open_list
    assert page.text.index("Open defects (2)") < page.text.index("Open maintenance requests")
    assert "Resolved defects (0)" in page.text

    # Resolved, it moves to the resolved list and out of the count.
    resolved = staff.post(f"/defects/{leak['id']}/status", {"status": "resolved"}, 200)
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    page = person.get(f"/portal/customer/properties/{yard['id']}")
    assert "Open defects (1)" in page.text and "Resolved defects (1)" in page.text
    resolved_list = page.text.split('id="resolved-defects"')[1].split("</ul>")[0]
    assert "Roof leak over bay 3" in resolved_list
    assert "Roof leak over bay 3" not in page.text.split('id="open-defects"')[1].split("</ul>")[0]
    assert "1 open defect<" in person.get("/portal/customer").text

    # Refused, and nothing changes: a second resolve (409 with what is allowed), a date in the
    # future, an unknown field, an unknown status; another organization finds nothing.
    again = staff.api.post(f"/defects/{leak['id']}/status", json={"status": "resolved"})
    assert again.status_code == 409, again.text
    assert again.json()["error"]["details"]["allowed"] == ["open"]
    future = staff.api.post(
        f"/properties/{yard['id']}/defects",
        json={"title": "Later", "description": "x", "severity": "low", "found_on": "2999-01-01"},
    )
    assert future.status_code == 422, future.text
    extra = staff.api.post(
        f"/properties/{yard['id']}/defects",
        json={"title": "Extra", "description": "x", "severity": "low", "status": "resolved"},
    )
    assert extra.status_code == 422, extra.text
    assert staff.api.post(f"/defects/{rail['id']}/status", json={"status": "fixed"}).status_code == 422
    assert them.api.get(f"/properties/{yard['id']}/defects").status_code == 404
    assert them.api.post(f"/defects/{rail['id']}/status", json={"status": "resolved"}).status_code == 404
    created = them.api.post(
        f"/properties/{yard['id']}/defects", json={"title": "T", "description": "x", "severity": "low"}
    )
    assert created.status_code == 404, created.text
    listed = staff.get(f"/properties/{yard['id']}/defects")["items"]
    assert [(d["title"], d["status"]) for d in listed] == [
        ("Loose handrail", "open"),
        ("Roof leak over bay 3", "resolved"),
    ]
