"""Uptick's workflow in a real browser (Debian's Chromium driven by Playwright): staff make a client
group with a parent group from the console, put properties in both, add an authorised account and
send the portal invitation; the customer creates their account from the emailed link on a
phone-sized window and sees every property of both groups with the two charts, a defect staff
recorded on a property, and the documents of the group and of a property, which they download;
staff View As them.

The customer contact, the properties, the tenants' maintenance requests (what the charts count) and
the documents are made through the staff API and the tenant portal first: they are other pages'
workflows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.testing.helpers import random_email, random_name
from tests.e2e.phone import PHONE, fits_the_window
from tests.e2e.test_customer_portal import report_problem

PASSWORD = "granite swallows circle twice"
PDF = b"%PDF-1.7\n% depot fire risk assessment\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def site(staff: Any, name: str) -> dict[str, Any]:
    prop = staff.post(
        "/properties", {"name": name, "address_line1": "1 Dock Road", "city": "Hull", "postcode": "HU1 1AA"}
    )
    return {**prop, "unit": staff.post(f"/properties/{prop['id']}/units", {"name": "Unit 1"})}


@pytest.mark.browser
def test_uptick_client_groups_from_the_console_to_the_customers_dashboard(platform, browser, screenshots):
    staff = platform.new_organization()
    top_name, north_name = random_name("Acme Holdings "), random_name("Acme North ")
    head_office, depot = site(staff, random_name("Head office ")), site(staff, random_name("Depot "))
    cara = staff.post(
        "/contacts",
        {
            "type": "customer",
            "first_name": "Cara",
            "last_name": random_name("Customer"),
            "email": random_email(),
        },
    )
    first = report_problem(platform, staff, depot["unit"]["id"], "The fire door does not close")
    second = report_problem(platform, staff, depot["unit"]["id"], "An emergency light is out")
    report_problem(platform, staff, head_office["unit"]["id"], "The sprinkler head leaks")
    staff.post(f"/maintenance-requests/{first}/status", {"status": "scheduled"}, 200)
    staff.post(f"/maintenance-requests/{second}/status", {"status": "completed"}, 200)

    # Staff, in the console: a group, a group inside it, a property in each, an authorised account.
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    console = desk.new_page()
    console.set_default_timeout(20_000)
    console.goto(f"{platform.config.public_base_url}/console/login")
    console.get_by_label("Email").fill(staff.email)
    console.get_by_label("Password").fill(staff.password)
    console.get_by_role("button", name="Sign in").click()
    console.get_by_role("navigation", name="Console").get_by_role("link", name="Client groups").click()
    expect(console.get_by_role("heading", level=1)).to_have_text("Client groups")
    console.get_by_label("Name").fill(top_name)
    console.get_by_role("button", name="Create group").click()
    expect(console.get_by_role("heading", level=1)).to_have_text(top_name)
    expect(console.get_by_role("status")).to_have_text("Client group created.")
    top_url = console.url.split("?")[0]

    console.get_by_role("link", name="Client groups", exact=True).first.click()
    console.get_by_label("Name").fill(north_name)
    console.get_by_label("Parent group").select_option(label=top_name)
    console.get_by_role("button", name="Create group").click()
    expect(console.get_by_role("heading", level=1)).to_have_text(north_name)
    expect(console.get_by_role("navigation", name="Where this group sits")).to_contain_text(top_name)
    console.get_by_label("Add a property").select_option(label=depot["name"])
    console.get_by_role("button", name="Add property").click()
    expect(console.get_by_role("status")).to_have_text("Property added to the group.")

    console.goto(top_url)
    expect(console.locator("#children")).to_contain_text(north_name)
    console.get_by_label("Add a property").select_option(label=head_office["name"])
    console.get_by_role("button", name="Add property").click()
    expect(console.locator("#group-properties")).to_contain_text(head_office["name"])
    console.get_by_label("Add an authorised account").select_option(value=cara["id"])
    console.get_by_role("button", name="Add account").click()
    accounts = console.get_by_role("table").filter(has_text="authorised account")
    expect(accounts.get_by_role("row").filter(has_text=cara["email"])).to_contain_text("Not invited")
    console.screenshot(path=str(screenshots / "console-client-group.png"), full_page=True)
    console.get_by_role("button", name=f"Send Portal Invitation to {cara['display_name']}").click()
    expect(console.get_by_role("status")).to_have_text("Portal invitation sent.")
    expect(console.get_by_role("row").filter(has_text=cara["email"])).not_to_contain_text("Not invited")
    console.screenshot(path=str(screenshots / "console-client-group-invited.png"), full_page=True)
    console.get_by_role("link", name="Client groups", exact=True).first.click()
    expect(console.locator("#groups")).to_contain_text(north_name)
    console.screenshot(path=str(screenshots / "console-client-groups.png"), full_page=True)

    # Staff upload a document for the top group and one for the depot shared with customers.
    top_id = top_url.rstrip("/").rsplit("/", 1)[1]
    for title, place in (
        ("Group insurance certificate", {"client_group_id": top_id}),
        ("Depot fire risk assessment", {"property_id": depot["id"], "audiences": "customer"}),
    ):
        made = staff.api.post(
            "/documents",
            data={"kind": "other", "title": title, **place},
            files={"file": (f"{title}.pdf", PDF, "application/pdf")},
        )
        assert made.status_code == 201, made.text
    # And a defect their technician found on the depot.
    staff.post(
        f"/properties/{depot['id']}/defects",
        {
            "title": "Cracked fire door glass",
            "description": "East stair door, wired glass.",
            "severity": "high",
        },
    )

    # The customer, on a phone: the emailed link, the account, the dashboard.
    link = platform.link_in_email(cara["email"])
    phone = browser.new_context(viewport=PHONE)
    page = phone.new_page()
    page.set_default_timeout(20_000)
    page.goto(link)
    expect(page.get_by_role("heading", name="Create Your Portal Account")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create Account & Access Portal").click()
    platform.secrets_seen.add(PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text(top_name)
    properties = page.locator("#properties")
    expect(properties.get_by_role("link")).to_have_text(sorted([head_office["name"], depot["name"]]))
    expect(properties.get_by_role("listitem").filter(has_text=depot["name"])).to_contain_text(
        "1 open request"
    )
    expect(properties.get_by_role("listitem").filter(has_text=depot["name"])).to_contain_text("1 open defect")
    pie = page.get_by_role("img", name=re.compile("Pie chart of open maintenance requests by status"))
    expect(pie).to_be_visible()
    expect(page.locator("#status-chart-svg-desc")).to_have_text(
        "2 open: Submitted 1 (50%), Scheduled 1 (50%)."
    )
    expect(
        page.get_by_role("table", name=re.compile("Open requests by status")).get_by_role("row")
    ).to_have_count(5)
    bars = page.get_by_role("img", name=re.compile("Bar chart of maintenance requests per month"))
    expect(bars).to_be_visible()
    expect(page.locator("#month-chart-svg-desc")).to_contain_text("3 requests in the last 12 months")
    expect(page.locator("#documents").get_by_role("link")).to_have_text(["Group insurance certificate"])
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-customer-dashboard-phone.png"), full_page=True)

    # By keyboard to the depot's page.
    properties.get_by_role("link", name=depot["name"]).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(depot["name"])
    defects = page.get_by_role("region", name="Open defects (1)")
    expect(defects.get_by_role("heading", level=3)).to_have_text(["Cracked fire door glass"])
    expect(defects).to_contain_text("High severity")
    expect(page.locator("#open-requests")).to_contain_text("The fire door does not close")
    expect(page.locator("#closed-requests")).to_contain_text("An emergency light is out")
    documents = page.get_by_role("region", name="Documents")
    expect(documents.get_by_role("listitem")).to_contain_text(["Depot fire risk assessment"])
    expect(documents.get_by_role("listitem").filter(has_text="Depot fire risk assessment")).to_contain_text(
        "This property"
    )
    with page.expect_download() as downloaded:
        documents.get_by_role("link", name="Depot fire risk assessment").click()
    saved = downloaded.value.path()
    assert saved is not None and saved.read_bytes() == PDF
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-customer-property-phone.png"), full_page=True)

    # A second portfolio: the switcher appears, and shows the other group's properties.
    retail = staff.post("/client-groups", {"name": random_name("Acme Retail ")})
    shop = site(staff, random_name("Shop "))
    staff.api.put(f"/properties/{shop['id']}/client-group", json={"client_group_id": retail["id"]})
    staff.post(f"/client-groups/{retail['id']}/members", {"contact_id": cara["id"]}, 200)
    page.get_by_role("link", name="Back to your properties").click()
    switcher = page.get_by_role("navigation", name="View as portfolio")
    expect(switcher.get_by_text(top_name)).to_have_attribute("aria-current", "page")
    switcher.get_by_role("link", name=retail["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(retail["name"])
    expect(page.locator("#properties").get_by_role("link")).to_have_text([shop["name"]])
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-customer-portfolio-switcher-phone.png"), full_page=True)
    phone.close()

    # Staff View As the account, from the group's page: read-only, with the banner.
    console.goto(top_url)
    console.get_by_role("button", name=f"View As {cara['display_name']}").click()
    banner = console.get_by_role("region", name="View As")
    expect(banner).to_contain_text(cara["display_name"])
    expect(console.get_by_role("heading", level=1)).to_have_text(top_name)
    expect(console.locator("#properties").get_by_role("link")).to_have_count(2)
    console.screenshot(path=str(screenshots / "portal-customer-view-as.png"), full_page=True)
    banner.get_by_role("button", name="End View As").click()
    expect(console).to_have_url(re.compile("/console/"))
    desk.close()
