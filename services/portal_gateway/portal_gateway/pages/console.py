"""The staff console: sign in, contacts by type with their portal status, and the row actions
Send Portal Invitation, Resend, Revoke access and View As (Relet's Contacts > Tenants > Actions)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import (
    STAFF_SESSION_COOKIE,
    VIEW_AS_COOKIE,
    Client,
    ConsoleStaff,
    Csrf,
    Rpc,
    Settings,
    actor,
    session_cookie,
)
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts.common import ContactType, utc_now
from shared.contracts.errors import (
    InvalidCredentials,
    InvalidInput,
    NotEligible,
    PermissionDenied,
    RateLimited,
)
from shared.contracts.validation import parse

# What `request_key()` puts in a console form (portal_gateway/rendering.py).
_REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")

router = APIRouter(prefix="/console", include_in_schema=False)

TYPES = [
    (ContactType.TENANT.value, "Tenants"),
    (ContactType.LANDLORD.value, "Landlords"),
    (ContactType.VENDOR.value, "Vendors"),
    (ContactType.APPLICANT.value, "Applicants"),
    (ContactType.CUSTOMER.value, "Customers"),
]
ACTIONS = {"send": "Send Portal Invitation", "resend": "Resend Invitation", "revoke": "Revoke access"}
FormText = Annotated[str, Form(max_length=1024)]


def actions_for(status: i.PortalStatus) -> list[tuple[str, str]]:
    """The row actions that make sense for a portal status: with access off, send an invitation;
    on, revoke it, and resend while it is only an invitation."""
    if not status.access_on:
        names = ["send"]
    elif status == i.PortalStatus.ACTIVE:
        names = ["revoke"]
    else:
        names = ["resend", "revoke"]
    return [(name, ACTIONS[name]) for name in names]


def _to_login() -> Response:
    return RedirectResponse("/console/login", status_code=303)


@router.get("")
async def console_root() -> Response:
    return RedirectResponse("/console/contacts", status_code=303)


@router.get("/login")
async def login_page(request: Request, staff: ConsoleStaff) -> Response:
    if staff is not None:
        return RedirectResponse("/console/contacts", status_code=303)
    return render(request, "console/login.html", {"errors": [], "staff": None})


@router.post("/login", dependencies=[Csrf])
async def login(
    request: Request,
    rpc: Rpc,
    settings: Settings,
    client: Client,
    email: FormText = "",
    password: FormText = "",
) -> Response:
    try:
        command = parse(c.StaffLogin, {"email": email, "password": password, "client": client})
        issued = await rpc.call(c.STAFF_LOGIN, command)
    except (InvalidCredentials, InvalidInput, RateLimited) as exc:
        message = "Enter your email and password." if isinstance(exc, InvalidInput) else exc.message
        if isinstance(exc, RateLimited):
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        else:
            status, headers = 401, None
        return render(
            request,
            "console/login.html",
            {"errors": [message], "email": email[:254], "staff": None},
            status,
            headers,
        )
    response = RedirectResponse("/console/contacts?type=tenant", status_code=303)
    session_cookie(response, STAFF_SESSION_COOKIE, issued.session_id, settings, max_age=12 * 3600)
    return response


@router.post("/logout", dependencies=[Csrf])
async def logout(request: Request, rpc: Rpc) -> Response:
    session_id = request.cookies.get(STAFF_SESSION_COOKIE, "")
    if session_id:
        try:
            await rpc.call(c.END_STAFF_SESSION, parse(c.EndStaffSession, {"session_id": session_id}))
        except InvalidInput:
            pass  # a malformed cookie: nothing to end
    response = _to_login()
    response.delete_cookie(STAFF_SESSION_COOKIE, path="/")
    return response


@router.get("/contacts")
async def contacts_page(
    request: Request,
    rpc: Rpc,
    staff: ConsoleStaff,
    type: ContactType = ContactType.TENANT,
    q: Annotated[str | None, Query(max_length=200)] = None,
    notice: str | None = None,
    problem: str | None = None,
    contact: UUID | None = None,
    retry_after: int | None = None,
) -> Response:
    if staff is None:
        return _to_login()
    org_id = staff.organization.id
    page = await rpc.call(
        c.LIST_CONTACTS,
        c.ListContacts(organization_id=org_id, type=type, search=(q or "").strip() or None, limit=100),
    )
    access: dict[UUID, Any] = {}
    if page.items:
        answer = await rpc.call(
            i.GET_PORTAL_ACCESS,
            i.GetPortalAccess(organization_id=org_id, contact_ids=[x.id for x in page.items]),
        )
        access = {item.contact_id: item for item in answer.items}
    subject = None
    if contact is not None:
        subject = next((x for x in page.items if x.id == contact), None) or await rpc.call(
            c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=contact)
        )
    notice_text = None
    if subject is not None and notice in ("sent", "resent", "revoked", "view_as_ended"):
        notice_text = {
            "view_as_ended": f"You are no longer viewing the portal as {subject.display_name}.",
            "sent": f"Portal invitation sent to {subject.display_name} ({subject.email}).",
            "resent": f"A new invitation was sent to {subject.display_name}; the older link no longer works.",
            "revoked": f"Portal access of {subject.display_name} is revoked; their sessions have ended.",
        }[notice]
    problem_box = None
    if subject is not None and problem == "not_eligible":
        eligibility = await rpc.call(
            i.CHECK_ELIGIBILITY, i.CheckEligibility(actor=actor(staff), contact_id=subject.id)
        )
        problem_box = {
            "title": f"{subject.display_name} cannot be invited yet",
            "reasons": eligibility.reasons,
        }
    elif subject is not None and problem == "rate_limited":
        problem_box = {
            "title": "Not sent",
            "text": f"An invitation went out moments ago. Try again in {retry_after or 60} s.",
        }
    elif problem == "not_permitted":
        problem_box = {"title": "Not allowed", "text": "You do not have permission to manage portal access."}
    return render(
        request,
        "console/contacts.html",
        {
            "staff": staff,
            "types": TYPES,
            "current_type": type.value,
            "current_label": dict(TYPES)[type.value],
            "q": q,
            "page": page,
            "access_by_contact": access,
            "portal_status": i.PortalStatus,
            "actions_for": actions_for,
            "notice": notice_text,
            "problem": problem_box,
        },
    )


@router.post("/contacts/{contact_id}/portal-access", dependencies=[Csrf])
async def portal_access_action(
    contact_id: UUID,
    rpc: Rpc,
    staff: ConsoleStaff,
    action: FormText,
    type: FormText = "tenant",
    request_key: FormText = "",
) -> Response:
    if staff is None:
        return _to_login()
    if action not in ACTIONS or type not in dict(TYPES):
        return RedirectResponse("/console/contacts", status_code=303)
    back = {"type": type, "contact": str(contact_id)}
    try:
        if action == "revoke":
            await rpc.call(i.REVOKE_ACCESS, i.RevokeAccess(actor=actor(staff), contact_id=contact_id))
            back["notice"] = "revoked"
        else:
            method = i.SEND_INVITATION if action == "send" else i.RESEND_INVITATION
            key = request_key if _REQUEST_KEY.match(request_key) else None
            await rpc.call(
                method, i.SendInvitation(actor=actor(staff), contact_id=contact_id, idempotency_key=key)
            )
            back["notice"] = "sent" if action == "send" else "resent"
    except NotEligible:
        back["problem"] = "not_eligible"
    except RateLimited as exc:
        back.update(problem="rate_limited", retry_after=str(exc.retry_after))
    except PermissionDenied:
        back["problem"] = "not_permitted"
    return RedirectResponse(f"/console/contacts?{urlencode(back)}", status_code=303)


# --- View As ----------------------------------------------------------------------------------

_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,200}$")


@router.post("/contacts/{contact_id}/view-as", dependencies=[Csrf])
async def view_as(
    request: Request, contact_id: UUID, rpc: Rpc, staff: ConsoleStaff, settings: Settings
) -> Response:
    """Open the portal as the contact sees it, read-only, for a while (audited by the invitations
    service). Another organization's contact is NotFound (404). The staff member's own portal
    session, if any, stays as it was: View As has a cookie of its own."""
    if staff is None:
        return _to_login()
    issued = await rpc.call(i.START_VIEW_AS, i.StartViewAs(actor=actor(staff), contact_id=contact_id))
    earlier = request.cookies.get(VIEW_AS_COOKIE, "")
    if _SECRET.match(earlier):  # the View As this one replaces ends now, not when it expires
        await rpc.call(i.END_VIEW_AS, i.SessionRef(session_id=earlier))
    response = RedirectResponse("/portal", status_code=303)
    max_age = max(1, int((issued.expires_at - utc_now()).total_seconds()))
    session_cookie(response, VIEW_AS_COOKIE, issued.session_id, settings, max_age)
    return response


@router.post("/view-as/end", dependencies=[Csrf])
async def end_view_as(request: Request, rpc: Rpc) -> Response:
    """End View As and return to the contact in the console."""
    session_id = request.cookies.get(VIEW_AS_COOKIE, "")
    back = "/console/contacts"
    if _SECRET.match(session_id):
        ref = i.SessionRef(session_id=session_id)
        try:
            viewing = await rpc.call(i.CHECK_VIEW_AS, ref)
        except InvalidCredentials:
            viewing = None  # over already: only the cookie is left to delete
        if viewing is not None:
            await rpc.call(i.END_VIEW_AS, ref)
            [membership] = viewing.memberships
            query = {
                "type": membership.contact_type.value,
                "contact": str(membership.contact_id),
                "notice": "view_as_ended",
            }
            back = f"/console/contacts?{urlencode(query)}"
    response = RedirectResponse(back, status_code=303)
    response.delete_cookie(VIEW_AS_COOKIE, path="/")
    return response
