"""Relet's flow in a real browser (Debian's Chromium driven by Playwright): staff send the
invitation from Contacts > Tenants > Actions, the email arrives, the tenant opens the link, creates
the account and lands on the portal page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "violet lanterns drift south"


@pytest.fixture
def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed: make browser (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.mark.browser
def test_relet_flow_from_the_console_to_the_portal(platform, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()
    platform.secrets_seen.add(PASSWORD)

    # Staff: Contacts > Tenants > Actions > Send Portal Invitation
    console = browser.new_page()
    console.set_default_timeout(20_000)
    console.goto(f"{platform.config.public_base_url}/console/login")
    console.get_by_label("Email").fill(staff.email)
    console.get_by_label("Password").fill(staff.password)
    console.get_by_role("button", name="Sign in").click()
    expect(console.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(console.get_by_role("link", name="Tenants")).to_have_attribute("aria-current", "page")
    row = console.get_by_role("row").filter(has_text=tenant["email"])
    expect(row.get_by_text("Not invited")).to_be_visible()
    row.get_by_text("Actions").click()
    console.screenshot(path=str(SCREENSHOTS / "console-tenants-actions.png"), full_page=True)
    row.get_by_role("button", name="Send Portal Invitation").click()
    expect(console.get_by_role("status")).to_contain_text(
        f"Portal invitation sent to {tenant['display_name']}"
    )
    expect(console.get_by_role("row").filter(has_text=tenant["email"])).to_contain_text(
        re.compile("Invited|Delivered")
    )
    console.screenshot(path=str(SCREENSHOTS / "console-invitation-sent.png"), full_page=True)

    # The tenant: the email arrives; they open it and follow the link.
    platform.link_in_email(tenant["email"])
    mail = browser.new_page()
    mail.set_default_timeout(20_000)
    mail.goto(platform.config.mail_url)
    mail.get_by_role("row").filter(has_text=tenant["email"]).get_by_role("link").first.click()
    invite_link = mail.get_by_role("link").filter(has_text="/invite/").first
    expect(invite_link).to_be_visible()
    invite_link.click()

    expect(mail.get_by_role("heading", name="Create Your Portal Account")).to_be_visible()
    expect(mail.get_by_label("Email")).to_have_value(tenant["email"])
    expect(mail.get_by_label("Email")).not_to_be_editable()
    mail.screenshot(path=str(SCREENSHOTS / "portal-create-account.png"), full_page=True)
    mail.get_by_label("Password", exact=True).fill(PASSWORD)
    mail.get_by_label("Confirm password").fill(PASSWORD)
    mail.get_by_role("button", name="Create Account & Access Portal").click()

    expect(mail).to_have_url(re.compile(r"/portal$"))
    expect(mail.get_by_role("heading", level=1)).to_have_text(f"Welcome, {tenant['display_name']}")
    expect(mail.get_by_text(tenant["property"]["name"])).to_be_visible()
    mail.screenshot(path=str(SCREENSHOTS / "portal-home.png"), full_page=True)
