"""The authorization matrix: every staff API operation, portal page and console page, asked by every
kind of caller, against another organization's and another person's objects.

Callers: nobody; a portal user of each contact type, all of organization A (a tenant with a
lease; a landlord of a property; a vendor of another property; an applicant linked to the vendor's
property, with a viewing and an offer of their own beside another applicant's; a customer authorised
on a client group) and a person with a membership in each of two organizations (A's tenant, B's
landlord); staff of organization A in every role, with and without the portal-access permission;
the admin of organization B. The objects are A's. Expected: A's staff may read; they may change
only as their role allows (viewers never: 403), and only staff with the permission may invite,
resend, revoke (403 otherwise); B's admin gets 404 for each of A's objects and sees none of them in
lists; a portal user's session opens no staff API (401) and no console page, shows only that
person's own memberships and opens their own pages, and anyone else's (another person's or another
organization's) is 404; pages send whoever is not signed in to sign in.

Writes that should succeed act on objects made for that one call, so the shared objects stay as
they were, which is checked at the end of each part. What ran is written to
test-artifacts/hostile/authorization-matrix.md (endpoint, caller, expected, got).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.testing.helpers import random_email, random_name

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hostile"
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


def _fresh_request(world: World) -> str:
    """A new request of A's tenant on their lease, for a status change that should succeed."""
    tenant_browser = next(c for c in world.callers if c.name == "portal:tenant").browser
    made = submit_maintenance(tenant_browser, world.tenant["lease"]["id"], "A fresh leak")
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0].rsplit("/", 1)[1]


FEEDBACK = "The applicant adored the conservatory"


def _viewing(staff: Any, property_id: str, feedback: str = FEEDBACK) -> str:
    """A viewing of the property with its feedback, made by `staff`."""
    viewing = staff.post(
        f"/properties/{property_id}/viewings",
        {"scheduled_at": "2026-03-14T10:30:00Z", "applicant_name": "Priya Applicant"},
    )
    staff.post(f"/viewings/{viewing['id']}/feedback", {"feedback": feedback, "interest_level": "high"}, 200)
    return str(viewing["id"])


def _booked_viewing(staff: Any, property_id: str) -> str:
    viewing = staff.post(
        f"/properties/{property_id}/viewings",
        {"scheduled_at": "2026-05-01T09:00:00Z", "applicant_name": "Kim"},
    )
    return str(viewing["id"])


def _offer(staff: Any, property_id: str) -> str:
    return str(
        staff.post(f"/properties/{property_id}/offers", {"amount_minor": 30_000_000, "offerer_name": "Jo"})[
            "id"
        ]
    )


def _defect(staff: Any, property_id: str) -> str:
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


def _applicants_own(
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


def _group(staff: Any, parent: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": random_name("Group ")}
    if parent is not None:
        body["parent_id"] = parent["id"]
    return staff.post("/client-groups", body)


def _grouped_property(org: Any, group: dict[str, Any]) -> dict[str, Any]:
    prop = org.property()
    response = org.admin.api.put(
        f"/properties/{prop['id']}/client-group", json={"client_group_id": group["id"]}
    )
    assert response.status_code == 200, response.text
    return prop


def _customer_of_group(org: Any) -> dict[str, Any]:
    """A customer authorised on a new client group `group`, which has a group `child` below it with
    a property in it: the customer's portfolio."""
    customer = org.contact("customer")
    group = _group(org.admin)
    child = _group(org.admin, group)
    org.admin.post(f"/client-groups/{group['id']}/members", {"contact_id": customer["id"]}, 200)
    return {**customer, "group": group, "child": child, "property": _grouped_property(org, child)}


def _grant_id(platform: Any, contact_id: str) -> str:
    with platform.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT id FROM invitations.access_grants WHERE contact_id = :c AND revoked_at IS NULL"),
                {"c": contact_id},
            ).scalar_one()
        )


@pytest.fixture(scope="module")
def world(platform: Any) -> World:
    a, b = platform.new_organization("Mine "), platform.new_organization("Theirs ")
    for role, granted in STAFF_ROLES:
        platform.add_staff(a, role, granted)

    tenant = a.tenant_with_lease()
    a.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    tenant_link = platform.link_in_email(tenant["email"])
    tenant_browser = platform.accept(tenant_link)
    invitation_id = a.admin.get(f"/contacts/{tenant['id']}/invitations")["items"][0]["id"]

    landlord = a.landlord_of_property()
    landlord_browser = platform.invite_and_accept(a, landlord)

    email = random_email("both")
    both_a, both_b = a.tenant_with_lease(email), b.landlord_of_property(email)
    platform.invite_and_accept(a, both_a)
    b.admin.post(f"/contacts/{both_b['id']}/portal-invitations")
    both_browser = platform.accept(platform.link_in_email(email, count=2))

    # A vendor selling a property, two applicants linked to it (each with a viewing and an offer
    # of their own; only the first signs in), and a customer of a client group.
    vendor = a.linked_to_property("vendor")
    vendor_browser = platform.invite_and_accept(a, vendor)
    sale = vendor["property"]
    applicant = a.linked_to_property("applicant", sale)
    applicant = {**applicant, **_applicants_own(a.admin, sale["id"], applicant, OWN_APPLICANT, OWN_AMOUNT[0])}
    applicant_browser = platform.invite_and_accept(a, applicant)
    rival = a.linked_to_property("applicant", sale)
    rival = {
        **rival,
        **_applicants_own(a.admin, sale["id"], rival, RIVAL_APPLICANT, RIVAL_AMOUNT[0], RIVAL_FEEDBACK),
    }
    a.admin.post(
        f"/properties/{sale['id']}/progress", {"kind": "sale", "stage": "instructed", "note": SALE_NOTE}
    )
    customer = _customer_of_group(a)
    customer_browser = platform.invite_and_accept(a, customer)

    uninvited = a.tenant_with_lease()
    job_target = a.tenant_with_lease()
    job = a.admin.post("/portal-invitations/bulk", {"contact_ids": [job_target["id"]]}, 202)

    def staff_caller(org_name: str, staff: Any) -> Caller:
        return Caller(
            name=f"{org_name}:{staff.label}",
            kind="staff",
            browser=platform.console(staff),
            api=staff.api,
            organization=org_name,
            role=staff.role,
            may_manage_portal_access=staff.role == "admin"
            or (staff.can_manage_portal_access and staff.role != "viewer"),
        )

    def portal_caller(name: str, browser: httpx.Client, *display_names: str) -> Caller:
        # Their browser's cookies go with every API call too: a portal session opens no staff API.
        api = httpx.Client(base_url=f"{platform.url}/api/v1", cookies=browser.cookies, timeout=30)
        return Caller(name, "portal", browser, api, display_names=display_names)

    anonymous = platform.client()
    callers = [
        Caller(
            "anonymous", "anonymous", anonymous, httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30)
        ),
        portal_caller("portal:tenant", tenant_browser, tenant["display_name"]),
        portal_caller("portal:landlord", landlord_browser, landlord["display_name"]),
        portal_caller("portal:both orgs", both_browser, both_a["display_name"], both_b["display_name"]),
        portal_caller("portal:vendor", vendor_browser, vendor["display_name"]),
        portal_caller("portal:applicant", applicant_browser, applicant["display_name"]),
        portal_caller("portal:customer", customer_browser, customer["display_name"]),
        *(staff_caller("A", staff) for staff in a.staff.values()),
        staff_caller("B", b.admin),
    ]
    made = submit_maintenance(tenant_browser, tenant["lease"]["id"], "The bathroom tap drips")
    assert made.status_code == 303, made.text
    request_id = made.headers["location"].split("?")[0].rsplit("/", 1)[1]
    landlord_property_id = landlord["property"]["id"]
    return World(
        a=a,
        b=b,
        callers=callers,
        tenant=tenant,
        landlord=landlord,
        uninvited=uninvited,
        unlinked_landlord=a.contact("landlord"),
        both_a=both_a,
        both_b=both_b,
        invitation_id=invitation_id,
        job_id=job["id"],
        used_link_path=platform.path_of(tenant_link),
        grant_ids={
            "portal:tenant": _grant_id(platform, tenant["id"]),
            "portal:landlord": _grant_id(platform, landlord["id"]),
            "portal:both orgs": _grant_id(platform, both_a["id"]),
            "portal:vendor": _grant_id(platform, vendor["id"]),
            "portal:applicant": _grant_id(platform, applicant["id"]),
            "portal:customer": _grant_id(platform, customer["id"]),
        },
        b_property=b.property(),
        b_tenant=b.tenant_with_lease(),
        vendor=vendor,
        applicant=applicant,
        rival=rival,
        customer=customer,
        maintenance_request_id=request_id,
        viewing_id=_viewing(a.admin, landlord_property_id),
        offer_id=_offer(a.admin, landlord_property_id),
        defect_id=_defect(a.admin, landlord_property_id),
    )


# --- the matrix -------------------------------------------------------------------------------


@dataclass
class Row:
    part: str
    endpoint: str
    caller: str
    expected: str
    got: str
    ok: bool


@dataclass
class Matrix:
    rows: list[Row] = field(default_factory=list)

    def add(self, part: str, endpoint: str, caller: str, expected: str, got: str, ok: bool) -> None:
        self.rows.append(Row(part, endpoint, caller, expected, got, ok))

    def failures(self, part: str) -> list[str]:
        return [
            f"{r.endpoint} as {r.caller}: expected {r.expected}, got {r.got}"
            for r in self.rows
            if r.part == part and not r.ok
        ]

    def write(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Authorization matrix",
            "",
            "Every staff API operation, portal page and console page, asked by every kind of caller.",
            "Portal callers, one of each contact type of organization A: `portal:tenant` (with a lease),",
            "`portal:landlord` (of a property), `portal:vendor` (of another property), `portal:applicant`",
            "(linked to the vendor's property, with a viewing and an offer of their own beside another",
            "applicant's), `portal:customer` (authorised on a client group); and `portal:both orgs`, a",
            "person who is A's tenant and B's landlord.",
            "The objects are organization A's; `B:admin` is another organization's admin. Statuses",
            "are HTTP statuses; `→ /path` is a redirect's Location; notes after `;` say what else",
            "was checked. The grids show what each cell was held to; a cell that failed shows in bold",
            "what it got. The last table has every answer as received.",
            "",
        ]
        failed = sum(not r.ok for r in self.rows)
        lines.append(f"{len(self.rows)} cells, {failed} not as expected.")
        for part in dict.fromkeys(r.part for r in self.rows):
            rows = [r for r in self.rows if r.part == part]
            callers = list(dict.fromkeys(r.caller for r in rows))
            endpoints = list(dict.fromkeys(r.endpoint for r in rows))
            cell = {(r.endpoint, r.caller): r for r in rows}
            lines += ["", f"## {part}", "", "| endpoint | " + " | ".join(callers) + " |"]
            lines.append("|---|" + "---|" * len(callers))
            for endpoint in endpoints:
                cells = []
                for caller in callers:
                    r = cell.get((endpoint, caller))
                    # A cell as expected shows what was checked; "Every cell" below has the raw answer.
                    cells.append(
                        "" if r is None else (r.expected if r.ok else f"**{r.got}** (expected {r.expected})")
                    )
                lines.append(f"| `{endpoint}` | " + " | ".join(cells) + " |")
        lines += [
            "",
            "## Every cell",
            "",
            "| part | endpoint | caller | expected | got | ok |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            ok = "yes" if r.ok else "NO"
            lines.append(f"| {r.part} | `{r.endpoint}` | {r.caller} | {r.expected} | {r.got} | {ok} |")
        (ARTIFACTS / "authorization-matrix.md").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    collected = Matrix()
    yield collected
    collected.write()
    print("\n" + (ARTIFACTS / "authorization-matrix.md").read_text())


def described(response: httpx.Response) -> str:
    location = response.headers.get("location")
    return f"{response.status_code} → {location}" if location else str(response.status_code)


# --- part 1: the staff API --------------------------------------------------------------------

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


def _fresh_tenant(world: World, invite: bool = False) -> dict[str, Any]:
    tenant = world.a.tenant_with_lease()
    if invite:
        world.a.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    return tenant


def _resend(world: World, caller: Caller, fresh: bool) -> tuple[str, str, Any]:
    if not fresh:
        return "POST", f"/contacts/{world.uninvited['id']}/portal-invitations/resend", None
    tenant = _fresh_tenant(world, invite=True)
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
            f"/leases/{(_fresh_tenant(w) if f else w.tenant)['lease']['id']}/end",
            {"end_date": "2026-12-31"},
        ),
    ),
    Operation(
        "POST /leases/{id}/charges",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/leases/{(_fresh_tenant(w) if f else w.tenant)['lease']['id']}/charges",
            {"description": "Rent", "amount_minor": 95_000, "due_date": "2026-12-01"},
        ),
        201,
    ),
    Operation(
        "POST /leases/{id}/payments",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/leases/{(_fresh_tenant(w) if f else w.tenant)['lease']['id']}/payments",
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
            f"/maintenance-requests/{_fresh_request(w) if f else w.maintenance_request_id}/status",
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
            f"/viewings/{_viewing(w.a.admin, w.a.property()['id'], 'Fresh') if f else w.viewing_id}/feedback",
            {"feedback": "Changed", "interest_level": "low"},
        ),
    ),
    Operation(
        "POST /viewings/{id}/status",
        "edit",
        lambda w, c, f: (
            "POST",
            f"/viewings/{_booked_viewing(w.a.admin, w.a.property()['id']) if f else w.viewing_id}/status",
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
            f"/offers/{_offer(w.a.admin, w.a.property()['id']) if f else w.offer_id}/status",
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
            f"/defects/{_defect(w.a.admin, w.a.property()['id']) if f else w.defect_id}/status",
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
            f"/contacts/{(_fresh_tenant(w) if f else w.uninvited)['id']}/portal-invitations",
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
            f"/contacts/{(_fresh_tenant(w, invite=True) if f else w.tenant)['id']}/portal-access/revoke",
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
            {"contact_ids": [(_fresh_tenant(w) if f else w.uninvited)["id"]]},
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


# --- part 2: the portal pages -----------------------------------------------------------------


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
            mine = browser.get(f"/portal?m={_grant_id(platform, world.both_b['id'])}")
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
        b_grant = _grant_id(platform, world.both_b["id"])
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


# --- part 3: the console ----------------------------------------------------------------------


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
        target = _fresh_tenant(world) if may else world.uninvited
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
        target = _fresh_tenant(world, invite=True) if may else tenant
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


# --- part 5: the console's contact page and Visibility ----------------------------------------


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
        target = _fresh_tenant(world) if may else world.uninvited
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
        target = _fresh_tenant(world) if may else world.uninvited
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


# --- part 4: the console's maintenance pages --------------------------------------------------


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
        target = _fresh_request(world) if editor else shared_request
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


# --- part 6: documents and maintenance photos -------------------------------------------------

DOCUMENT_PDF = b"%PDF-1.7\n% matrix\n%%EOF\n"
PHOTO_PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


def _document(staff: Any, title: str, **scope: str) -> str:
    """A document `staff` uploads (through the API, multipart) on a lease, property or client group."""
    made = staff.api.post(
        "/documents",
        data={"kind": "quote" if "property_id" in scope else "invoice", "title": title, **scope},
        files={"file": ("matrix.pdf", DOCUMENT_PDF, "application/pdf")},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _report_with_photo(browser: httpx.Client, lease_id: str, csrf: bool = True) -> httpx.Response:
    form = browser.get("/portal/maintenance/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    grant = re.search(r'name="m" value="([^"]+)"', form.text)
    data = {
        "m": grant.group(1) if grant else "",
        "lease_id": lease_id,
        "category": "plumbing",
        "description": "Photo of the leak attached",
    }
    if csrf:
        data["csrf_token"] = token.group(1) if token else ""
    return browser.post(
        "/portal/maintenance", data=data, files={"photo": ("leak.png", PHOTO_PNG, "image/png")}
    )


def test_documents_and_photos(platform: Any, world: World, matrix: Matrix) -> None:
    """Staff API: A's staff read A's documents, editors upload, share and delete (viewers 403), B's
    admin finds none of A's (404). Portal: a document or photo opens only for the person it is
    shared with (404 for anyone else, sign in first for no one); View As may read them."""
    admin = world.a.admin
    tenant_lease = world.tenant["lease"]["id"]
    landlord_property = world.landlord["property"]["id"]
    group_id = _group(admin)["id"]
    tenant_doc = _document(admin, "Matrix tenant invoice", lease_id=tenant_lease)
    landlord_doc = _document(admin, "Matrix landlord quote", property_id=landlord_property)
    _document(admin, "Matrix group statement", client_group_id=group_id)
    # On the vendor's property, one document for its vendor and one for its applicants; one for the
    # customers of the customer's client group (a group's default audience).
    sale = world.vendor["property"]["id"]
    vendor_doc = _document(admin, "Matrix vendor report", property_id=sale, audiences="vendor")
    applicant_doc = _document(admin, "Matrix applicant brochure", property_id=sale, audiences="applicant")
    customer_doc = _document(
        admin, "Matrix customer statement", client_group_id=world.customer["group"]["id"]
    )
    tenant_browser = next(c for c in world.callers if c.name == "portal:tenant").browser
    reported = _report_with_photo(tenant_browser, tenant_lease)
    assert reported.status_code == 303, reported.text
    photo_request = reported.headers["location"].split("?")[0].rsplit("/", 1)[1]

    def documents_state() -> Any:
        return (
            admin.get(f"/leases/{tenant_lease}/documents"),
            admin.get(f"/properties/{landlord_property}/documents"),
            admin.get(f"/maintenance-requests/{photo_request}"),
            admin.get(f"/properties/{sale}/documents"),
            admin.get(f"/client-groups/{world.customer['group']['id']}/documents"),
        )

    before = documents_state()

    def fresh_doc(w: World) -> str:
        return _document(admin, "Fresh", lease_id=_fresh_tenant(w)["lease"]["id"])

    operations = [
        Operation(
            "POST /documents (multipart)",
            "edit",
            lambda w, c, f: ("POST", "/documents", (_fresh_tenant(w) if f else w.tenant)["lease"]["id"]),
            201,
        ),
        Operation(
            "GET /leases/{id}/documents",
            "read",
            lambda w, c, f: ("GET", f"/leases/{tenant_lease}/documents", None),
        ),
        Operation(
            "GET /properties/{id}/documents",
            "read",
            lambda w, c, f: ("GET", f"/properties/{landlord_property}/documents", None),
        ),
        Operation(
            "GET /client-groups/{id}/documents",
            "read",
            lambda w, c, f: ("GET", f"/client-groups/{group_id}/documents", None),
        ),
        Operation(
            "GET /documents/{id}/file", "read", lambda w, c, f: ("GET", f"/documents/{tenant_doc}/file", None)
        ),
        Operation(
            "PUT /documents/{id}/audiences",
            "edit",
            lambda w, c, f: (
                "PUT",
                f"/documents/{fresh_doc(w) if f else tenant_doc}/audiences",
                {"audiences": ["tenant"]},
            ),
        ),
        Operation(
            "DELETE /documents/{id}",
            "edit",
            lambda w, c, f: ("DELETE", f"/documents/{fresh_doc(w) if f else tenant_doc}", None),
            204,
        ),
        Operation(
            "GET /documents/{id}/visibility?contact_id=",
            "read",
            lambda w, c, f: ("GET", f"/documents/{tenant_doc}/visibility?contact_id={w.tenant['id']}", None),
        ),
        Operation(
            "GET /maintenance-requests/{id}/photo",
            "read",
            lambda w, c, f: ("GET", f"/maintenance-requests/{photo_request}/photo", None),
        ),
    ]

    def send(caller: Caller, operation: Operation, fresh: bool) -> httpx.Response:
        method, path, body = operation.build(world, caller, fresh)
        if path == "/documents":  # the upload: `body` is the lease to file on
            return caller.api.post(
                path,
                data={"kind": "invoice", "title": "Matrix upload", "lease_id": body},
                files={"file": ("m.pdf", DOCUMENT_PDF, "application/pdf")},
            )
        return caller.api.request(method, path, json=body)

    secrets = (
        "Matrix tenant invoice",
        "Matrix landlord quote",
        "Matrix group statement",
        "Matrix vendor report",
        "Matrix applicant brochure",
        "Matrix customer statement",
        tenant_doc,
    )
    for operation in operations:
        for caller in world.callers:
            if caller.kind != "staff":
                response = send(caller, operation, False)
                expected, ok = "401", response.status_code == 401
            elif caller.organization == "B":
                response = send(caller, operation, False)
                leaked = any(s in response.text for s in secrets) or DOCUMENT_PDF in response.content
                if operation.foreign == "own":
                    expected, ok = "200; none of A's", response.status_code == 200 and not leaked
                else:
                    expected, ok = "404", response.status_code == 404 and not leaked
            else:
                may = allowed(operation, caller)
                response = send(caller, operation, may)
                expected = str(operation.success if may else 403)
                ok = str(response.status_code) == expected
            matrix.add("Documents", operation.label, caller.name, expected, str(response.status_code), ok)

    for caller in world.callers:
        browser, portal_user = caller.browser, caller.kind == "portal"

        def row(
            endpoint: str,
            expected: str,
            response: httpx.Response,
            ok: bool | None = None,
            who: str = caller.name,
        ) -> None:
            got = described(response)
            matrix.add("Documents", endpoint, who, expected, got, got == expected if ok is None else ok)

        for label, path, owner, content in (
            (
                "GET /portal/documents/{A tenant's}",
                f"/portal/documents/{tenant_doc}",
                "portal:tenant",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/documents/{A landlord's}",
                f"/portal/documents/{landlord_doc}",
                "portal:landlord",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/maintenance/{A tenant's}/photo",
                f"/portal/maintenance/{photo_request}/photo",
                "portal:tenant",
                PHOTO_PNG,
            ),
            (
                "GET /portal/documents/{A vendor's}",
                f"/portal/documents/{vendor_doc}",
                "portal:vendor",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/documents/{A's applicants'}",
                f"/portal/documents/{applicant_doc}",
                "portal:applicant",
                DOCUMENT_PDF,
            ),
            (
                "GET /portal/documents/{A customer's group's}",
                f"/portal/documents/{customer_doc}",
                "portal:customer",
                DOCUMENT_PDF,
            ),
        ):
            got = browser.get(path)
            if caller.name == owner:
                ok = got.status_code == 200 and got.content == content
                row(label, "200; the bytes", got, ok)
            elif portal_user:
                row(label, "404", got, got.status_code == 404 and content not in got.content)
            else:
                row(label, "303 → /login", got)
        if caller.name == "portal:tenant":
            page = browser.get(f"/portal/leases/{tenant_lease}")
            row(
                "GET /portal/leases/{A tenant's} lists it",
                "200; listed",
                page,
                "Matrix tenant invoice" in page.text,
            )
        if caller.name == "portal:landlord":
            page = browser.get(f"/portal/properties/{landlord_property}")
            ok = "Matrix landlord quote" in page.text and "Matrix tenant invoice" not in page.text
            row("GET /portal/properties/{A landlord's} lists it", "200; only theirs", page, ok)
        if caller.name in ("portal:vendor", "portal:applicant"):
            page = browser.get(f"/portal/properties/{sale}")
            mine, theirs = ("Matrix vendor report", "Matrix applicant brochure")
            if caller.name == "portal:applicant":
                mine, theirs = theirs, mine
            ok = page.status_code == 200 and mine in page.text
            ok = ok and not any(x in page.text for x in (theirs, "Matrix landlord quote"))
            row("GET /portal/properties/{A vendor's} lists it", "200; only theirs", page, ok)
        if caller.name == "portal:customer":
            page = browser.get("/portal/customer")
            ok = page.status_code == 200 and "Matrix customer statement" in page.text
            ok = ok and "Matrix group statement" not in page.text
            row("GET /portal/customer lists it", "200; only their group's", page, ok)
        row(
            "POST /portal/maintenance with a photo, without CSRF",
            "403",
            _report_with_photo(browser, tenant_lease, csrf=False),
        )
        if caller.kind == "staff" and caller.organization == "A":
            token = platform.csrf(browser.get("/console/contacts"))
            browser.post(f"/console/contacts/{world.tenant['id']}/view-as", data={"csrf_token": token})
            got = browser.get(f"/portal/documents/{tenant_doc}")
            row(
                "GET /portal/documents/{A tenant's} while viewing as", "200", got, got.content == DOCUMENT_PDF
            )
            browser.post("/console/view-as/end", data={"csrf_token": token})
    assert documents_state() == before, "a refused call changed A's documents"
    assert matrix.failures("Documents") == []


# --- part: client groups and customers' pages (Uptick) ----------------------------------------


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
    other = _group(world.a.admin)
    return Uptick(
        top=world.customer["group"],
        child=world.customer["child"],
        other=other,
        child_property=world.customer["property"],
        other_property=_grouped_property(world.a, other),
        customer=world.customer,
        b_group=_group(world.b.admin),
    )


def _fresh_member(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    group = _group(world.a.admin)
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
                f"/client-groups/{(_group(w.a.admin) if f else u.top)['id']}",
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
                f"/client-groups/{(_group(w.a.admin) if f else u.other)['id']}/members",
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
                {"client_group_id": (_group(w.a.admin) if f else u.other)["id"]},
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
        target = _group(world.a.admin) if editor else u.other
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
