"""The console: contacts, portal access and View As."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.world import World, fresh_tenant, snapshot, submit_maintenance


def test_the_console(platform: Any, world: World, matrix: Matrix) -> None:
    before = snapshot(world)
    tenant, a_email = world.tenant, world.tenant["email"]
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
            matrix.add("Console", endpoint, who, expected, got, got == expected if ok is None else ok)

        to_login = "303 → /console/login"
        listing = browser.get("/console/contacts?type=tenant")
        if not staff:
            row("GET /console/contacts", to_login, listing)
        elif own:
            row(
                "GET /console/contacts",
                "200; lists A's tenant",
                listing,
                listing.status_code == 200 and a_email in listing.text,
            )
        else:
            row(
                "GET /console/contacts",
                "200; none of A's",
                listing,
                listing.status_code == 200 and a_email not in listing.text,
            )
        one = browser.get(f"/console/contacts?type=tenant&contact={tenant['id']}")
        row("GET /console/contacts?contact={A's}", "200" if own else ("404" if staff else to_login), one)
        row(
            "GET /console/login", "303 → /console/contacts" if staff else "200", browser.get("/console/login")
        )
        row("GET /console", "303 → /console/contacts", browser.get("/console"))

        form = browser.get("/console/login" if not staff else "/console/contacts")
        token = platform.csrf(form)
        may = own and caller.may_manage_portal_access
        target = fresh_tenant(world) if may else world.uninvited
        send = browser.post(
            f"/console/contacts/{target['id']}/portal-access",
            data={"csrf_token": token, "action": "send", "type": "tenant"},
        )
        location = send.headers.get("location", "")
        if not staff:
            row("POST …/portal-access send", to_login, send)
        elif not own:
            row("POST …/portal-access send", "404", send)
        elif may:
            row(
                "POST …/portal-access send",
                "303; notice=sent",
                send,
                send.status_code == 303 and "notice=sent" in location,
            )
        else:
            row(
                "POST …/portal-access send",
                "303; not sent",
                send,
                send.status_code == 303 and "problem=" in location,
            )
        target = fresh_tenant(world, invite=True) if may else tenant
        revoke = browser.post(
            f"/console/contacts/{target['id']}/portal-access",
            data={"csrf_token": token, "action": "revoke", "type": "tenant"},
        )
        location = revoke.headers.get("location", "")
        if not staff:
            row("POST …/portal-access revoke", to_login, revoke)
        elif not own:
            row("POST …/portal-access revoke", "404", revoke)
        elif may:
            row(
                "POST …/portal-access revoke",
                "303; notice=revoked",
                revoke,
                revoke.status_code == 303 and "notice=revoked" in location,
            )
        else:
            row(
                "POST …/portal-access revoke",
                "303; problem=not_permitted",
                revoke,
                revoke.status_code == 303 and "problem=not_permitted" in location,
            )
        forged = browser.post(f"/console/contacts/{tenant['id']}/portal-access", data={"action": "revoke"})
        row("POST …/portal-access without CSRF", "403", forged)
        # View As A's tenant: any of A's staff (every role reads contacts); read-only while it lasts.
        view_as = browser.post(f"/console/contacts/{tenant['id']}/view-as", data={"csrf_token": token})
        if not staff:
            row("POST …/view-as", to_login, view_as)
        elif not own:
            row("POST …/view-as", "404", view_as)
        else:
            row("POST …/view-as", "303 → /portal", view_as)
            home = browser.get("/portal")
            ok = (
                home.status_code == 200
                and platform.heading(home) == f"Welcome, {tenant['display_name']}"
                and "(read-only)" in home.text
            )
            row("GET /portal while viewing as A's tenant", "200; theirs, with the banner", home, ok)
            lease_id = tenant["lease"]["id"]
            requests_before = world.a.admin.get("/maintenance-requests", lease_id=lease_id)["total"]
            sent = submit_maintenance(browser, lease_id, "Not while viewing as")
            row("POST /portal/maintenance while viewing as", "403", sent)
            requests_after = world.a.admin.get("/maintenance-requests", lease_id=lease_id)["total"]
            assert requests_after == requests_before, f"{caller.name} wrote while viewing as"
            row("POST /logout while viewing as", "403", browser.post("/logout", data={"csrf_token": token}))
            ended = browser.post("/console/view-as/end", data={"csrf_token": token})
            location = ended.headers.get("location", "")
            ok = ended.status_code == 303 and location.startswith("/console/contacts?")
            row("POST /console/view-as/end", "303 → the console", ended, ok)
            row("GET /portal after View As ended", "303 → /login", browser.get("/portal"))
        forged = browser.post(f"/console/contacts/{tenant['id']}/view-as", data={})
        row("POST …/view-as without CSRF", "403", forged)
    assert snapshot(world) == before, "a refused console action changed something"
    assert world.callers[1].browser.get("/portal").status_code == 200, "the tenant lost access"
    assert matrix.failures("Console") == []
