"""The staff console's maintenance pages: the organization's requests (by status), and one request
with its history and a form to move it on. Every read names the staff member's organization; the
properties service answers NotFound for another organization's request (a 404 page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import ConsoleStaff, Csrf, Rpc, require_editor
from portal_gateway.pages.tenancy import CATEGORIES, PRIORITIES, STATUSES
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import StaffRole
from shared.contracts.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shared.contracts.validation import parse

router = APIRouter(prefix="/console", include_in_schema=False)

FormText = Annotated[str, Form(max_length=1024)]
# Longer than the contract allows, so that a note too long gets the form's own message.
LongFormText = Annotated[str, Form(max_length=20_000)]
PAGE_SIZE = 50
S = p.MaintenanceStatus
CLOSED = (S.COMPLETED, S.CANCELLED)
LABELS = {"categories": CATEGORIES, "priorities": PRIORITIES, "statuses": STATUSES}
NOTE_PROBLEM = f"Write the note in at most {p.MAX_NOTE_LENGTH:,} characters."


def offered_statuses(current: p.MaintenanceStatus) -> list[p.MaintenanceStatus]:
    """The statuses the form offers: later ones in the contract's order (which is the order a
    request moves through), or cancelled; none once completed or cancelled. The properties service
    judges every change again and its refusal is what the page shows."""
    if current in CLOSED:
        return []
    flow: list[p.MaintenanceStatus] = [status for status in S if status != S.CANCELLED]
    return [*flow[flow.index(current) + 1 :], S.CANCELLED]


def _to_login() -> Response:
    return RedirectResponse("/console/login", status_code=303)


@router.get("/maintenance")
async def maintenance_list_page(
    request: Request,
    rpc: Rpc,
    staff: ConsoleStaff,
    status: str = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The organization's requests, newest first; of one status with `?status=`."""
    if staff is None:
        return _to_login()
    chosen = S(status) if status in set(S) else None
    page = await rpc.call(
        p.LIST_MAINTENANCE_REQUESTS,
        p.ListMaintenanceRequests(
            organization_id=staff.organization.id, status=chosen, limit=PAGE_SIZE, offset=offset
        ),
    )
    return render(
        request,
        "console/maintenance.html",
        {
            "staff": staff,
            "section": "maintenance",
            "page": page,
            "chosen": chosen,
            "unknown_status": bool(status) and chosen is None,
            **LABELS,
        },
    )


async def _request_page(
    request: Request,
    rpc: Any,
    staff: c.StaffPrincipal,
    request_id: UUID,
    *,
    notice: str | None = None,
    problem: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    item = await rpc.call(
        p.GET_MAINTENANCE_REQUEST,
        p.GetMaintenanceRequest(organization_id=staff.organization.id, request_id=request_id),
    )
    try:
        submitter = await rpc.call(
            c.GET_CONTACT,
            c.GetContact(organization_id=staff.organization.id, contact_id=item.submitted_by_contact_id),
        )
    except NotFound:
        submitter = None
    may_change = staff.staff_member.role != StaffRole.VIEWER
    return render(
        request,
        "console/maintenance_request.html",
        {
            "staff": staff,
            "section": "maintenance",
            "item": item,
            "submitter": submitter,
            "offered": offered_statuses(item.status) if may_change else [],
            "may_change": may_change,
            "notice": notice,
            "problem": problem,
            "values": values or {},
            "max_note": p.MAX_NOTE_LENGTH,
            **LABELS,
        },
        status=status,
    )


@router.get("/maintenance/{request_id}")
async def maintenance_request_page(
    request: Request, request_id: UUID, rpc: Rpc, staff: ConsoleStaff, notice: str | None = None
) -> Response:
    """One request: what was reported, by whom, its history (newest first) and the status form."""
    if staff is None:
        return _to_login()
    text = {"changed": "The status is changed. The tenants with portal access get an email."}.get(
        notice or ""
    )
    return await _request_page(request, rpc, staff, request_id, notice=text)


@router.post("/maintenance/{request_id}/status", dependencies=[Csrf])
async def change_maintenance_status(
    request: Request,
    request_id: UUID,
    rpc: Rpc,
    staff: ConsoleStaff,
    status: FormText = "",
    note: LongFormText = "",
) -> Response:
    """Move the request on. A refusal (a viewer, a status it cannot move to, a note too long) shows
    the page again with the reason, keeping what was typed; nothing changes."""
    if staff is None:
        return _to_login()
    note = note.replace("\r\n", "\n")  # browsers send a textarea's line breaks as CRLF
    values = {"status": status, "note": note}
    try:
        command = parse(
            p.UpdateMaintenanceStatus,
            {
                "actor": require_editor(staff),
                "request_id": request_id,
                "status": status,
                "note": note.strip() or None,
            },
        )
        await rpc.call(p.UPDATE_MAINTENANCE_STATUS, command)
    except PermissionDenied as exc:
        return await _request_page(request, rpc, staff, request_id, problem=exc.message, status=403)
    except InvalidInput as exc:
        fields = {str(error.get("field", "")) for error in exc.details.get("errors", [])}
        problem = NOTE_PROBLEM if "note" in fields else "Choose the new status."
        return await _request_page(
            request, rpc, staff, request_id, problem=problem, values=values, status=422
        )
    except Conflict as exc:
        # The service's own reason: already in that status, cannot go back, closed.
        return await _request_page(
            request, rpc, staff, request_id, problem=exc.message, values=values, status=409
        )
    query = urlencode({"notice": "changed"})
    return RedirectResponse(f"/console/maintenance/{request_id}?{query}", status_code=303)
