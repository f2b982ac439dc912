"""The console's bulk invitation: every contact of a type (and search) invited at once, each
exactly like Send Portal Invitation, with a page that shows the progress until it is done."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.api.bulk import BulkRequest, matching_contacts
from portal_gateway.deps import ConsoleStaff, Csrf, Rpc, actor
from portal_gateway.pages.console import TYPES
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts.common import ContactType
from shared.contracts.errors import InvalidInput, PermissionDenied

router = APIRouter(prefix="/console", include_in_schema=False)

REFRESH_SECONDS = 2
Search = Annotated[str | None, Query(max_length=200)]


def _to_login() -> Response:
    return RedirectResponse("/console/login", status_code=303)


def _filter(type: ContactType, q: str | None) -> BulkRequest:
    return BulkRequest(type=type, q=(q or "").strip() or None)


@router.get("/bulk")
async def bulk_page(
    request: Request, rpc: Rpc, staff: ConsoleStaff, type: ContactType = ContactType.TENANT, q: Search = None
) -> Response:
    """Step one: how many contacts the filter matches, before anything is sent."""
    if staff is None:
        return _to_login()
    wanted = _filter(type, q)
    page = await rpc.call(
        c.LIST_CONTACTS,
        c.ListContacts(organization_id=staff.organization.id, type=type, search=wanted.q, limit=1),
    )
    return render(
        request,
        "console/bulk.html",
        {
            "staff": staff,
            "section": "contacts",
            "type": type.value,
            "type_label": dict(TYPES)[type.value],
            "q": wanted.q,
            "matching": page.total,
            "problem": None,
        },
    )


@router.post("/bulk", dependencies=[Csrf])
async def start_bulk(
    request: Request,
    rpc: Rpc,
    staff: ConsoleStaff,
    type: Annotated[ContactType, Form()],
    q: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if staff is None:
        return _to_login()
    wanted = _filter(type, q)
    try:
        ids = await matching_contacts(rpc, staff.organization.id, wanted)
        if not ids:
            raise InvalidInput("No contact matches.")
        job = await rpc.call(
            i.START_BULK_INVITATION, i.StartBulkInvitation(actor=actor(staff), contact_ids=ids)
        )
    except (InvalidInput, PermissionDenied) as exc:
        return render(
            request,
            "console/bulk.html",
            {
                "staff": staff,
                "section": "contacts",
                "type": type.value,
                "type_label": dict(TYPES)[type.value],
                "q": wanted.q,
                "matching": None,
                "problem": exc.message,
            },
            status=403 if isinstance(exc, PermissionDenied) else 422,
        )
    return RedirectResponse(f"/console/bulk/{job.id}", status_code=303)


@router.get("/bulk/{job_id}")
async def bulk_progress(request: Request, job_id: UUID, rpc: Rpc, staff: ConsoleStaff) -> Response:
    """How far it has got; the page refreshes itself until every contact has been checked.
    Another organization's job is 404."""
    if staff is None:
        return _to_login()
    job = await rpc.call(
        i.GET_BULK_INVITATION, i.GetBulkInvitation(organization_id=staff.organization.id, job_id=job_id)
    )
    done = job.finished_at is not None
    return render(
        request,
        "console/bulk_progress.html",
        {
            "staff": staff,
            "section": "contacts",
            "job": job,
            "done": done,
            "percent": 100 if not job.total else round(100 * job.processed / job.total),
            "refresh_seconds": None if done else REFRESH_SECONDS,
            "back": f"/console/contacts?{urlencode({'type': 'tenant'})}",
        },
    )
