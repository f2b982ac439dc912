"""Relet's whole workflow in a real browser (Debian's Chromium driven by Playwright), from the staff
console to the portal: staff send the portal invitation from Contacts > Tenants > Actions; on a
phone-sized window the tenant opens the emailed link, creates the account, reads the balance, the
statement and the lease's documents, and reports a problem with the form (labels, keyboard);
staff schedule it in the console, and the tenant follows the emailed link to see the new status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.phone import PHONE, fits_the_window

PASSWORD = "copper lanterns sway gently"
RECEIPT = "Deposit received: £1,200.00. Thank you.\n"


@pytest.mark.browser
def test_a_tenant_reads_the_statement_and_reports_a_problem_on_a_phone(platform, browser, screenshots):
    today = datetime.now(UTC).date()
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    lease_id = tenant["lease"]["id"]
    platform.secrets_seen.add(PASSWORD)
    staff.post(
        f"/leases/{lease_id}/charges",
        {
            "description": "November rent",
            "amount_minor": 120_000,
            "due_date": str(today - timedelta(days=20)),
        },
    )
    staff.post(
        f"/leases/{lease_id}/charges",
        {
            "description": "December rent",
            "amount_minor": 120_000,
            "due_date": str(today + timedelta(days=10)),
        },
    )
    staff.post(
        f"/leases/{lease_id}/payments", {"amount_minor": 100_000, "paid_on": str(today), "reference": "SO"}
    )
    uploaded = staff.api.post(
        "/documents",
        data={"kind": "receipt", "title": "Deposit receipt", "lease_id": lease_id},
        files={"file": ("deposit-receipt.txt", RECEIPT.encode(), "text/plain")},
    )
    assert uploaded.status_code == 201, uploaded.text

    # Staff: Contacts > Tenants > Actions > Send Portal Invitation, then Send invitation.
    office = browser.new_page()
    office.set_default_timeout(20_000)
    office.goto(f"{platform.config.public_base_url}/console/login")
    office.get_by_label("Email").fill(staff.email)
    office.get_by_label("Password").fill(staff.password)
    office.get_by_role("button", name="Sign in").click()
    row = office.get_by_role("row").filter(has_text=tenant["email"])
    row.get_by_text("Actions").click()
    row.get_by_role("link", name="Send Portal Invitation").click()
    office.get_by_role("button", name="Send invitation").click()
    expect(office.get_by_role("status")).to_contain_text(
        f"Portal invitation sent to {tenant['display_name']}"
    )
    office.close()

    # The tenant, on a phone: the emailed link, Create Your Portal Account, and in.
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(platform.link_in_email(tenant["email"]))
    expect(page.get_by_role("heading", name="Create Your Portal Account")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create Account & Access Portal").click()

    # The dashboard: the current lease and what is owed.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {tenant['display_name']}")
    expect(page.locator("#main")).to_contain_text("Balance £1,400.00")
    expect(page.locator("#main")).to_contain_text("£200.00 overdue")
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-tenant-dashboard-phone.png"), full_page=True)

    page.get_by_role("link", name=re.compile("^Lease details and statement")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Flat 2, {tenant['property']['name']}")
    statement = page.get_by_role("table")
    expect(statement.get_by_role("row").filter(has_text="November rent")).to_contain_text("Overdue")
    expect(statement.get_by_role("row").filter(has_text="December rent")).not_to_contain_text("Overdue")
    expect(statement.get_by_role("row").filter(has_text="Payment received")).to_contain_text("£1,000.00")
    # The document staff shared on the lease: listed, and downloaded with a click.
    documents = page.get_by_role("region", name="Documents")
    expect(documents).to_contain_text("Receipt · deposit-receipt.txt")
    with page.expect_download() as download_info:
        documents.get_by_role("link", name="Deposit receipt").click()
    download = download_info.value
    assert download.suggested_filename == "deposit-receipt.txt"
    assert Path(download.path()).read_text(encoding="utf-8") == RECEIPT
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-tenant-lease-phone.png"), full_page=True)

    # Report a problem, by label and keyboard.
    page.get_by_role("navigation", name="Portal sections").get_by_role(
        "link", name="Maintenance requests"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Maintenance requests")
    page.screenshot(path=str(screenshots / "portal-tenant-maintenance-list-phone.png"), full_page=True)
    page.get_by_role("link", name="Report a problem").click()
    expect(page.get_by_label("Home", exact=True)).to_have_value(lease_id)
    page.get_by_role("button", name="Submit request").click()  # nothing filled in: told what to fix
    expect(page.get_by_role("alert")).to_contain_text("Choose what kind of problem it is.")
    expect(page.get_by_label("What kind of problem is it?")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("What kind of problem is it?").select_option("heating")
    page.get_by_role("radio", name=re.compile("^Urgent")).check()
    page.get_by_label("Describe the problem").fill("No hot water since this morning.")
    page.screenshot(path=str(screenshots / "portal-tenant-report-problem-phone.png"), full_page=True)
    page.get_by_role("button", name="Submit request").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Your request was submitted")
    expect(page.get_by_role("heading", level=1)).to_have_text("Heating request")
    request_id = page.url.split("?")[0].rsplit("/", 1)[1]

    # Staff, in the console (a browser of their own, also phone-sized): Maintenance > the request >
    # Change status, by label.
    console = browser.new_context(viewport=PHONE).new_page()
    console.set_default_timeout(20_000)
    console.goto(f"{platform.config.public_base_url}/console/login")
    assert fits_the_window(console)
    console.screenshot(path=str(screenshots / "console-login-phone.png"), full_page=True)
    console.get_by_label("Email").fill(staff.email)
    console.get_by_label("Password").fill(staff.password)
    console.get_by_role("button", name="Sign in").click()
    console.get_by_role("navigation", name="Console").get_by_role("link", name="Maintenance").click()
    expect(console.get_by_role("heading", level=1)).to_have_text("Maintenance requests")
    console.screenshot(path=str(screenshots / "console-maintenance-phone.png"), full_page=True)
    console.get_by_role("link", name=re.compile("^Heating: No hot water")).click()
    expect(console.get_by_role("heading", level=1)).to_have_text("Heating request")
    console.get_by_label("New status").select_option("scheduled")
    console.get_by_label("Note for the tenant").fill("An engineer comes tomorrow at 10.")
    console.get_by_role("button", name="Change status").click()
    expect(console.get_by_role("status")).to_contain_text("The status is changed")
    expect(console.locator("dt:text-is('Status') + dd")).to_have_text("Scheduled")
    assert fits_the_window(console)
    console.screenshot(path=str(screenshots / "console-maintenance-request-phone.png"), full_page=True)
    console.context.close()

    # The tenant's email links to the request; the portal shows the new status there.
    link = f"{platform.config.public_base_url}/portal/maintenance/{request_id}"
    emails = platform.sink.wait_for(tenant["email"], count=2, timeout=60)
    update = max(emails, key=lambda m: m["id"])
    assert update["subject"].endswith("is now scheduled")
    assert update["links"] == [link]
    page.goto(link)
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Scheduled")
    history = page.get_by_role("list").filter(has_text="An engineer comes tomorrow at 10.")
    expect(history.get_by_role("heading")).to_have_text(["Scheduled", "Submitted"])
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-tenant-maintenance-request-phone.png"), full_page=True)

    # Signed out, the portal's sign-in and forgot-password pages.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the portal")
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-login-phone.png"), full_page=True)
    page.get_by_role("link", name=re.compile("Forgot")).click()
    expect(page.get_by_label("Email")).to_be_visible()
    page.screenshot(path=str(screenshots / "portal-forgot-password-phone.png"), full_page=True)
    context.close()
