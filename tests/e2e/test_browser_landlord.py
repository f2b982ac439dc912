"""Rezi's client portal in a real browser (Debian's Chromium driven by Playwright), from the staff
console to the portal: staff open the landlord's page and turn on Enable Access; the landlord opens
the emailed link, creates the account and, on a phone-sized window, opens their property's page
with the keyboard and reads the viewing feedback, the offers, the sale's progress (an ordered list
of stages) and the tenancies of its units; staff hide feedback for them on the contact page's
Visibility, and the landlord's next page load shows none."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shared.testing.helpers import random_email, random_name
from tests.e2e.phone import PHONE, fits_the_window

PASSWORD = "saffron meadows glow softly"
FEEDBACK = "Loved the garden and the light; would like a second viewing."


@pytest.mark.browser
def test_a_landlord_reads_viewing_feedback_until_it_is_hidden_on_a_phone(platform, browser, screenshots):
    staff = platform.new_organization()
    prop = staff.post(
        "/properties",
        {
            "name": random_name("Willow Barn "),
            "address_line1": "9 Mill Lane",
            "city": "Leeds",
            "postcode": "LS2 9JT",
        },
    )
    landlord = staff.post(
        "/contacts",
        {
            "type": "landlord",
            "first_name": "Lara",
            "last_name": random_name("Landlord"),
            "email": random_email(),
        },
    )
    staff.post(f"/properties/{prop['id']}/contacts", {"contact_id": landlord["id"], "role": "landlord"}, 200)
    viewing = staff.post(
        f"/properties/{prop['id']}/viewings",
        {"scheduled_at": "2026-03-14T10:30:00Z", "applicant_name": "Priya Applicant"},
    )
    staff.post(f"/viewings/{viewing['id']}/feedback", {"feedback": FEEDBACK, "interest_level": "high"}, 200)
    offer = staff.post(
        f"/properties/{prop['id']}/offers", {"amount_minor": 412_500_00, "offerer_name": "Jo Buyer"}
    )
    staff.post(f"/offers/{offer['id']}/status", {"status": "accepted"}, 200)
    tenant = staff.post(
        "/contacts",
        {"type": "tenant", "first_name": "Tom", "last_name": random_name("Tenant"), "email": random_email()},
    )
    unit = staff.post(f"/properties/{prop['id']}/units", {"name": "Flat 1"})
    lease = {"unit_id": unit["id"], "start_date": "2025-09-01", "tenant_contact_ids": [tenant["id"]]}
    staff.post("/leases", lease)
    for stage, day in (
        ("instructed", "2026-01-05"),
        ("on_the_market", "2026-01-12"),
        ("under_offer", "2026-02-01"),
    ):
        note = {"note": "Listed with photos and a floor plan"} if stage == "on_the_market" else {}
        staff.post(
            f"/properties/{prop['id']}/progress", {"kind": "sale", "stage": stage, "reached_on": day, **note}
        )

    platform.secrets_seen.add(PASSWORD)

    # Staff: Contacts > Landlords > the landlord > Enable Access.
    console = browser.new_page()
    console.set_default_timeout(20_000)
    console.goto(f"{platform.config.public_base_url}/console/login")
    console.get_by_label("Email").fill(staff.email)
    console.get_by_label("Password").fill(staff.password)
    console.get_by_role("button", name="Sign in").click()
    console.get_by_role("link", name="Landlords", exact=True).click()
    console.get_by_role("link", name=landlord["display_name"]).click()
    expect(console.get_by_role("heading", level=1)).to_have_text(landlord["display_name"])
    switch = console.get_by_role("switch", name="Enable Access")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.focus()
    console.keyboard.press("Enter")
    expect(console.get_by_role("status")).to_contain_text("Portal access is on")
    expect(console.get_by_role("switch", name="Enable Access")).to_have_attribute("aria-checked", "true")
    console.screenshot(path=str(screenshots / "console-contact-access-on.png"), full_page=True)

    # The landlord: the email's link, the account, then the portal on a phone.
    link = platform.link_in_email(landlord["email"])
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(link)
    expect(page.get_by_role("heading", name="Create Your Portal Account")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create Account & Access Portal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {landlord['display_name']}")

    # From the home page to the property's page, by keyboard.
    page.get_by_role("link", name=f"Viewings and offers: {prop['name']}").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(prop["name"])
    viewings = page.get_by_role("region", name="Viewings")
    expect(viewings).to_contain_text("Priya Applicant")
    expect(viewings).to_contain_text("Interest: High")
    expect(viewings).to_contain_text(FEEDBACK)
    offers = page.get_by_role("table", name="Offers on this property, latest first")
    expect(offers.get_by_role("row").filter(has_text="Jo Buyer")).to_contain_text("£412,500.00")
    expect(offers.get_by_role("row").filter(has_text="Jo Buyer")).to_contain_text("Accepted")
    progress = page.get_by_role("region", name="Sale progress")
    expect(progress).to_contain_text("Now: Under offer, since 1 February 2026")
    steps = progress.get_by_role("list", name="Every stage, oldest first").get_by_role("listitem")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("Sale: Instructed, 5 January 2026")
    expect(steps.nth(1)).to_contain_text("Listed with photos and a floor plan")
    expect(steps.nth(2)).to_contain_text("Sale: Under offer, 1 February 2026")
    tenancies = page.get_by_role("table", name="Tenancies of this property's units, latest start first")
    expect(tenancies.get_by_role("row").filter(has_text="Flat 1")).to_contain_text("1 September 2025")
    expect(tenancies.get_by_role("row").filter(has_text="Flat 1")).to_contain_text("Current")
    expect(page.get_by_role("region", name="Tenancies")).not_to_contain_text(tenant["email"])
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-landlord-property-phone.png"), full_page=True)

    # Staff: the contact page's Visibility, Hide.
    console.reload()
    visibility = console.get_by_role("region", name="Visibility")
    expect(visibility).to_contain_text("Viewing feedback is shown to")
    visibility.get_by_label("Hide").check()
    visibility.get_by_role("button", name="Save visibility").click()
    expect(console.get_by_role("status")).to_contain_text("sees this from their next page load")
    expect(console.get_by_role("region", name="Visibility")).to_contain_text(
        "Viewing feedback is hidden from"
    )
    expect(console.get_by_role("region", name="Access audit")).to_contain_text(
        "Account created, access granted"
    )
    console.screenshot(path=str(screenshots / "console-contact-visibility-hidden.png"), full_page=True)
    console.get_by_role("navigation", name="Console").get_by_role("link", name="Visibility").click()
    landlords = console.get_by_role("row").filter(has_text="Landlords")
    expect(landlords).to_contain_text("Shown")  # the organization's: only this landlord is hidden
    console.screenshot(path=str(screenshots / "console-visibility.png"), full_page=True)
    page.reload()
    expect(viewings).to_contain_text("Priya Applicant")
    expect(viewings).not_to_contain_text(FEEDBACK)
    expect(viewings).not_to_contain_text("Interest")
    page.screenshot(
        path=str(screenshots / "portal-landlord-property-feedback-hidden-phone.png"), full_page=True
    )
    context.close()
