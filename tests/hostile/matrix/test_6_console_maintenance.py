"""The console's maintenance pages."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.world import World, fresh_request, snapshot


def test_the_console_maintenance_pages(platform: Any, world: World, matrix: Matrix) -> None:
    """A's staff read A's requests; editors move them on, viewers may not (403, nothing changes);
    B's admin sees none of A's (404); anyone else is sent to sign in."""
    before = snapshot(world)
    shared_request = world.maintenance_request_id
    for caller in world.callers:
        browser = caller.browser
        staff = caller.kind == "staff"
        own = caller.organization == "A"

        def row(
            endpoint: str,
            expected: str,
            response: httpx.Response,
            ok: bool | None = None,
            who: str = caller.name,
        ) -> None:
            got = described(response)
            ok = got == expected if ok is None else ok
            matrix.add("Console maintenance", endpoint, who, expected, got, ok)

        to_login = "303 → /console/login"
        listing = browser.get("/console/maintenance")
        filtered = browser.get("/console/maintenance?status=submitted")
        one = browser.get(f"/console/maintenance/{shared_request}")
        if not staff:
            row("GET /console/maintenance", to_login, listing)
            row("GET /console/maintenance?status=", to_login, filtered)
            row("GET /console/maintenance/{A's}", to_login, one)
        elif own:
            ok = listing.status_code == 200 and shared_request in listing.text
            row("GET /console/maintenance", "200; lists A's request", listing, ok)
            ok = filtered.status_code == 200 and shared_request in filtered.text
            row("GET /console/maintenance?status=", "200; lists A's request", filtered, ok)
            ok = one.status_code == 200 and "The bathroom tap drips" in one.text
            row("GET /console/maintenance/{A's}", "200; its history", one, ok)
        else:
            ok = listing.status_code == 200 and shared_request not in listing.text
            row("GET /console/maintenance", "200; none of A's", listing, ok)
            ok = filtered.status_code == 200 and shared_request not in filtered.text
            row("GET /console/maintenance?status=", "200; none of A's", filtered, ok)
            ok = one.status_code == 404 and "tap" not in one.text
            row("GET /console/maintenance/{A's}", "404", one, ok)

        token = platform.csrf(browser.get("/console/contacts" if staff else "/console/login"))
        editor = own and caller.role != "viewer"
        target = fresh_request(world) if editor else shared_request
        changed = browser.post(
            f"/console/maintenance/{target}/status",
            data={"csrf_token": token, "status": "acknowledged", "note": "On it"},
        )
        endpoint = "POST /console/maintenance/{id}/status"
        if not staff:
            row(endpoint, to_login, changed)
        elif not own:
            row(endpoint, "404", changed)
        elif editor:
            ok = changed.status_code == 303 and "notice=changed" in changed.headers.get("location", "")
            row(endpoint, "303; notice=changed", changed, ok)
            assert world.a.admin.get(f"/maintenance-requests/{target}")["status"] == "acknowledged"
        else:
            ok = changed.status_code == 403 and "Your role can read but not change anything." in changed.text
            row(endpoint, "403; the reason shown", changed, ok)
        forged = browser.post(f"/console/maintenance/{shared_request}/status", data={"status": "cancelled"})
        row("POST /console/maintenance/{id}/status without CSRF", "403", forged)
    assert snapshot(world) == before, "a refused console maintenance change changed something"
    assert matrix.failures("Console maintenance") == []
