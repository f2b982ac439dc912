"""The tenant's pages of the portal: a lease with its statement, and maintenance requests (the list,
reporting a problem, one request with its history).

Each page asks the properties service as the contact of the membership the verified session holds
(`chosen_membership`); the service answers NotFound unless that contact is a party of what is asked
for, so a link to someone else's lease shows "not found", never the lease.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import Csrf, PortalUser, ReadOnlyWhileViewingAs, Rpc
from portal_gateway.pages.portal import chosen_membership, organization_of
from portal_gateway.rendering import render
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.errors import Conflict, InvalidInput, NotFound
from shared.contracts.validation import parse

router = APIRouter(prefix="/portal", include_in_schema=False, dependencies=[ReadOnlyWhileViewingAs])

FormText = Annotated[str, Form(max_length=1024)]
# Longer than the contract allows, so that a description too long gets the form's own message.
LongFormText = Annotated[str, Form(max_length=20_000)]
# What `request_key()` puts in a form (portal_gateway/rendering.py).
_REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")
PAGE_SIZE = 20

CATEGORIES = {
    p.MaintenanceCategory.PLUMBING: "Plumbing",
    p.MaintenanceCategory.ELECTRICAL: "Electrical",
    p.MaintenanceCategory.HEATING: "Heating",
    p.MaintenanceCategory.APPLIANCES: "Appliances",
    p.MaintenanceCategory.STRUCTURAL: "Structural",
    p.MaintenanceCategory.PESTS: "Pests",
    p.MaintenanceCategory.OTHER: "Other",
}
PRIORITIES = {
    p.MaintenancePriority.LOW: ("Low", "It can wait for a convenient time."),
    p.MaintenancePriority.NORMAL: ("Normal", "It should be fixed soon."),
    p.MaintenancePriority.HIGH: ("High", "It makes the home hard to live in."),
    p.MaintenancePriority.URGENT: (
        "Urgent",
        "A danger to people or to the home, such as a flood or no heating.",
    ),
}
STATUSES = {
    p.MaintenanceStatus.SUBMITTED: "Submitted",
    p.MaintenanceStatus.ACKNOWLEDGED: "Acknowledged",
    p.MaintenanceStatus.SCHEDULED: "Scheduled",
    p.MaintenanceStatus.IN_PROGRESS: "In progress",
    p.MaintenanceStatus.COMPLETED: "Completed",
    p.MaintenanceStatus.CANCELLED: "Cancelled",
}
# What each field of the form needs, said to the person filling it in.
FIELD_PROBLEMS = {
    "lease_id": "Choose the home the problem is in.",
    "category": "Choose what kind of problem it is.",
    "priority": "Choose how urgent it is.",
    "description": f"Describe the problem, in at most {p.MAX_DESCRIPTION_LENGTH:,} characters.",
}
LABELS = {"categories": CATEGORIES, "priorities": PRIORITIES, "statuses": STATUSES}


def to_login() -> Response:
    return RedirectResponse("/login", status_code=303)


async def theirs(rpc: Any, membership: i.Membership, method: Any, query: Any) -> tuple[Any, Any]:
    """One of the person's own things (the service checks the membership's contact) and their
    organization, asked at once; None for the thing when the service answers NotFound."""
    answer: Any
    organization: Any
    answer, organization = await asyncio.gather(
        rpc.call(method, query), organization_of(rpc, membership.organization_id), return_exceptions=True
    )
    if isinstance(answer, NotFound):
        return None, None
    for result in (answer, organization):
        if isinstance(result, BaseException):
            raise result
    return answer, organization


def not_found(request: Request, message: str) -> Response:
    return render(request, "error.html", {"status": 404, "message": message}, status=404)


@router.get("/leases/{lease_id}")
async def lease_page(
    request: Request, lease_id: UUID, rpc: Rpc, user: PortalUser, m: UUID | None = None
) -> Response:
    """The lease's details and its statement: every charge and payment with the running balance,
    overdue charges marked."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    not_yours = "This lease is not one of yours, or it does not exist."
    if membership is None:
        return not_found(request, not_yours)
    query = p.GetPartyLeaseStatement(
        organization_id=membership.organization_id, contact_id=membership.contact_id, lease_id=lease_id
    )
    statement, organization = await theirs(rpc, membership, p.GET_PARTY_LEASE_STATEMENT, query)
    if statement is None:
        return not_found(request, not_yours)
    return render(
        request,
        "portal/lease.html",
        {
            "user": user,
            "membership": membership,
            "organization": organization,
            "statement": statement,
            "section": "home",
        },
    )


# --- maintenance requests ---------------------------------------------------------------------


def _grant(m: str) -> UUID | None:
    try:
        return UUID(m)
    except ValueError:
        return None


async def _current_leases(rpc: Any, membership: i.Membership) -> list[p.LeaseLink]:
    """The leases the person may report a problem on: their current ones."""
    links = await rpc.call(
        p.GET_CONTACT_LINKS,
        p.GetContactLinks(organization_id=membership.organization_id, contact_id=membership.contact_id),
    )
    return [lease for lease in links.leases if lease.active]


async def _request_form(
    request: Request,
    rpc: Any,
    user: i.PortalSession,
    membership: i.Membership,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    leases, organization = await asyncio.gather(
        _current_leases(rpc, membership), organization_of(rpc, membership.organization_id)
    )
    problems = problems or {}
    return render(
        request,
        "portal/maintenance_new.html",
        {
            "user": user,
            "membership": membership,
            "organization": organization,
            "leases": leases,
            "values": values,
            "problems": problems,
            "errors": (errors or []) + list(problems.values()),
            "section": "maintenance",
            "max_description": p.MAX_DESCRIPTION_LENGTH,
            **LABELS,
        },
        status=status,
    )


@router.get("/maintenance")
async def maintenance_requests_page(
    request: Request,
    rpc: Rpc,
    user: PortalUser,
    m: UUID | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The requests on every lease the person is a party of, newest first."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    if membership is None:
        return not_found(request, "You have no portal access right now.")
    requests, organization = await asyncio.gather(
        rpc.call(
            p.LIST_PARTY_MAINTENANCE_REQUESTS,
            p.ListPartyMaintenanceRequests(
                organization_id=membership.organization_id,
                contact_id=membership.contact_id,
                limit=PAGE_SIZE,
                offset=offset,
            ),
        ),
        organization_of(rpc, membership.organization_id),
    )
    return render(
        request,
        "portal/maintenance.html",
        {
            "user": user,
            "membership": membership,
            "organization": organization,
            "requests": requests,
            "section": "maintenance",
            **LABELS,
        },
    )


@router.get("/maintenance/new")
async def new_maintenance_request_page(
    request: Request, rpc: Rpc, user: PortalUser, m: UUID | None = None, lease: UUID | None = None
) -> Response:
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    if membership is None:
        return not_found(request, "You have no portal access right now.")
    values = {"lease_id": str(lease) if lease else "", "priority": p.MaintenancePriority.NORMAL.value}
    return await _request_form(request, rpc, user, membership, values)


@router.post("/maintenance", dependencies=[Csrf])
async def submit_maintenance_request(
    request: Request,
    rpc: Rpc,
    user: PortalUser,
    m: FormText = "",
    lease_id: FormText = "",
    category: FormText = "",
    priority: FormText = "",
    description: LongFormText = "",
    request_key: FormText = "",
) -> Response:
    """Report a problem. A bad field shows the form again with what to fix, keeping what was typed;
    nothing is made."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, _grant(m))
    if membership is None:
        return not_found(request, "You have no portal access right now.")
    # Browsers send a textarea's line breaks as CRLF; the limit is on what the person typed.
    description = description.replace("\r\n", "\n")
    values = {"lease_id": lease_id, "category": category, "priority": priority, "description": description}
    try:
        command = parse(
            p.CreateMaintenanceRequest,
            {
                "organization_id": membership.organization_id,
                "contact_id": membership.contact_id,
                "lease_id": lease_id,
                "category": category,
                "priority": priority or p.MaintenancePriority.NORMAL.value,
                "description": description,
                "idempotency_key": request_key if _REQUEST_KEY.match(request_key) else None,
            },
        )
        created = await rpc.call(p.CREATE_MAINTENANCE_REQUEST, command)
    except InvalidInput as exc:
        fields = {str(error.get("field", "")) for error in exc.details.get("errors", [])}
        problems = {field: FIELD_PROBLEMS[field] for field in FIELD_PROBLEMS if field in fields}
        errors = [] if problems else ["The form could not be read. Reload the page and try again."]
        return await _request_form(request, rpc, user, membership, values, problems, errors, status=422)
    except NotFound:
        problems = {"lease_id": "Choose one of your current homes."}
        return await _request_form(request, rpc, user, membership, values, problems, status=422)
    except Conflict as exc:
        return await _request_form(
            request, rpc, user, membership, values, {"lease_id": exc.message}, status=409
        )
    query = urlencode({"m": str(membership.grant_id), "notice": "submitted"})
    return RedirectResponse(f"/portal/maintenance/{created.id}?{query}", status_code=303)


@router.get("/maintenance/{request_id}")
async def maintenance_request_page(
    request: Request,
    request_id: UUID,
    rpc: Rpc,
    user: PortalUser,
    m: UUID | None = None,
    notice: str | None = None,
) -> Response:
    """One request: what was reported, its status, and its history, newest first."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    not_yours = "This maintenance request is not one of yours, or it does not exist."
    if membership is None:
        return not_found(request, not_yours)
    query = p.GetPartyMaintenanceRequest(
        organization_id=membership.organization_id, contact_id=membership.contact_id, request_id=request_id
    )
    found, organization = await theirs(rpc, membership, p.GET_PARTY_MAINTENANCE_REQUEST, query)
    if found is None:
        return not_found(request, not_yours)
    return render(
        request,
        "portal/maintenance_request.html",
        {
            "user": user,
            "membership": membership,
            "organization": organization,
            "item": found,
            "submitted": notice == "submitted",
            "section": "maintenance",
            **LABELS,
        },
    )
