"""Every write route of the staff API and every form post of the console, called by A's viewers.

The routes are read from the gateway app itself, so a route added later is called too, or fails this
test until it has a sample request here. Each sample is a request an editor would succeed with, on
A's objects: a viewer's is refused (the API's 403, the console's own way of saying no), and nothing
of A's changes. The properties service trusts the gateway for the viewer rule, so for its writes
this is the only check there is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts
from sqlalchemy import text

from portal_gateway.app import create_app
from shared.testing.helpers import random_email, random_name
from tests.hostile.matrix.grid import Matrix, described
from tests.hostile.matrix.world import World, fresh_tenant, new_group, snapshot

PART = "Viewer writes"
API_PREFIX = "/api/v1"
CONSOLE_PREFIX = "/console/"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PDF = b"%PDF-1.7\n% a viewer's upload\n%%EOF\n"
# How the console says no to a viewer on some pages: a redirect back, with the problem named.
PROBLEM_REDIRECT = "303; problem="

# Console posts a viewer may make: they change none of the organization's data.
VIEWER_MAY = {
    "POST /console/login": "signing in",
    "POST /console/logout": "signing out",
    "POST /console/contacts/{contact_id}/view-as": "View As is read-only, open to every role",
    "POST /console/view-as/end": "ends the viewer's own View As",
}


@dataclass
class Targets:
    """A's objects made for this test before anything is asked, for samples that would succeed
    for an editor: a document on the tenant's lease, a tenant invited but not signed up yet (whose
    invitation can be resent), a unit with no lease, and a customer who is an authorised account
    of a group but not invited yet."""

    document_id: str
    invited: dict[str, Any]
    vacant: dict[str, Any]
    group: dict[str, Any]
    member: dict[str, Any]


@dataclass
class Sample:
    """One request: the path (under the API prefix for the staff API), its JSON body, or its form
    fields (and files); and the refusal a viewer must get."""

    path: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, Any] | None = None
    refusal: str = "403"
    note: str = ""  # which of a route's samples this is, in the matrix

    def label(self, route: str) -> str:
        return f"{route} ({self.note})" if self.note else route


Samples = Callable[[World, Targets], list[Sample]]


API_SAMPLES: dict[str, Samples] = {
    "POST /api/v1/staff": lambda w, t: [
        Sample("/staff", {"email": random_email("staff"), "name": "New", "role": "admin"})
    ],
    "POST /api/v1/contacts": lambda w, t: [
        Sample(
            "/contacts",
            {"type": "tenant", "first_name": "New", "last_name": "Person", "email": random_email()},
        )
    ],
    "PATCH /api/v1/contacts/{contact_id}": lambda w, t: [
        Sample(f"/contacts/{w.tenant['id']}", {"first_name": "Changed"})
    ],
    "POST /api/v1/contacts/{contact_id}/archive": lambda w, t: [
        Sample(f"/contacts/{w.tenant['id']}/archive")
    ],
    "POST /api/v1/properties": lambda w, t: [
        Sample(
            "/properties", {"name": "New", "address_line1": "1 Road", "city": "London", "postcode": "N1 1AA"}
        )
    ],
    "POST /api/v1/properties/{property_id}/units": lambda w, t: [
        Sample(f"/properties/{w.tenant['property']['id']}/units", {"name": "Flat 9"})
    ],
    "POST /api/v1/properties/{property_id}/contacts": lambda w, t: [
        Sample(
            f"/properties/{w.tenant['property']['id']}/contacts",
            {"contact_id": w.unlinked_landlord["id"], "role": "landlord"},
        )
    ],
    "DELETE /api/v1/properties/{property_id}/contacts/{contact_id}": lambda w, t: [
        Sample(f"/properties/{w.landlord['property']['id']}/contacts/{w.landlord['id']}")
    ],
    "POST /api/v1/leases": lambda w, t: [
        Sample(
            "/leases",
            {
                "unit_id": t.vacant["unit"]["id"],
                "start_date": "2026-02-01",
                "tenant_contact_ids": [w.tenant["id"]],
            },
        )
    ],
    "POST /api/v1/leases/{lease_id}/end": lambda w, t: [
        Sample(f"/leases/{w.tenant['lease']['id']}/end", {"end_date": "2026-12-31"})
    ],
    "POST /api/v1/leases/{lease_id}/charges": lambda w, t: [
        Sample(
            f"/leases/{w.tenant['lease']['id']}/charges",
            {"description": "Rent", "amount_minor": 95_000, "due_date": "2026-12-01"},
        )
    ],
    "POST /api/v1/leases/{lease_id}/payments": lambda w, t: [
        Sample(
            f"/leases/{w.tenant['lease']['id']}/payments",
            {"amount_minor": 50_000, "paid_on": "2026-11-01", "reference": "BACS"},
        )
    ],
    "POST /api/v1/properties/{property_id}/viewings": lambda w, t: [
        Sample(
            f"/properties/{w.landlord['property']['id']}/viewings",
            {"scheduled_at": "2026-04-01T09:00:00Z", "applicant_name": "Ravi"},
        )
    ],
    "POST /api/v1/viewings/{viewing_id}/feedback": lambda w, t: [
        Sample(f"/viewings/{w.viewing_id}/feedback", {"feedback": "Changed", "interest_level": "low"})
    ],
    "POST /api/v1/viewings/{viewing_id}/status": lambda w, t: [
        Sample(f"/viewings/{w.viewing_id}/status", {"status": "cancelled"})
    ],
    "POST /api/v1/properties/{property_id}/offers": lambda w, t: [
        Sample(
            f"/properties/{w.landlord['property']['id']}/offers", {"amount_minor": 100, "offerer_name": "Jo"}
        )
    ],
    "POST /api/v1/offers/{offer_id}/status": lambda w, t: [
        Sample(f"/offers/{w.offer_id}/status", {"status": "rejected"})
    ],
    "PUT /api/v1/visibility/viewing-feedback": lambda w, t: [
        Sample(
            "/visibility/viewing-feedback",
            {"contact_id": w.landlord["id"], "visible": False},
            note="a contact's",
        ),
        Sample(
            "/visibility/viewing-feedback",
            {"contact_type": "landlord", "visible": False},
            note="landlords'",
        ),
    ],
    "POST /api/v1/maintenance-requests/{request_id}/status": lambda w, t: [
        Sample(
            f"/maintenance-requests/{w.maintenance_request_id}/status",
            {"status": "acknowledged", "note": "On it"},
        )
    ],
    "POST /api/v1/contacts/{contact_id}/portal-invitations": lambda w, t: [
        Sample(f"/contacts/{w.uninvited['id']}/portal-invitations")
    ],
    "POST /api/v1/contacts/{contact_id}/portal-invitations/resend": lambda w, t: [
        Sample(f"/contacts/{t.invited['id']}/portal-invitations/resend")
    ],
    "POST /api/v1/contacts/{contact_id}/portal-access/revoke": lambda w, t: [
        Sample(f"/contacts/{w.tenant['id']}/portal-access/revoke", {})
    ],
    "POST /api/v1/portal-invitations/bulk": lambda w, t: [
        Sample("/portal-invitations/bulk", {"contact_ids": [w.uninvited["id"]]})
    ],
    "POST /api/v1/documents": lambda w, t: [
        Sample(
            "/documents",
            data={"kind": "invoice", "title": "A viewer's upload", "lease_id": w.tenant["lease"]["id"]},
            files={"file": ("viewer.pdf", PDF, "application/pdf")},
        )
    ],
    "PUT /api/v1/documents/{document_id}/audiences": lambda w, t: [
        Sample(f"/documents/{t.document_id}/audiences", {"audiences": ["tenant"]})
    ],
    "DELETE /api/v1/documents/{document_id}": lambda w, t: [Sample(f"/documents/{t.document_id}")],
    "POST /api/v1/client-groups": lambda w, t: [Sample("/client-groups", {"name": random_name("Viewer ")})],
    "PATCH /api/v1/client-groups/{client_group_id}": lambda w, t: [
        Sample(
            f"/client-groups/{w.customer['child']['id']}", {"name": random_name("Renamed ")}, note="rename"
        ),
        Sample(f"/client-groups/{w.customer['child']['id']}", {"parent_id": None}, note="to the top"),
    ],
    "POST /api/v1/client-groups/{client_group_id}/members": lambda w, t: [
        Sample(f"/client-groups/{w.customer['child']['id']}/members", {"contact_id": w.customer["id"]})
    ],
    "DELETE /api/v1/client-groups/{client_group_id}/members/{contact_id}": lambda w, t: [
        Sample(f"/client-groups/{w.customer['group']['id']}/members/{w.customer['id']}")
    ],
    "PUT /api/v1/properties/{property_id}/client-group": lambda w, t: [
        Sample(
            f"/properties/{w.customer['property']['id']}/client-group",
            {"client_group_id": w.customer["group"]["id"]},
        )
    ],
    "POST /api/v1/properties/{property_id}/progress": lambda w, t: [
        Sample(
            f"/properties/{w.landlord['property']['id']}/progress",
            {"kind": "sale", "stage": "instructed", "note": "Signed the agency agreement"},
        )
    ],
    "POST /api/v1/properties/{property_id}/defects": lambda w, t: [
        Sample(
            f"/properties/{w.landlord['property']['id']}/defects",
            {"title": "Loose handrail", "description": "The stair rail moves.", "severity": "low"},
        )
    ],
    "POST /api/v1/defects/{defect_id}/status": lambda w, t: [
        Sample(f"/defects/{w.defect_id}/status", {"status": "resolved"})
    ],
}

CONSOLE_SAMPLES: dict[str, Samples] = {
    "POST /console/contacts/{contact_id}/portal-access": lambda w, t: [
        Sample(
            f"/console/contacts/{w.uninvited['id']}/portal-access",
            data={"action": "send", "type": "tenant"},
            refusal=PROBLEM_REDIRECT,
            note="send",
        ),
        Sample(
            f"/console/contacts/{t.invited['id']}/portal-access",
            data={"action": "resend", "type": "tenant"},
            refusal=PROBLEM_REDIRECT,
            note="resend",
        ),
        Sample(
            f"/console/contacts/{w.tenant['id']}/portal-access",
            data={"action": "revoke", "type": "tenant"},
            refusal=PROBLEM_REDIRECT,
            note="revoke",
        ),
    ],
    "POST /console/contacts/{contact_id}/portal-access/toggle": lambda w, t: [
        Sample(
            f"/console/contacts/{w.uninvited['id']}/portal-access/toggle",
            data={"enable": "on"},
            refusal=PROBLEM_REDIRECT,
            note="on",
        ),
        Sample(
            f"/console/contacts/{w.tenant['id']}/portal-access/toggle",
            data={"enable": "off"},
            refusal=PROBLEM_REDIRECT,
            note="off",
        ),
    ],
    "POST /console/contacts/{contact_id}/visibility": lambda w, t: [
        Sample(
            f"/console/contacts/{w.landlord['id']}/visibility",
            data={"visible": "hide"},
            refusal=PROBLEM_REDIRECT,
        )
    ],
    "POST /console/properties/{property_id}/visibility": lambda w, t: [
        Sample(
            f"/console/properties/{w.landlord['property']['id']}/visibility",
            data={"contact_type": "landlord", "visible": "hide", "back_to": w.landlord["id"]},
            refusal=PROBLEM_REDIRECT,
        )
    ],
    "POST /console/visibility": lambda w, t: [
        Sample(
            "/console/visibility",
            data={"contact_type": "landlord", "visible": "hide"},
            refusal=PROBLEM_REDIRECT,
        )
    ],
    "POST /console/bulk": lambda w, t: [
        Sample("/console/bulk", data={"type": "tenant", "q": w.uninvited["email"]})
    ],
    "POST /console/maintenance/{request_id}/status": lambda w, t: [
        Sample(
            f"/console/maintenance/{w.maintenance_request_id}/status",
            data={"status": "acknowledged", "note": "On it"},
        )
    ],
    "POST /console/client-groups": lambda w, t: [
        Sample("/console/client-groups", data={"name": random_name("Viewer ")})
    ],
    "POST /console/client-groups/{group_id}/parent": lambda w, t: [
        Sample(f"/console/client-groups/{w.customer['child']['id']}/parent", data={"parent_id": ""})
    ],
    "POST /console/client-groups/{group_id}/properties": lambda w, t: [
        Sample(
            f"/console/client-groups/{w.customer['group']['id']}/properties",
            data={"property_id": w.customer["property"]["id"]},
        )
    ],
    "POST /console/client-groups/{group_id}/members": lambda w, t: [
        Sample(
            f"/console/client-groups/{w.customer['child']['id']}/members",
            data={"contact_id": w.customer["id"]},
        )
    ],
    # The invitations service judges who may invite: for a viewer the invitation is not eligible.
    "POST /console/client-groups/{group_id}/members/{contact_id}/invite": lambda w, t: [
        Sample(
            f"/console/client-groups/{t.group['id']}/members/{t.member['id']}/invite", data={}, refusal="409"
        )
    ],
}


def write_routes(prefix: str) -> list[str]:
    """Every route of the gateway under `prefix` that takes a write method, as "METHOD /path"."""
    return [
        f"{method} {route.path}"
        for route in iter_route_contexts(create_app().routes)
        if route.path is not None and route.path.startswith(prefix)
        for method in sorted((route.methods or set()) & WRITE_METHODS)
    ]


def refused(sample: Sample, response: httpx.Response) -> bool:
    if sample.refusal == PROBLEM_REDIRECT:
        return response.status_code == 303 and "problem=" in response.headers.get("location", "")
    return str(response.status_code) == sample.refusal


def make_targets(world: World) -> Targets:
    admin = world.a.admin
    made = admin.api.post(
        "/documents",
        data={"kind": "invoice", "title": "Shared with the tenant", "lease_id": world.tenant["lease"]["id"]},
        files={"file": ("shared.pdf", PDF, "application/pdf")},
    )
    assert made.status_code == 201, made.text
    group, member = new_group(admin), world.a.contact("customer")
    admin.post(f"/client-groups/{group['id']}/members", {"contact_id": member["id"]}, 200)
    return Targets(
        document_id=str(made.json()["id"]),
        invited=fresh_tenant(world, invite=True),
        vacant=world.a.property(),
        group=group,
        member=member,
    )


def state(platform: Any, world: World, t: Targets) -> dict[str, Any]:
    """What any of the samples would change, had it gone through (nothing a delivery moves on)."""
    admin = world.a.admin
    with platform.engine.connect() as connection:
        staff = connection.execute(
            text("SELECT count(*) FROM contacts.staff_members WHERE organization_id = :o"),
            {"o": world.a.id},
        ).scalar_one()
    return {
        **snapshot(world),
        "staff": staff,
        "contacts": admin.get("/contacts", limit=1)["total"],
        "properties": admin.get("/properties", limit=1)["total"],
        "client groups": admin.get("/client-groups", limit=1)["total"],
        "customer's group": admin.get(f"/client-groups/{world.customer['group']['id']}"),
        "customer's child group": admin.get(f"/client-groups/{world.customer['child']['id']}"),
        "customer's property": admin.get(f"/properties/{world.customer['property']['id']}"),
        "tenant's documents": admin.get(f"/leases/{world.tenant['lease']['id']}/documents"),
        "type visibility": admin.get("/visibility/viewing-feedback"),
        "invited's invitations": admin.get(f"/contacts/{t.invited['id']}/invitations")["total"],
        "member's invitations": admin.get(f"/contacts/{t.member['id']}/invitations")["total"],
        "vacant property": admin.get(f"/properties/{t.vacant['id']}"),
    }


def test_every_write_route_checks_the_role(platform: Any, world: World, matrix: Matrix) -> None:
    """Each of A's viewers (with and without the portal-access permission) calls every write route
    of the staff API and every form post of the console: each is refused, and nothing changes."""
    api_routes, console_routes = write_routes(API_PREFIX + "/"), write_routes(CONSOLE_PREFIX)
    assert api_routes, "no write route of the staff API found"
    without_sample = [r for r in api_routes if r not in API_SAMPLES] + [
        r for r in console_routes if r not in CONSOLE_SAMPLES and r not in VIEWER_MAY
    ]
    assert without_sample == [], "write routes with no sample request here"
    gone = [r for r in [*API_SAMPLES, *CONSOLE_SAMPLES, *VIEWER_MAY] if r not in api_routes + console_routes]
    assert gone == [], "samples for routes the gateway no longer has"
    targets = make_targets(world)
    before = state(platform, world, targets)
    viewers = [c for c in world.callers if c.organization == "A" and c.role == "viewer"]
    assert len(viewers) == 2, [c.name for c in viewers]
    for viewer in viewers:
        for route in api_routes:
            method = route.split(" ", 1)[0]
            for sample in API_SAMPLES[route](world, targets):
                response = viewer.api.request(
                    method, sample.path, json=sample.json, data=sample.data, files=sample.files
                )
                label, ok = "API " + sample.label(route), refused(sample, response)
                matrix.add(PART, label, viewer.name, sample.refusal, described(response), ok)
        token = platform.csrf(viewer.browser.get("/console/contacts"))
        for route in console_routes:
            if route in VIEWER_MAY:
                continue
            for sample in CONSOLE_SAMPLES[route](world, targets):
                response = viewer.browser.post(sample.path, data={"csrf_token": token, **(sample.data or {})})
                label, ok = sample.label(route), refused(sample, response)
                matrix.add(PART, label, viewer.name, sample.refusal, described(response), ok)
    assert state(platform, world, targets) == before, "a viewer's write changed something"
    assert matrix.failures(PART) == []
