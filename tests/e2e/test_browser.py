"""Relet's flow in a real browser (Debian's Chromium driven by Playwright): staff send the
invitation from Contacts > Tenants > Actions, which first shows whom it goes to; the email
arrives, the tenant opens the link, creates the account and lands on the portal page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

PASSWORD = "violet lanterns drift south"


@pytest.mark.browser
def test_relet_flow_from_the_console_to_the_portal(platform, browser, screenshots):
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
    expect(console.get_by_role("link", name="Tenants", exact=True)).to_have_attribute("aria-current", "page")
    row = console.get_by_role("row").filter(has_text=tenant["email"])
    expect(row.get_by_text("Not invited")).to_be_visible()
    row.get_by_text("Actions").click()
    console.screenshot(path=str(screenshots / "console-tenants-actions.png"), full_page=True)
    row.get_by_role("link", name="Send Portal Invitation").click()
    # Whom it goes to, and that nothing stands in the way, before anything is sent.
    expect(console.get_by_role("heading", level=1)).to_have_text("Send Portal Invitation")
    expect(console.get_by_text(tenant["email"])).to_be_visible()
    console.screenshot(path=str(screenshots / "console-send-invitation.png"), full_page=True)
    console.get_by_role("button", name="Send invitation").click()
    expect(console.get_by_role("status")).to_contain_text(
        f"Portal invitation sent to {tenant['display_name']}"
    )
    expect(console.get_by_role("row").filter(has_text=tenant["email"])).to_contain_text(
        re.compile("Invited|Delivered")
    )
    console.screenshot(path=str(screenshots / "console-invitation-sent.png"), full_page=True)

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
    mail.screenshot(path=str(screenshots / "portal-create-account.png"), full_page=True)
    mail.get_by_label("Password", exact=True).fill(PASSWORD)
    mail.get_by_label("Confirm password").fill(PASSWORD)
    mail.get_by_role("button", name="Create Account & Access Portal").click()

    expect(mail).to_have_url(re.compile(r"/portal$"))
    expect(mail.get_by_role("heading", level=1)).to_have_text(f"Welcome, {tenant['display_name']}")
    expect(mail.get_by_text(tenant["property"]["name"])).to_be_visible()
    mail.screenshot(path=str(screenshots / "portal-home.png"), full_page=True)


@pytest.mark.browser
def test_staff_view_as_a_tenant_from_the_console(platform, browser, screenshots):
    """Contacts > Tenants > Actions > View As: the portal as the tenant sees it, under the banner;
    End View As returns to the console."""
    staff = platform.new_organization()
    tenant = staff.tenant_with_lease()  # not invited yet: a preview

    console = browser.new_page()
    console.set_default_timeout(20_000)
    console.goto(f"{platform.config.public_base_url}/console/login")
    console.get_by_label("Email").fill(staff.email)
    console.get_by_label("Password").fill(staff.password)
    console.get_by_role("button", name="Sign in").click()
    row = console.get_by_role("row").filter(has_text=tenant["email"])
    row.get_by_text("Actions").click()
    row.get_by_role("button", name="View As").click()

    expect(console.get_by_role("heading", name=f"Welcome, {tenant['display_name']}")).to_be_visible()
    banner = console.get_by_role("region", name="View As")
    expect(banner).to_contain_text(f"You are viewing the portal as {tenant['display_name']} (read-only)")
    console.screenshot(path=str(screenshots / "portal-view-as-banner.png"), full_page=True)

    banner.get_by_role("button", name="End View As").click()
    expect(console.get_by_role("status")).to_contain_text(
        f"You are no longer viewing the portal as {tenant['display_name']}"
    )
    assert not [c for c in console.context.cookies() if c["name"] == "view_as_session"]


@pytest.mark.browser
def test_staff_bulk_invite_tenants_and_watch_the_progress_bar(platform, browser, screenshots):
    """Contacts > Tenants > Invite all tenants…: the count first, then a progress bar that fills
    (the page refreshes itself) until every tenant has been checked."""
    staff = platform.new_organization()
    tenants = [staff.tenant_with_lease() for _ in range(3)]

    console = browser.new_page()
    console.set_default_timeout(20_000)
    console.goto(f"{platform.config.public_base_url}/console/login")
    console.get_by_label("Email").fill(staff.email)
    console.get_by_label("Password").fill(staff.password)
    console.get_by_role("button", name="Sign in").click()
    console.get_by_role("link", name="Invite all tenants…").click()
    expect(console.get_by_text("3 contacts match.")).to_be_visible()
    console.screenshot(path=str(screenshots / "console-bulk-confirm.png"), full_page=True)
    console.get_by_role("button", name="Start inviting").click()

    expect(console.get_by_role("heading", name="Done")).to_be_visible(timeout=60_000)
    progress = console.get_by_label(re.compile(r"3 of 3 contacts checked"))
    expect(progress).to_have_attribute("value", "3")
    expect(console.get_by_text("Invited", exact=True).locator("xpath=following-sibling::dd[1]")).to_have_text(
        "3"
    )
    console.screenshot(path=str(screenshots / "console-bulk-progress.png"), full_page=True)
    for tenant in tenants:
        platform.link_in_email(tenant["email"])
