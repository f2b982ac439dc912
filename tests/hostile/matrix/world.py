"""Who asks, and the objects of organization A (and B) they ask about."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from shared.testing.helpers import random_name

STAFF_ROLES = [
    ("manager", True),
    ("manager", False),
    ("agent", True),
    ("agent", False),
    ("viewer", True),
    ("viewer", False),
]


# --- who asks ---------------------------------------------------------------------------------


@dataclass
class Caller:
    """One caller: `kind` is anonymous, portal or staff; staff have an API client and a console."""

    name: str
    kind: str
    browser: httpx.Client
    api: httpx.Client
    organization: str = ""  # "A" or "B" for staff
    role: str = ""
    may_manage_portal_access: bool = False
    display_names: tuple[str, ...] = ()  # a portal user's own names, as the portal greets them


@dataclass
class World:
    a: Any
    b: Any
    callers: list[Caller]
    tenant: dict[str, Any]  # A's tenant with a lease and an accepted invitation (signed-in user)
    landlord: dict[str, Any]  # A's landlord linked to a property (signed-in user)
    uninvited: dict[str, Any]  # A's tenant with a lease, never invited
    unlinked_landlord: dict[str, Any]  # A's landlord not linked to anything
    both_a: dict[str, Any]  # the person with two memberships: as A's tenant ...
    both_b: dict[str, Any]  # ... and as B's landlord
    invitation_id: str
    job_id: str
    used_link_path: str
    grant_ids: dict[str, str]  # portal user name -> the grant the portal shows first
    b_property: dict[str, Any]
    b_tenant: dict[str, Any]
    vendor: dict[str, Any]  # A's vendor of a property of their own (signed-in user)
    applicant: dict[str, Any]  # an applicant on the vendor's property, with their viewing and offer
    rival: dict[str, Any]  # another applicant there, with theirs (never invited)
    customer: dict[str, Any]  # authorised on A's client group `group`, with a property in `child`
    maintenance_request_id: str = ""  # A's tenant's, made from the portal
    viewing_id: str = ""  # on A's landlord's property, with feedback
    offer_id: str = ""  # on A's landlord's property
    defect_id: str = ""  # open, on A's landlord's property


def submit_maintenance(browser: httpx.Client, lease_id: str, description: str) -> httpx.Response:
    """The portal's Report a problem form, filled in and sent by the person's browser."""
    form = browser.get("/portal/maintenance/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    grant = re.search(r'name="m" value="([^"]+)"', form.text)
    return browser.post(
        "/portal/maintenance",
        data={
            "csrf_token": token.group(1) if token else "",
            "m": grant.group(1) if grant else "",
            "lease_id": lease_id,
            "category": "plumbing",
            "priority": "normal",
            "description": description,
        },
    )


def fresh_request(world: World) -> str:
    """A new request of A's tenant on their lease, for a status change that should succeed."""
    tenant_browser = next(c for c in world.callers if c.name == "portal:tenant").browser
    made = submit_maintenance(tenant_browser, world.tenant["lease"]["id"], "A fresh leak")
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0].rsplit("/", 1)[1]


FEEDBACK = "The applicant adored the conservatory"


def new_viewing(staff: Any, property_id: str, feedback: str = FEEDBACK) -> str:
    """A viewing of the property with its feedback, made by `staff`."""
    viewing = staff.post(
        f"/properties/{property_id}/viewings",
        {"scheduled_at": "2026-03-14T10:30:00Z", "applicant_name": "Priya Applicant"},
    )
    staff.post(f"/viewings/{viewing['id']}/feedback", {"feedback": feedback, "interest_level": "high"}, 200)
    return str(viewing["id"])


def booked_viewing(staff: Any, property_id: str) -> str:
    viewing = staff.post(
        f"/properties/{property_id}/viewings",
        {"scheduled_at": "2026-05-01T09:00:00Z", "applicant_name": "Kim"},
    )
    return str(viewing["id"])


def new_offer(staff: Any, property_id: str) -> str:
    return str(
        staff.post(f"/properties/{property_id}/offers", {"amount_minor": 30_000_000, "offerer_name": "Jo"})[
            "id"
        ]
    )


def new_defect(staff: Any, property_id: str) -> str:
    defect = staff.post(
        f"/properties/{property_id}/defects",
        {"title": "Cracked fire door glass", "description": "East stair door.", "severity": "high"},
    )
    return str(defect["id"])


# An applicant's own viewing and offer, and another applicant's, on the vendor's property.
OWN_APPLICANT, OWN_AMOUNT = "Ola Ownviewing", (31_250_000, "£312,500.00")
RIVAL_APPLICANT, RIVAL_AMOUNT = "Rafe Rivalbid", (32_000_000, "£320,000.00")
RIVAL_FEEDBACK = "The rival applicant measured every room"
# The sale's progress note: its vendor reads the progress, an applicant never does.
SALE_NOTE = "The vendor asks for viewings on weekdays only"


def applicants_own(
    staff: Any, property_id: str, applicant: dict[str, Any], name: str, amount_minor: int, feedback: str = ""
) -> dict[str, str]:
    """A viewing (with feedback if given) and an offer on the property, each naming the applicant
    contact: what that applicant sees of the property on the portal."""
    viewing = staff.post(
        f"/properties/{property_id}/viewings",
        {
            "scheduled_at": "2026-03-21T11:00:00Z",
            "applicant_name": name,
            "applicant_contact_id": applicant["id"],
        },
    )
    if feedback:
        staff.post(
            f"/viewings/{viewing['id']}/feedback", {"feedback": feedback, "interest_level": "medium"}, 200
        )
    offer = staff.post(
        f"/properties/{property_id}/offers",
        {"amount_minor": amount_minor, "offerer_name": name, "offerer_contact_id": applicant["id"]},
    )
    return {"viewing_id": str(viewing["id"]), "offer_id": str(offer["id"])}


def new_group(staff: Any, parent: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": random_name("Group ")}
    if parent is not None:
        body["parent_id"] = parent["id"]
    return staff.post("/client-groups", body)


def grouped_property(org: Any, group: dict[str, Any]) -> dict[str, Any]:
    prop = org.property()
    response = org.admin.api.put(
        f"/properties/{prop['id']}/client-group", json={"client_group_id": group["id"]}
    )
    assert response.status_code == 200, response.text
    return prop


def customer_of_group(org: Any) -> dict[str, Any]:
    """A customer authorised on a new client group `group`, which has a group `child` below it with
    a property in it: the customer's portfolio."""
    customer = org.contact("customer")
    group = new_group(org.admin)
    child = new_group(org.admin, group)
    org.admin.post(f"/client-groups/{group['id']}/members", {"contact_id": customer["id"]}, 200)
    return {**customer, "group": group, "child": child, "property": grouped_property(org, child)}


def grant_id(platform: Any, contact_id: str) -> str:
    with platform.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT id FROM invitations.access_grants WHERE contact_id = :c AND revoked_at IS NULL"),
                {"c": contact_id},
            ).scalar_one()
        )


def fresh_tenant(world: World, invite: bool = False) -> dict[str, Any]:
    tenant = world.a.tenant_with_lease()
    if invite:
        world.a.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    return tenant


def a_data(world: World) -> list[str]:
    """What of A's must never appear in B's answers (B may see the ids it sent itself)."""
    return [
        world.tenant["email"],
        world.tenant["last_name"],
        world.tenant["property"]["name"],
        world.uninvited["email"],
        world.landlord["email"],
        world.landlord["property"]["name"],
        FEEDBACK,
        world.vendor["email"],
        world.vendor["property"]["name"],
        world.applicant["email"],
        RIVAL_FEEDBACK,
        world.customer["email"],
        world.customer["property"]["name"],
    ]


def a_ids(world: World) -> list[str]:
    """A's ids, which B's lists must not contain."""
    return [
        world.tenant["id"],
        world.tenant["property"]["id"],
        world.uninvited["id"],
        world.landlord["id"],
        world.invitation_id,
        world.maintenance_request_id,
        world.viewing_id,
        world.offer_id,
        world.defect_id,
        world.vendor["id"],
        world.vendor["property"]["id"],
        world.applicant["id"],
        world.applicant["viewing_id"],
        world.applicant["offer_id"],
        world.rival["viewing_id"],
        world.rival["offer_id"],
        world.customer["id"],
        world.customer["group"]["id"],
        world.customer["property"]["id"],
    ]


def snapshot(world: World) -> dict[str, Any]:
    admin = world.a.admin
    return {
        "tenant": admin.get(f"/contacts/{world.tenant['id']}"),
        "links": admin.get(f"/contacts/{world.tenant['id']}/links"),
        "statement": admin.get(f"/leases/{world.tenant['lease']['id']}/statement"),
        "maintenance request": admin.get(f"/maintenance-requests/{world.maintenance_request_id}"),
        "property": admin.get(f"/properties/{world.tenant['property']['id']}"),
        "access": admin.get(f"/contacts/{world.tenant['id']}/portal-access")["status"],
        "uninvited": admin.get(f"/contacts/{world.uninvited['id']}/portal-access")["status"],
        "uninvited invitations": admin.get(f"/contacts/{world.uninvited['id']}/invitations")["total"],
        "unlinked": admin.get(f"/contacts/{world.unlinked_landlord['id']}/links"),
        "landlord links": admin.get(f"/contacts/{world.landlord['id']}/links"),
        "landlord access": admin.get(f"/contacts/{world.landlord['id']}/portal-access")["status"],
        "b property": world.b.admin.get(f"/properties/{world.b_property['id']}"),
        "b leases": world.b.admin.get(f"/contacts/{world.b_tenant['id']}/links"),
        "viewings": admin.get(f"/properties/{world.landlord['property']['id']}/viewings"),
        "offers": admin.get(f"/properties/{world.landlord['property']['id']}/offers"),
        "progress": admin.get(f"/properties/{world.landlord['property']['id']}/progress"),
        "defects": admin.get(f"/properties/{world.landlord['property']['id']}/defects"),
        "feedback visibility": admin.get(f"/contacts/{world.landlord['id']}/visibility/viewing-feedback"),
        "vendor links": admin.get(f"/contacts/{world.vendor['id']}/links"),
        "applicant links": admin.get(f"/contacts/{world.applicant['id']}/links"),
        "sale viewings": admin.get(f"/properties/{world.vendor['property']['id']}/viewings"),
        "sale offers": admin.get(f"/properties/{world.vendor['property']['id']}/offers"),
        "customer groups": admin.get(f"/contacts/{world.customer['id']}/client-groups"),
        "new callers' access": [
            admin.get(f"/contacts/{x['id']}/portal-access")["status"]
            for x in (world.vendor, world.applicant, world.customer)
        ],
    }
