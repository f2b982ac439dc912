"""The console's contact page and Visibility."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.world import World, fresh_tenant, snapshot


def test_the_console_contact_pages(platform: Any, world: World, matrix: Matrix) -> None:
    before = snapshot(world)
    tenant = world.tenant
    for caller in world.callers:
        browser = caller.browser
        staff = caller.kind == "staff"
        own = caller.organization == "A"
        editor = own and caller.role != "viewer"

        def row(
            endpoint: str,
            expected: str,
            response: httpx.Response,
            ok: bool | None = None,
            who: str = caller.name,
        ) -> None:
            got = described(response)
            matrix.add("Console contact", endpoint, who, expected, got, got == expected if ok is None else ok)

        to_login = "303 → /console/login"
        refused = to_login if not staff else "404"
        page = browser.get(f"/console/contacts/{tenant['id']}")
        if own:
            ok = page.status_code == 200 and platform.heading(page) == tenant["display_name"]
            row("GET /console/contacts/{A's}", "200; the contact", page, ok)
        else:
            row("GET /console/contacts/{A's}", refused, page)
        invite = browser.get(f"/console/contacts/{world.uninvited['id']}/invite")
        row("GET /console/contacts/{A's}/invite", "200" if own else refused, invite)
        settings = browser.get("/console/visibility")
        row("GET /console/visibility", "200" if staff else to_login, settings)

        token = platform.csrf(browser.get("/console/contacts" if staff else "/console/login"))
        may = own and caller.may_manage_portal_access
        target = fresh_tenant(world) if may else world.uninvited
        toggled = browser.post(
            f"/console/contacts/{target['id']}/portal-access/toggle",
            data={"csrf_token": token, "enable": "on"},
        )
        location = toggled.headers.get("location", "")
        if not own:
            row("POST …/portal-access/toggle on", refused, toggled)
        elif may:
            ok = toggled.status_code == 303 and "notice=access_on" in location
            row("POST …/portal-access/toggle on", "303; notice=access_on", toggled, ok)
        else:
            ok = toggled.status_code == 303 and "problem=" in location
            row("POST …/portal-access/toggle on", "303; not sent", toggled, ok)
        forged = browser.post(
            f"/console/contacts/{tenant['id']}/portal-access/toggle", data={"enable": "off"}
        )
        row("POST …/portal-access/toggle without CSRF", "403", forged)

        landlord = world.a.contact("landlord") if editor else world.landlord
        hidden = browser.post(
            f"/console/contacts/{landlord['id']}/visibility", data={"csrf_token": token, "visible": "hide"}
        )
        location = hidden.headers.get("location", "")
        if not own:
            row("POST …/visibility hide", refused, hidden)
        elif editor:
            ok = hidden.status_code == 303 and "notice=visibility" in location
            row("POST …/visibility hide", "303; saved", hidden, ok)
        else:
            ok = hidden.status_code == 303 and "problem=read_only" in location
            row("POST …/visibility hide", "303; problem=read_only", hidden, ok)
        prop = world.a.property() if editor else world.landlord["property"]
        on_property = browser.post(
            f"/console/properties/{prop['id']}/visibility",
            data={
                "csrf_token": token,
                "contact_type": "landlord",
                "visible": "hide",
                "back_to": landlord["id"],
            },
        )
        location = on_property.headers.get("location", "")
        if not own:
            row("POST /console/properties/{id}/visibility", refused, on_property)
        elif editor:
            ok = on_property.status_code == 303 and "notice=visibility" in location
            row("POST /console/properties/{id}/visibility", "303; saved", on_property, ok)
        else:
            ok = on_property.status_code == 303 and "problem=read_only" in location
            row("POST /console/properties/{id}/visibility", "303; problem=read_only", on_property, ok)
        # "default" for applicants changes nothing A's shared objects depend on.
        by_type = browser.post(
            "/console/visibility",
            data={"csrf_token": token, "contact_type": "applicant", "visible": "default"},
        )
        location = by_type.headers.get("location", "")
        if not staff:
            row("POST /console/visibility", to_login, by_type)
        elif own and not editor:
            ok = by_type.status_code == 303 and "problem=read_only" in location
            row("POST /console/visibility", "303; problem=read_only", by_type, ok)
        else:  # A's editors, and B's admin for B's own setting
            ok = by_type.status_code == 303 and "saved=applicant" in location
            row("POST /console/visibility", "303; saved", by_type, ok)
        # Bulk: A's portal managers invite a fresh tenant found by its email; nobody else sends.
        bulk = browser.get(f"/console/bulk?type=tenant&q={world.uninvited['email']}")
        row("GET /console/bulk", "200" if staff else to_login, bulk)
        target = fresh_tenant(world) if may else world.uninvited
        started = browser.post(
            "/console/bulk", data={"csrf_token": token, "type": "tenant", "q": target["email"]}
        )
        location = started.headers.get("location", "")
        if not staff:
            row("POST /console/bulk", to_login, started)
        elif not own:
            ok = started.status_code == 422 and "No contact matches." in started.text
            row("POST /console/bulk for A's tenant", "422; none of A's", started, ok)
        elif may:
            ok = started.status_code == 303 and location.startswith("/console/bulk/")
            row("POST /console/bulk", "303 → its progress", started, ok)
        else:
            row("POST /console/bulk", "403", started)
        progress = browser.get(f"/console/bulk/{world.job_id}")
        row("GET /console/bulk/{A's job}", "200" if own else refused, progress)
    assert snapshot(world) == before, "a refused console action changed something"
    assert matrix.failures("Console contact") == []
