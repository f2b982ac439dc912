"""Client groups and customers' pages (Uptick)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.testing.helpers import random_name
from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.operations import Operation, check_api
from tests.hostile.matrix.world import World, grouped_property, new_group


@dataclass
class Uptick:
    """A's client groups: `top` with `child` inside it, a property in `child` and one in `other`;
    the customer authorised on `top` is the world's `portal:customer`, invited and signed in."""

    top: dict[str, Any]
    child: dict[str, Any]
    other: dict[str, Any]
    child_property: dict[str, Any]
    other_property: dict[str, Any]
    customer: dict[str, Any]
    b_group: dict[str, Any]


@pytest.fixture(scope="module")
def uptick(world: World) -> Uptick:
    other = new_group(world.a.admin)
    return Uptick(
        top=world.customer["group"],
        child=world.customer["child"],
        other=other,
        child_property=world.customer["property"],
        other_property=grouped_property(world.a, other),
        customer=world.customer,
        b_group=new_group(world.b.admin),
    )


def _fresh_member(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    group = new_group(world.a.admin)
    customer = world.a.contact("customer")
    world.a.admin.post(f"/client-groups/{group['id']}/members", {"contact_id": customer["id"]}, 200)
    return group, customer


def _remove_member(world: World, u: Uptick, fresh: bool) -> tuple[str, str, Any]:
    group, member = _fresh_member(world) if fresh else (u.top, u.customer)
    return "DELETE", f"/client-groups/{group['id']}/members/{member['id']}", None


def client_group_operations(u: Uptick) -> list[Operation]:
    return [
        Operation(
            "GET /client-groups", "read", lambda w, c, f: ("GET", "/client-groups", None), foreign="own"
        ),
        Operation(
            "POST /client-groups",
            "edit",
            lambda w, c, f: ("POST", "/client-groups", {"name": random_name("New ")}),
            201,
            foreign="own",
        ),
        Operation(
            "GET /client-groups/{id}", "read", lambda w, c, f: ("GET", f"/client-groups/{u.top['id']}", None)
        ),
        Operation(
            "PATCH /client-groups/{id}",
            "edit",
            lambda w, c, f: (
                "PATCH",
                f"/client-groups/{(new_group(w.a.admin) if f else u.top)['id']}",
                {"name": random_name("Renamed ")},
            ),
        ),
        Operation(
            "PATCH /client-groups/{id} under B's group",
            "edit",
            lambda w, c, f: ("PATCH", f"/client-groups/{u.other['id']}", {"parent_id": u.b_group["id"]}),
            cross=True,
        ),
        Operation(
            "POST /client-groups/{id}/members",
            "edit",
            lambda w, c, f: (
                "POST",
                f"/client-groups/{(new_group(w.a.admin) if f else u.other)['id']}/members",
                {"contact_id": (w.a.contact("customer") if f else u.customer)["id"]},
            ),
        ),
        Operation(
            "DELETE /client-groups/{id}/members/{contact}", "edit", lambda w, c, f: _remove_member(w, u, f)
        ),
        Operation(
            "GET /client-groups/{id}/properties",
            "read",
            lambda w, c, f: ("GET", f"/client-groups/{u.child['id']}/properties", None),
        ),
        Operation(
            "PUT /properties/{id}/client-group",
            "edit",
            lambda w, c, f: (
                "PUT",
                f"/properties/{(w.a.property() if f else u.child_property)['id']}/client-group",
                {"client_group_id": (new_group(w.a.admin) if f else u.other)["id"]},
            ),
        ),
        Operation(
            "GET /contacts/{id}/client-groups",
            "read",
            lambda w, c, f: ("GET", f"/contacts/{u.customer['id']}/client-groups", None),
        ),
    ]


def uptick_snapshot(world: World, u: Uptick) -> dict[str, Any]:
    admin = world.a.admin
    return {
        "top": admin.get(f"/client-groups/{u.top['id']}"),
        "child": admin.get(f"/client-groups/{u.child['id']}"),
        "other": admin.get(f"/client-groups/{u.other['id']}"),
        "child property": admin.get(f"/properties/{u.child_property['id']}"),
        "b group": world.b.admin.get(f"/client-groups/{u.b_group['id']}"),
    }


def test_client_groups_and_customer_pages(
    platform: Any, world: World, uptick: Uptick, matrix: Matrix
) -> None:
    u = uptick
    before = uptick_snapshot(world, u)
    part = "Client groups and customers"
    for operation in client_group_operations(u):
        for caller in world.callers:
            expected, got, ok = check_api(world, operation, caller)
            matrix.add(part, "API " + operation.label, caller.name, expected, got, ok)

    for caller in world.callers:
        browser = caller.browser

        def row(
            endpoint: str,
            expected: str,
            response: httpx.Response,
            ok: bool | None = None,
            who: str = caller.name,
        ) -> None:
            got = described(response)
            matrix.add(part, endpoint, who, expected, got, got == expected if ok is None else ok)

        dashboard = browser.get("/portal/customer")
        page = browser.get(f"/portal/customer/properties/{u.child_property['id']}")
        elsewhere = browser.get(f"/portal/customer/properties/{u.other_property['id']}")
        if caller.name == "portal:customer":
            ok = dashboard.status_code == 200 and u.child_property["name"] in dashboard.text
            ok = ok and u.other_property["name"] not in dashboard.text
            row("GET /portal/customer", "200; the child group's property, not the other's", dashboard, ok)
            row("GET /portal/customer/properties/{child group's}", "200", page)
            row("GET /portal/customer/properties/{other group's}", "404", elsewhere)
            row(
                "GET /portal/customer?g={other group}",
                "404",
                browser.get(f"/portal/customer?g={u.other['id']}"),
            )
            row(
                "GET /portal/customer?g={B's group}",
                "404",
                browser.get(f"/portal/customer?g={u.b_group['id']}"),
            )
            row(
                "GET /portal/customer/properties/{B's}",
                "404",
                browser.get(f"/portal/customer/properties/{world.b_property['id']}"),
            )
            home = browser.get("/portal")
            row(
                "GET /portal as a customer",
                "303 → their dashboard",
                home,
                home.status_code == 303 and home.headers["location"].startswith("/portal/customer?m="),
            )
        elif caller.kind == "portal":
            ok = dashboard.status_code == 303 and dashboard.headers["location"].startswith("/portal?m=")
            row("GET /portal/customer", "303 → their own home", dashboard, ok)
            row(
                "GET /portal/customer/properties/{child group's}",
                "404",
                page,
                page.status_code == 404 and u.child_property["name"] not in page.text,
            )
        else:
            row("GET /portal/customer", "303 → /login", dashboard)
            row("GET /portal/customer/properties/{child group's}", "303 → /login", page)

        to_login = "303 → /console/login"
        listing = browser.get("/console/client-groups")
        one = browser.get(f"/console/client-groups/{u.top['id']}")
        if caller.kind != "staff":
            row("GET /console/client-groups", to_login, listing)
            row("GET /console/client-groups/{A's}", to_login, one)
            token = platform.csrf(browser.get("/forgot"))
        elif caller.organization == "A":
            row(
                "GET /console/client-groups",
                "200; lists A's group",
                listing,
                listing.status_code == 200 and u.top["name"] in listing.text,
            )
            row(
                "GET /console/client-groups/{A's}",
                "200; its account",
                one,
                one.status_code == 200 and u.customer["email"] in one.text,
            )
            token = platform.csrf(listing)
        else:
            row(
                "GET /console/client-groups",
                "200; none of A's",
                listing,
                listing.status_code == 200 and u.top["name"] not in listing.text,
            )
            row("GET /console/client-groups/{A's}", "404", one)
            token = platform.csrf(listing)
        staff_a = caller.kind == "staff" and caller.organization == "A"
        editor = staff_a and caller.role != "viewer"
        created = browser.post(
            "/console/client-groups", data={"csrf_token": token, "name": random_name("C ")}
        )
        if caller.kind != "staff":
            row("POST /console/client-groups", to_login, created)
        elif editor or caller.organization == "B":
            row(
                "POST /console/client-groups",
                "303; made",
                created,
                created.status_code == 303 and "notice=created" in created.headers.get("location", ""),
            )
        else:
            row("POST /console/client-groups", "403", created)
        target = new_group(world.a.admin) if editor else u.other
        member = world.a.contact("customer") if editor else u.customer
        added = browser.post(
            f"/console/client-groups/{target['id']}/members",
            data={"csrf_token": token, "contact_id": member["id"]},
        )
        if caller.kind != "staff":
            row("POST /console/client-groups/{A's}/members", to_login, added)
        elif caller.organization == "B":
            row("POST /console/client-groups/{A's}/members", "404", added)
        elif editor:
            row(
                "POST /console/client-groups/{A's}/members",
                "303; added",
                added,
                added.status_code == 303 and "notice=member" in added.headers.get("location", ""),
            )
        else:
            row("POST /console/client-groups/{A's}/members", "403", added)
        may = staff_a and caller.may_manage_portal_access
        group, invitee = _fresh_member(world) if staff_a else (u.other, u.customer)
        invited = browser.post(
            f"/console/client-groups/{group['id']}/members/{invitee['id']}/invite", data={"csrf_token": token}
        )
        if caller.kind != "staff":
            row("POST …/members/{id}/invite", to_login, invited)
        elif caller.organization == "B":
            row("POST …/members/{id}/invite", "404", invited)
        elif may:
            row(
                "POST …/members/{id}/invite",
                "303; sent",
                invited,
                invited.status_code == 303 and "notice=invited" in invited.headers.get("location", ""),
            )
        else:
            row("POST …/members/{id}/invite", "409; not sent", invited, invited.status_code == 409)
        forged = browser.post(
            f"/console/client-groups/{u.top['id']}/members", data={"contact_id": member["id"]}
        )
        row("POST /console/client-groups/{A's}/members without CSRF", "403", forged)
    assert uptick_snapshot(world, u) == before, "a refused client group change changed something"
    assert matrix.failures(part) == []
