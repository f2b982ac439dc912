"""The staff API: every operation asked by every caller."""

from __future__ import annotations

from tests.hostile.matrix.grid import Matrix
from tests.hostile.matrix.operations import OPERATIONS, check_api
from tests.hostile.matrix.world import World, snapshot


def test_the_staff_api(world: World, matrix: Matrix) -> None:
    before = snapshot(world)
    for operation in OPERATIONS:
        for caller in world.callers:
            expected, got, ok = check_api(world, operation, caller)
            matrix.add("Staff API", operation.label, caller.name, expected, got, ok)
    # A portal session id is not an API token, nor is a staff console session.
    for caller in world.callers:
        if caller.kind == "anonymous":
            continue
        name = "portal_session" if caller.kind == "portal" else "staff_session"
        session_id = caller.browser.cookies.get(name)
        response = caller.api.get("/contacts", headers={"Authorization": f"Bearer {session_id}"})
        matrix.add(
            "Staff API",
            f"GET /contacts with the {name} as Bearer",
            caller.name,
            "401",
            str(response.status_code),
            response.status_code == 401,
        )
    assert snapshot(world) == before, "a refused call changed something"
    assert world.callers[1].browser.get("/portal").status_code == 200, "the tenant lost access"
    assert matrix.failures("Staff API") == []
