"""Every write route of the staff API checks the caller's role."""

from __future__ import annotations


def test_every_write_route_checks_the_role() -> None:
    """Every staff API route that changes something goes through require_editor (directly or via
    require_portal_manager): the properties service trusts the gateway for the viewer rule."""
    import inspect

    from portal_gateway.api import (
        bulk,
        client_groups,
        contacts,
        documents,
        maintenance,
        portal_access,
        properties,
        staff,
        viewings,
    )

    unchecked = []
    for module in (
        staff,
        contacts,
        properties,
        viewings,
        maintenance,
        portal_access,
        bulk,
        client_groups,
        documents,
    ):
        for route in module.router.routes:
            methods = getattr(route, "methods", set())
            if methods & {"POST", "PATCH", "PUT", "DELETE"}:
                source = inspect.getsource(route.endpoint)  # type: ignore[attr-defined]
                if "require_editor(" not in source and "require_portal_manager(" not in source:
                    unchecked.append(f"{sorted(methods)} {route.path}")  # type: ignore[attr-defined]
    assert unchecked == []
