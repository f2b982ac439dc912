"""The portal pages, asked by every caller."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.world import (
    FEEDBACK,
    OWN_AMOUNT,
    OWN_APPLICANT,
    RIVAL_AMOUNT,
    RIVAL_APPLICANT,
    RIVAL_FEEDBACK,
    SALE_NOTE,
    World,
    grant_id,
    submit_maintenance,
)


def test_the_portal_pages(platform: Any, world: World, matrix: Matrix) -> None:
    other_grant = world.grant_ids["portal:both orgs"]
    unknown_token = "u" * 43
    sale = world.vendor["property"]
    # A customer's /portal is their portfolio's dashboard (pages/customer.py), for their own
    # membership whichever grant is asked for.
    dashboard = f"/portal/customer?m={world.grant_ids['portal:customer']}"
    for caller in world.callers:
        browser = caller.browser
        portal_user = caller.kind == "portal"

        def row(
            endpoint: str,
            expected: str,
            response: httpx.Response,
            ok: bool | None = None,
            who: str = caller.name,
        ) -> None:
            got = described(response)
            matrix.add("Portal pages", endpoint, who, expected, got, got == expected if ok is None else ok)

        home = browser.get("/portal")
        if caller.name == "portal:customer":
            ok = home.status_code == 303 and home.headers["location"] == dashboard
            row("GET /portal", "303 → their dashboard", home, ok)
        elif portal_user:
            greeted = platform.heading(home)
            ok = home.status_code == 200 and greeted in {f"Welcome, {name}" for name in caller.display_names}
            row("GET /portal", "200; own name", home, ok)
        else:
            row("GET /portal", "303 → /login", home)
        if caller.name in ("portal:vendor", "portal:applicant"):
            ok = home.status_code == 200 and sale["name"] in home.text
            ok = ok and world.landlord["property"]["name"] not in home.text
            row("GET /portal lists their property", "200; the vendor's, not the landlord's", home, ok)
        # Another person's membership id: a portal user still sees only their own.
        if caller.name != "portal:both orgs":
            other = browser.get(f"/portal?m={other_grant}")
            if caller.name == "portal:customer":
                ok = other.status_code == 303 and other.headers["location"] == dashboard
                row("GET /portal?m={another person's grant}", "303 → their own dashboard", other, ok)
            elif portal_user:
                greeted = platform.heading(other)
                ok = other.status_code == 200 and greeted in {f"Welcome, {n}" for n in caller.display_names}
                ok = ok and world.both_a["display_name"] not in other.text
                row("GET /portal?m={another person's grant}", "200; own name only", other, ok)
            else:
                row("GET /portal?m={another person's grant}", "303 → /login", other)
        else:
            # Their own second membership, in B: shown; nobody else's.
            mine = browser.get(f"/portal?m={grant_id(platform, world.both_b['id'])}")
            ok = (
                mine.status_code == 200
                and platform.heading(mine) == f"Welcome, {world.both_b['display_name']}"
            )
            row("GET /portal?m={own grant in B}", "200; own B membership", mine, ok)
        # A's tenant's lease page: theirs alone; any other person's membership, asked for by id
        # or not, finds nothing.
        lease_path = f"/portal/leases/{world.tenant['lease']['id']}"
        for label, path in (
            ("GET /portal/leases/{A tenant's}", lease_path),
            ("GET /portal/leases/{A tenant's}?m={another person's grant}", f"{lease_path}?m={other_grant}"),
        ):
            page = browser.get(path)
            if caller.name == "portal:tenant":
                ok = page.status_code == 200 and world.tenant["property"]["name"] in page.text
                row(label, "200; the statement", page, ok)
            elif portal_user:
                row(
                    label,
                    "404",
                    page,
                    page.status_code == 404 and world.tenant["property"]["name"] not in page.text,
                )
            else:
                row(label, "303 → /login", page)
        # A's landlord's property page: theirs alone, with the viewing feedback landlords see.
        property_path = f"/portal/properties/{world.landlord['property']['id']}"
        for label, path in (
            ("GET /portal/properties/{A landlord's}", property_path),
            (
                "GET /portal/properties/{A landlord's}?m={another person's grant}",
                f"{property_path}?m={other_grant}",
            ),
        ):
            page = browser.get(path)
            if caller.name == "portal:landlord":
                ok = page.status_code == 200 and FEEDBACK in page.text and "Jo" in page.text
                row(label, "200; viewings, feedback, offers", page, ok)
            elif portal_user:
                name = world.landlord["property"]["name"]
                ok = page.status_code == 404 and name not in page.text and FEEDBACK not in page.text
                row(label, "404", page, ok)
            else:
                row(label, "303 → /login", page)
        # A's vendor's property: every viewing and offer and the progress for the vendor (feedback
        # hidden from vendors by default); for the applicant linked to it, only the viewing and
        # offer naming them; nobody else's.
        sale_path = f"/portal/properties/{sale['id']}"
        rivals = (RIVAL_APPLICANT, RIVAL_AMOUNT[1], RIVAL_FEEDBACK, SALE_NOTE)
        for label, path in (
            ("GET /portal/properties/{A vendor's}", sale_path),
            (
                "GET /portal/properties/{A vendor's}?m={another person's grant}",
                f"{sale_path}?m={other_grant}",
            ),
        ):
            page = browser.get(path)
            if caller.name == "portal:vendor":
                shown = (OWN_APPLICANT, OWN_AMOUNT[1], RIVAL_APPLICANT, RIVAL_AMOUNT[1], SALE_NOTE)
                ok = page.status_code == 200 and all(x in page.text for x in shown)
                ok = ok and RIVAL_FEEDBACK not in page.text
                row(label, "200; every viewing and offer, progress, no feedback", page, ok)
            elif caller.name == "portal:applicant":
                ok = page.status_code == 200 and OWN_APPLICANT in page.text and OWN_AMOUNT[1] in page.text
                ok = ok and not any(x in page.text for x in rivals)
                row(label, "200; only their own viewing and offer, no progress", page, ok)
            elif portal_user:
                ok = page.status_code == 404 and not any(x in page.text for x in (sale["name"], *rivals))
                row(label, "404", page, ok)
            else:
                row(label, "303 → /login", page)
        # B's landlord's property: the person with a membership in B sees it as that membership;
        # for anyone else it is another organization's, whoever's grant they name.
        b_grant = grant_id(platform, world.both_b["id"])
        page = browser.get(f"/portal/properties/{world.both_b['property']['id']}?m={b_grant}")
        label = "GET /portal/properties/{B landlord's}?m={their B grant}"
        b_name = world.both_b["property"]["name"]
        if caller.name == "portal:both orgs":
            row(label, "200; their B property", page, page.status_code == 200 and b_name in page.text)
        elif portal_user:
            row(label, "404", page, page.status_code == 404 and b_name not in page.text)
        else:
            row(label, "303 → /login", page)
        # A's tenant's maintenance requests: theirs alone.
        request_path = f"/portal/maintenance/{world.maintenance_request_id}"
        listing = browser.get("/portal/maintenance")
        one = browser.get(request_path)
        if caller.name == "portal:tenant":
            ok = listing.status_code == 200 and "The bathroom tap drips" in listing.text
            row("GET /portal/maintenance", "200; lists it", listing, ok)
            ok = one.status_code == 200 and "Submitted" in one.text
            row("GET /portal/maintenance/{A tenant's}", "200; its history", one, ok)
        elif portal_user:
            row(
                "GET /portal/maintenance",
                "200; not A tenant's",
                listing,
                listing.status_code == 200 and world.maintenance_request_id not in listing.text,
            )
            row(
                "GET /portal/maintenance/{A tenant's}",
                "404",
                one,
                one.status_code == 404 and "tap" not in one.text,
            )
        else:
            row("GET /portal/maintenance", "303 → /login", listing)
            row("GET /portal/maintenance/{A tenant's}", "303 → /login", one)
        # Reporting a problem on A's tenant's lease: only the tenant may; anyone else changes nothing.
        before = world.a.admin.get("/maintenance-requests", lease_id=world.tenant["lease"]["id"])["total"]
        if portal_user and caller.name != "portal:tenant":
            sent = submit_maintenance(browser, world.tenant["lease"]["id"], "Not my home")
            ok = sent.status_code == 422 and "Choose one of your current homes" in sent.text
            row("POST /portal/maintenance on A tenant's lease", "422; nothing made", sent, ok)
        elif not portal_user:
            token = platform.csrf(browser.get("/console/contacts" if caller.kind == "staff" else "/login"))
            sent = browser.post(
                "/portal/maintenance",
                data={"csrf_token": token, "lease_id": world.tenant["lease"]["id"], "category": "other"},
            )
            row("POST /portal/maintenance on A tenant's lease", "303 → /login", sent)
        forged = browser.post(
            "/portal/maintenance",
            data={"lease_id": world.tenant["lease"]["id"], "category": "other", "description": "Forged"},
        )
        row("POST /portal/maintenance without CSRF", "403", forged)
        after = world.a.admin.get("/maintenance-requests", lease_id=world.tenant["lease"]["id"])["total"]
        assert after == before, f"{caller.name} made a maintenance request on A's tenant's lease"
        row("GET /login", "303 → /portal" if portal_user else "200", browser.get("/login"))
        row("GET /forgot", "200", browser.get("/forgot"))
        row("GET /invite/{unknown}", "404", browser.get(f"/invite/{unknown_token}"))
        row("GET /invite/{used}", "410", browser.get(world.used_link_path))
        row("GET /reset/{unknown}", "404", browser.get(f"/reset/{unknown_token}"))
        row("POST /logout without CSRF", "403", browser.post("/logout", data={}))
        if portal_user:
            still = browser.get("/portal")
            assert still.status_code in (200, 303), f"{caller.name}: {described(still)}"
            assert still.headers.get("location") != "/login", f"{caller.name} was signed out"
    assert matrix.failures("Portal pages") == []
