"""Rezi's client portal in a real browser (Debian's Chromium driven by Playwright) on a phone-sized
window: a landlord signs in, opens their property's page from the portal home with the keyboard,
reads the viewing feedback and the offers; staff hide feedback for them, and the next page load
shows none."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shared.testing.helpers import random_email, random_name

PASSWORD = "saffron meadows glow softly"
PHONE = {"width": 375, "height": 740}
FEEDBACK = "Loved the garden and the light; would like a second viewing."


def fits_the_window(page: Page) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling on a phone."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


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
    platform.invite_and_accept(staff, landlord, PASSWORD)
    viewing = staff.post(
        f"/properties/{prop['id']}/viewings",
        {"scheduled_at": "2026-03-14T10:30:00Z", "applicant_name": "Priya Applicant"},
    )
    staff.post(f"/viewings/{viewing['id']}/feedback", {"feedback": FEEDBACK, "interest_level": "high"}, 200)
    offer = staff.post(
        f"/properties/{prop['id']}/offers", {"amount_minor": 412_500_00, "offerer_name": "Jo Buyer"}
    )
    staff.post(f"/offers/{offer['id']}/status", {"status": "accepted"}, 200)

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{platform.config.public_base_url}/login")
    page.get_by_label("Email").fill(landlord["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
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
    assert fits_the_window(page)
    page.screenshot(path=str(screenshots / "portal-landlord-property-phone.png"), full_page=True)

    hidden = staff.api.put(
        "/visibility/viewing-feedback", json={"contact_id": landlord["id"], "visible": False}
    )
    assert hidden.status_code == 200, hidden.text
    page.reload()
    expect(viewings).to_contain_text("Priya Applicant")
    expect(viewings).not_to_contain_text(FEEDBACK)
    expect(viewings).not_to_contain_text("Interest")
    page.screenshot(
        path=str(screenshots / "portal-landlord-property-feedback-hidden-phone.png"), full_page=True
    )
    context.close()
