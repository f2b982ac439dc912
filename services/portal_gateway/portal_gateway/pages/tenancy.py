"""The tenant's pages of the portal: a lease with its statement, and maintenance requests (the list,
reporting a problem, one request with its history).

Each page asks the properties service as the contact of the membership the verified session holds
(`chosen_membership`); the service answers NotFound unless that contact is a party of what is asked
for, so a link to someone else's lease shows "not found", never the lease.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
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
# Where the Report a problem form posts (a multipart form, with its optional photo), for the body
# guard's larger limit.
MAINTENANCE_FORM_PATH = router.prefix + "/maintenance"

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
    "photo": "Choose a photo in JPEG or PNG format, within the size limit, or leave it out.",
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


DOCUMENT_KINDS = {
    p.DocumentKind.INVOICE: "Invoice",
    p.DocumentKind.QUOTE: "Quote",
    p.DocumentKind.RECEIPT: "Receipt",
    p.DocumentKind.OTHER: "Document",
}


async def party_documents(
    rpc: Any,
    membership: i.Membership,
    lease_id: UUID | None = None,
    property_id: UUID | None = None,
    client_group_id: UUID | None = None,
) -> list[p.DocumentView]:
    """The documents the membership's contact may see on one of their leases or properties, or in a
    customer's portfolio, as the properties service decides; none when it is not theirs (the page
    itself says so)."""
    query = p.ListPartyDocuments(
        organization_id=membership.organization_id,
        contact_id=membership.contact_id,
        lease_id=lease_id,
        property_id=property_id,
        client_group_id=client_group_id,
    )
    try:
        found = await rpc.call(p.LIST_PARTY_DOCUMENTS, query)
    except NotFound:
        return []
    return list(found.items)


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
    (statement, organization), documents = await asyncio.gather(
        theirs(rpc, membership, p.GET_PARTY_LEASE_STATEMENT, query),
        party_documents(rpc, membership, lease_id=lease_id),
    )
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
            "documents": documents,
            "document_kinds": DOCUMENT_KINDS,
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
            "max_photo_mib": _mib(request.app.state.settings.max_document_bytes),
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


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


async def _photo_upload(photo: UploadFile | None) -> dict[str, str] | None:
    """The photo as the contract carries it, or None when the person chose none (a browser sends
    an empty part without a file name)."""
    if photo is None:
        return None
    data = await photo.read()
    if not data and not photo.filename:
        return None
    return {
        "file_name": photo.filename or "photo",
        "content_type": (photo.content_type or "").split(";")[0].strip(),
        "content_base64": base64.b64encode(data).decode("ascii"),
    }


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
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Report a problem, with a photo if the person chose one (the form is multipart). A bad field
    shows the form again with what to fix, keeping what was typed (but the photo, which browsers
    never refill); nothing is made."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, _grant(m))
    if membership is None:
        return not_found(request, "You have no portal access right now.")
    # Browsers send a textarea's line breaks as CRLF; the limit is on what the person typed.
    description = description.replace("\r\n", "\n")
    values = {"lease_id": lease_id, "category": category, "priority": priority, "description": description}
    if any("\x00" in text for text in (m, lease_id, category, priority, description, request_key)):
        # The body guard reads NUL only in JSON and urlencoded bodies; PostgreSQL cannot store it.
        errors = ["The form could not be read. Reload the page and try again."]
        return await _request_form(request, rpc, user, membership, values, None, errors, status=422)
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
                "photo": await _photo_upload(photo),
            },
        )
        created = await rpc.call(p.CREATE_MAINTENANCE_REQUEST, command)
    except InvalidInput as exc:
        fields = {str(error.get("field", "")).split(".")[0] for error in exc.details.get("errors", [])}
        problems = {field: FIELD_PROBLEMS[field] for field in FIELD_PROBLEMS if field in fields}
        # The service says what is wrong with the photo itself (its type, its size): said as is.
        said = [e["message"] for e in exc.details.get("errors", []) if e.get("field") == "photo"]
        if said:
            problems["photo"] = said[0][0].upper() + said[0][1:] + ". Choose another photo, or none."
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
