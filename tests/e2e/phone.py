"""What the browser tests mean by a phone: its window, and a page that fits it."""

from __future__ import annotations

from playwright.sync_api import Page

PHONE = {"width": 375, "height": 740}


def fits_the_window(page: Page) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling on a phone."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
