"""The staff API's operations, what each needs of its caller, and what each caller should get."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.testing.helpers import random_email
from tests.hostile.matrix.world import (
    Caller,
    World,
    a_data,
    a_ids,
    booked_viewing,
    fresh_request,
    fresh_tenant,
    new_defect,
    new_offer,
    new_viewing,
)

# What an operation needs of its caller: any staff member ("read"), an editor ("edit"), the
# portal-access permission ("portal"), an admin ("admin").
Build = Callable[[World, Caller, bool], tuple[str, str, Any]]


@dataclass
class Operation:
    label: str
    needs: str
    build: Build  # (world, caller, fresh) -> (method, path, json body); fresh: make objects to change
    success: int = 200
    # For B's admin, what A's objects give: "404", or "own" (the call is about B's own data and
    # must show none of A's).
    foreign: str = "404"
    # Names another organization's object whoever asks: A's editors get 404 too.
    cross: bool = False


def _resend(world: World, caller: Caller, fresh: bool) -> tuple[str, str, Any]:
    if not fresh:
        return "POST", f"/contacts/{world.uninvited['id']}/portal-invitations/resend", None
    tenant = fresh_tenant(world, invite=True)
    time.sleep(1.1)  # past the resend cooldown (RESEND_COOLDOWN_SECONDS=1 in this suite)
    return "POST", f"/contacts/{tenant['id']}/portal-invitations/resend", None


def _unlink(world: World, caller: Caller, fresh: bool) -> tuple[str, str, Any]:
    """Remove a landlord's link: a fresh landlord's when it should succeed, else A's signed-in one's."""
    landlord = world.a.landlord_of_property() if fresh else world.landlord
    return "DELETE", f"/properties/{landlord['property']['id']}/contacts/{landlord['id']}", None


OPERATIONS = [
    Operation("GET /me", "read", lambda w, c, f: ("GET", "/me", None), foreign="own"),
    Operation(
        "POST /staff",
        "admin",
        lambda w, c, f: ("POST", "/staff", {"email": random_email("staff"), "name": "New", "role": "agent"}),
        201,
        foreign="own",
    ),
    Operation(
        "POST /contacts",
        "edit",
        lambda w, c, f: (
            "POST",
            "/contacts",
            {"type": "tenant", "first_name": "New", "last_name": "Person", "email": random_email()},
        ),
        201,
        foreign="own",
    ),
    Operation("GET /contacts", "read", lambda w, c, f: ("GET", "/contacts?limit=200", None), foreign="own"),
    Operation("GET /contacts/{id}", "read", lambda w, c, f: ("GET", f"/contacts/{w.tenant['id']}", None)),
    Operation(
        "PATCH /contacts/{id}",
        "edit",
        lambda w, c, f: (
            "PATCH",
            f"/contacts/{(w.a.contact() if f else w.tenant)['id']}",
            {"first_name": "Changed"},
        ),
    ),
    Operation(
        "POST /contacts/{id}/archive",
        "edit",
        lambda w, c, f: ("POST", f"/contacts/{(w.a.contact() if f else w.tenant)['id']}/archive", None),
    ),
    Operation(
        "GET /contacts/{id}/links", "read", lambda w, c, f: ("GET", f"/contacts/{w.tenant['id']}/links", None)
    ),
    Operation(
        "POST /properties",
        "edit",
        lambda w, c, f: (
            "POST",
            "/properties",
            {"name": "New", "address_line1": "1 Road", "city": "London", "postcode": "N1 1AA"},
        ),
        201,
        foreign="own",
    ),
    Operation(
        "GET /properties", "read", lambda w, c, f: ("GET", "/properties?limit=200", None), foreign="own"
    ),
    Operation(
        "GET /properties/{id}",
        "read",
        lambda w, c, f: ("GET", f"/properties/{w.tenant['property']['id']}", None),
    ),
    Operation(
        "POST /properties/{id}/units",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{(w.a.property() if f else w.tenant['property'])['id']}/units",
            {"name": "Flat 9"},
        ),
        201,
    ),
    Operation(
        "POST /properties/{id}/contacts",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{(w.a.property() if f else w.tenant['property'])['id']}/contacts",
            {"contact_id": (w.a.contact("landlord") if f else w.unlinked_landlord)["id"], "role": "landlord"},
        ),
    ),
    Operation(
        "POST /properties/{B's}/contacts with A's contact",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{w.b_property['id']}/contacts",
            {"contact_id": w.unlinked_landlord["id"], "role": "landlord"},
        ),
        cross=True,
    ),
    Operation("DELETE /properties/{id}/contacts/{contact_id}", "edit", _unlink),
    Operation(
        "DELETE /properties/{B's}/contacts/{A's landlord}",
        "edit",
        lambda w, c, f: ("DELETE", f"/properties/{w.b_property['id']}/contacts/{w.landlord['id']}", None),
        # A's staff find no such property; B's admin finds no such link on it.
        cross=True,
    ),
    Operation(
        "POST /leases",
        "edit",
        lambda w, c, f: (
            "POST",
            "/leases",
            {
                "unit_id": (w.a.property()["unit"] if f else w.tenant["unit"])["id"],
                "start_date": "2026-02-01",
                "tenant_contact_ids": [(w.a.contact() if f else w.tenant)["id"]],
            },
        ),
        201,
    ),
    Operation(
        "POST /leases on B's unit with A's tenant",
        "edit",
        lambda w, c, f: (
            "POST",
            "/leases",
            {
                "unit_id": w.b_tenant["unit"]["id"],
                "start_date": "2026-02-01",
                "tenant_contact_ids": [w.tenant["id"]],
            },
        ),
        cross=True,
    ),
    Operation(
        "POST /leases/{id}/end",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/leases/{(fresh_tenant(w) if f else w.tenant)['lease']['id']}/end",
            {"end_date": "2026-12-31"},
        ),
    ),
    Operation(
        "POST /leases/{id}/charges",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/leases/{(fresh_tenant(w) if f else w.tenant)['lease']['id']}/charges",
            {"description": "Rent", "amount_minor": 95_000, "due_date": "2026-12-01"},
        ),
        201,
    ),
    Operation(
        "POST /leases/{id}/payments",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/leases/{(fresh_tenant(w) if f else w.tenant)['lease']['id']}/payments",
            {"amount_minor": 50_000, "paid_on": "2026-11-01", "reference": "BACS"},
        ),
        201,
    ),
    Operation(
        "GET /leases/{id}/statement",
        "read",
        lambda w, c, f: ("GET", f"/leases/{w.tenant['lease']['id']}/statement", None),
    ),
    Operation(
        "GET /maintenance-requests",
        "read",
        lambda w, c, f: ("GET", "/maintenance-requests?limit=200", None),
        foreign="own",
    ),
    Operation(
        "GET /maintenance-requests?lease_id={A's}",
        "read",
        lambda w, c, f: ("GET", f"/maintenance-requests?lease_id={w.tenant['lease']['id']}", None),
        foreign="own",
    ),
    Operation(
        "GET /maintenance-requests/{id}",
        "read",
        lambda w, c, f: ("GET", f"/maintenance-requests/{w.maintenance_request_id}", None),
    ),
    Operation(
        "POST /maintenance-requests/{id}/status",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/maintenance-requests/{fresh_request(w) if f else w.maintenance_request_id}/status",
            {"status": "acknowledged", "note": "On it"},
        ),
    ),
    Operation(
        "POST /properties/{id}/viewings",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{(w.a.property() if f else w.landlord['property'])['id']}/viewings",
            {"scheduled_at": "2026-04-01T09:00:00Z", "applicant_name": "Ravi"},
        ),
        201,
    ),
    Operation(
        "POST /properties/{B's}/viewings",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{w.b_property['id']}/viewings",
            {"scheduled_at": "2026-04-01T09:00:00Z", "applicant_name": "Ravi"},
        ),
        201,
        # A's staff find no such property; for B's admin it is their own.
        foreign="own",
        cross=True,
    ),
    Operation(
        "GET /properties/{id}/viewings",
        "read",
        lambda w, c, f: ("GET", f"/properties/{w.landlord['property']['id']}/viewings", None),
    ),
    Operation(
        "POST /viewings/{id}/feedback",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/viewings/{new_viewing(w.a.admin, w.a.property()['id'], 'Fresh') if f else w.viewing_id}"
            "/feedback",
            {"feedback": "Changed", "interest_level": "low"},
        ),
    ),
    Operation(
        "POST /viewings/{id}/status",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/viewings/{booked_viewing(w.a.admin, w.a.property()['id']) if f else w.viewing_id}/status",
            {"status": "cancelled"},
        ),
    ),
    Operation(
        "POST /properties/{id}/offers",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{(w.a.property() if f else w.landlord['property'])['id']}/offers",
            {"amount_minor": 100, "offerer_name": "Someone"},
        ),
        201,
    ),
    Operation(
        "POST /properties/{B's}/offers",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{w.b_property['id']}/offers",
            {"amount_minor": 100, "offerer_name": "Someone"},
        ),
        201,
        # A's staff find no such property; for B's admin it is their own.
        foreign="own",
        cross=True,
    ),
    Operation(
        "GET /properties/{id}/offers",
        "read",
        lambda w, c, f: ("GET", f"/properties/{w.landlord['property']['id']}/offers", None),
    ),
    Operation(
        "POST /offers/{id}/status",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/offers/{new_offer(w.a.admin, w.a.property()['id']) if f else w.offer_id}/status",
            {"status": "rejected"},
        ),
    ),
    Operation(
        "POST /properties/{id}/progress",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{(w.a.property() if f else w.landlord['property'])['id']}/progress",
            {"kind": "sale", "stage": "instructed", "note": "Signed the agency agreement"},
        ),
        201,
    ),
    Operation(
        "GET /properties/{id}/progress",
        "read",
        lambda w, c, f: ("GET", f"/properties/{w.landlord['property']['id']}/progress", None),
    ),
    Operation(
        "POST /properties/{id}/defects",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{(w.a.property() if f else w.landlord['property'])['id']}/defects",
            {"title": "Loose handrail", "description": "The stair rail moves.", "severity": "low"},
        ),
        201,
    ),
    Operation(
        "GET /properties/{id}/defects",
        "read",
        lambda w, c, f: ("GET", f"/properties/{w.landlord['property']['id']}/defects", None),
    ),
    Operation(
        "POST /defects/{id}/status",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/defects/{new_defect(w.a.admin, w.a.property()['id']) if f else w.defect_id}/status",
            {"status": "resolved"},
        ),
    ),
    Operation(
        # B's own property, naming A's applicant: B's admin finds no such contact, and A's staff
        # no such property.
        "POST /properties/{B's}/viewings naming A's applicant",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{w.b_property['id']}/viewings",
            {
                "scheduled_at": "2026-04-01T09:00:00Z",
                "applicant_name": "Ravi",
                "applicant_contact_id": w.a.contact("applicant")["id"],
            },
        ),
        201,
        cross=True,
    ),
    Operation(
        "POST /properties/{B's}/offers naming A's applicant",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/properties/{w.b_property['id']}/offers",
            {
                "amount_minor": 100,
                "offerer_name": "Ravi",
                "offerer_contact_id": w.a.contact("applicant")["id"],
            },
        ),
        201,
        cross=True,
    ),
    Operation(
        "PUT /visibility/viewing-feedback for a contact",
        "edit",
        lambda w, c, f: (
            "PUT",
            "/visibility/viewing-feedback",
            {"contact_id": (w.a.contact("landlord") if f else w.landlord)["id"], "visible": False},
        ),
    ),
    Operation(
        # The type's setting, to what the default already is: A's landlord's chain stays the same.
        "PUT /visibility/viewing-feedback for vendors",
        "edit",
        lambda w, c, f: ("PUT", "/visibility/viewing-feedback", {"contact_type": "vendor", "visible": False}),
        foreign="own",
    ),
    Operation(
        "GET /contacts/{id}/visibility/viewing-feedback",
        "read",
        lambda w, c, f: ("GET", f"/contacts/{w.landlord['id']}/visibility/viewing-feedback", None),
    ),
    Operation(
        "PUT /visibility/viewing-feedback for a property's vendors",
        "edit",
        lambda w, c, f: (
            "PUT",
            "/visibility/viewing-feedback",
            {
                "contact_type": "vendor",
                "property_id": (w.a.property() if f else w.landlord["property"])["id"],
                "visible": True,
            },
        ),
    ),
    Operation(
        "GET /visibility/viewing-feedback",
        "read",
        lambda w, c, f: ("GET", "/visibility/viewing-feedback", None),
        foreign="own",
    ),
    Operation(
        "GET /contacts/{id}/access-audit",
        "read",
        lambda w, c, f: ("GET", f"/contacts/{w.tenant['id']}/access-audit", None),
    ),
    Operation(
        "GET /contacts/{id}/portal-eligibility",
        "read",
        lambda w, c, f: ("GET", f"/contacts/{w.uninvited['id']}/portal-eligibility", None),
    ),
    Operation(
        "POST /contacts/{id}/portal-invitations",
        "portal",
        lambda w, c, f: (
            "POST",
            f"/contacts/{(fresh_tenant(w) if f else w.uninvited)['id']}/portal-invitations",
            None,
        ),
        201,
    ),
    Operation("POST /contacts/{id}/portal-invitations/resend", "portal", _resend, 201),
    Operation(
        "POST /contacts/{id}/portal-access/revoke",
        "portal",
        lambda w, c, f: (
            "POST",
            f"/contacts/{(fresh_tenant(w, invite=True) if f else w.tenant)['id']}/portal-access/revoke",
            {},
        ),
    ),
    Operation(
        "GET /contacts/{id}/portal-access",
        "read",
        lambda w, c, f: ("GET", f"/contacts/{w.tenant['id']}/portal-access", None),
    ),
    Operation(
        "GET /contacts/{id}/invitations",
        "read",
        lambda w, c, f: ("GET", f"/contacts/{w.tenant['id']}/invitations", None),
    ),
    Operation(
        "GET /invitations", "read", lambda w, c, f: ("GET", "/invitations?limit=200", None), foreign="own"
    ),
    Operation(
        "GET /invitations/{id}/deliveries",
        "read",
        lambda w, c, f: ("GET", f"/invitations/{w.invitation_id}/deliveries", None),
    ),
    Operation(
        "POST /portal-invitations/bulk",
        "portal",
        lambda w, c, f: (
            "POST",
            "/portal-invitations/bulk",
            {"contact_ids": [(fresh_tenant(w) if f else w.uninvited)["id"]]},
        ),
        202,
        foreign="bulk",
    ),
    Operation(
        "GET /portal-invitations/bulk/{id}",
        "read",
        lambda w, c, f: ("GET", f"/portal-invitations/bulk/{w.job_id}", None),
    ),
]


def allowed(operation: Operation, caller: Caller) -> bool:
    if operation.needs == "read":
        return True
    if operation.needs == "edit":
        return caller.role != "viewer"
    if operation.needs == "portal":
        return caller.may_manage_portal_access
    return caller.role == "admin"


def _bulk_outcome(caller: Caller, response: httpx.Response) -> str:
    """B's bulk invitation of A's contact: accepted as a job, which must invite nobody."""
    location = response.headers["location"].removeprefix("/api/v1")
    deadline = time.monotonic() + 30
    while True:
        job = caller.api.get(location).json()
        if job["finished_at"]:
            return f"{response.status_code}; job invited {job['invited']}, skipped {job['skipped']}"
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def check_api(world: World, operation: Operation, caller: Caller) -> tuple[str, str, bool]:
    """(expected, got, ok) for one operation asked by one caller."""
    if caller.kind != "staff":
        method, path, body = operation.build(world, caller, False)
        response = caller.api.request(method, path, json=body)
        return "401", str(response.status_code), response.status_code == 401
    if caller.organization == "B":
        method, path, body = operation.build(world, caller, operation.foreign in ("own",))
        response = caller.api.request(method, path, json=body)
        got = str(response.status_code)
        if operation.foreign == "404":
            return (
                "404",
                got,
                response.status_code == 404 and not any(x in response.text for x in a_data(world)),
            )
        if operation.foreign == "bulk":
            got = _bulk_outcome(caller, response) if response.status_code == 202 else got
            return "202; job invited 0, skipped 1", got, got == "202; job invited 0, skipped 1"
        leaked = any(x in response.text for x in a_ids(world) + a_data(world))
        ok = response.status_code == operation.success and not leaked
        return f"{operation.success}; none of A's", f"{got}{'; none of A' + chr(39) + 's' if ok else ''}", ok
    may = allowed(operation, caller)
    method, path, body = operation.build(world, caller, may and not operation.cross)
    response = caller.api.request(method, path, json=body)
    expected = (404 if operation.cross else operation.success) if may else 403
    return str(expected), str(response.status_code), response.status_code == expected
