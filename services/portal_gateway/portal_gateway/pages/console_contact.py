"""The staff console's contact page (Rezi's contact with its Portal Access toggle), the Send
Portal Invitation confirmation that shows the eligibility reasons before anything is sent, and
the Visibility pages: who sees viewing feedback, per contact type and per contact."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import ConsoleStaff, Csrf, Rpc, actor, require_editor
from portal_gateway.pages.console import TYPES
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import notifications as n
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import NotEligible, PermissionDenied, RateLimited

router = APIRouter(prefix="/console", include_in_schema=False)

_REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")
FormText = Annotated[str, Form(max_length=1024)]
FEEDBACK = p.VisibilitySubject.VIEWING_FEEDBACK
# The contact types viewing feedback means something to (Rezi's client portal).
FEEDBACK_AUDIENCE = (ContactType.LANDLORD, ContactType.VENDOR, ContactType.APPLICANT)
INVITATIONS_SHOWN = 10
NOTICES = {
    "access_on": "Portal access is on: an invitation is on its way to {email}.",
    "access_already_on": "Portal access was already on.",
    "access_off": "Portal access is off: the invitation no longer works and their sessions have ended.",
    "visibility": "Saved. {name} sees this from their next page load.",
}
PROBLEMS = {
    "not_eligible": "Portal access was not turned on: see why below.",
    "rate_limited": "An invitation went out moments ago. Try again in a minute.",
    "not_permitted": "You do not have permission to manage portal access.",
    "read_only": "Your role can read but not change anything.",
}
AUDIT_LABELS = {
    "invitation_sent": "Invitation sent",
    "invitation_resent": "Invitation resent",
    "access_granted": "Account created, access granted",
    "access_revoked": "Access revoked",
    "view_as_started": "View As started",
    "view_as_ended": "View As ended",
}
VISIBILITY_CHOICES = {"show": True, "hide": False, "default": None}


def _to_login() -> Response:
    return RedirectResponse("/console/login", status_code=303)


def _back(contact_id: UUID, anchor: str = "", **query: str) -> Response:
    target = f"/console/contacts/{contact_id}"
    if query:
        target += f"?{urlencode(query)}"
    return RedirectResponse(target + (f"#{anchor}" if anchor else ""), status_code=303)


@router.get("/contacts/{contact_id}")
async def contact_page(
    request: Request,
    contact_id: UUID,
    rpc: Rpc,
    staff: ConsoleStaff,
    notice: str | None = None,
    problem: str | None = None,
) -> Response:
    """The contact, its portal access (the toggle), why it can or cannot be invited, its
    invitations with their state history and what the mail server answered, the audit of every
    access change, and who sees viewing feedback. Another organization's contact is 404."""
    if staff is None:
        return _to_login()
    org_id = staff.organization.id
    contact = await rpc.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=contact_id))
    shows_feedback = contact.type in FEEDBACK_AUDIENCE
    access, eligibility, invitations, audit, staff_members, feedback = await asyncio.gather(
        rpc.call(i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org_id, contact_ids=[contact_id])),
        rpc.call(i.CHECK_ELIGIBILITY, i.CheckEligibility(actor=actor(staff), contact_id=contact_id)),
        rpc.call(
            i.LIST_INVITATIONS,
            i.ListInvitations(organization_id=org_id, contact_id=contact_id, limit=INVITATIONS_SHOWN),
        ),
        rpc.call(i.LIST_ACCESS_AUDIT, i.ListAccessAudit(organization_id=org_id, contact_id=contact_id)),
        rpc.call(c.LIST_STAFF_MEMBERS, c.ListStaffMembers(organization_id=org_id)),
        _explain_feedback(rpc, org_id, contact_id) if shows_feedback else _nothing(),
    )
    deliveries = await asyncio.gather(
        *(
            rpc.call(n.LIST_DELIVERIES, n.ListDeliveries(organization_id=org_id, subject_id=inv.id))
            for inv in invitations.items
        )
    )
    status = access.items[0].status
    return render(
        request,
        "console/contact.html",
        {
            "staff": staff,
            "section": "contacts",
            "contact": contact,
            "type_label": dict(TYPES)[contact.type.value],
            "status": status,
            "status_label": status.label,
            "access_on": status.access_on,
            "eligibility": eligibility,
            "invitations": [
                (inv, page.items) for inv, page in zip(invitations.items, deliveries, strict=True)
            ],
            "invitations_total": invitations.total,
            "audit": audit,
            "audit_labels": AUDIT_LABELS,
            "staff_names": {member.id: member.name for member in staff_members.items},
            "feedback": feedback,
            "notice": NOTICES[notice].format(email=contact.email, name=contact.display_name)
            if notice in NOTICES
            else None,
            "problem": PROBLEMS.get(problem or ""),
        },
    )


async def _explain_feedback(rpc: Any, org_id: UUID, contact_id: UUID) -> dict[str, Any]:
    """The contact's own chain, and for each property they are linked to, the chain there (with
    the property's setting for their type)."""
    links = await rpc.call(
        p.GET_CONTACT_LINKS, p.GetContactLinks(organization_id=org_id, contact_id=contact_id)
    )
    overall, *per_property = await asyncio.gather(
        *(
            rpc.call(
                p.EXPLAIN_VISIBILITY,
                p.ExplainVisibility(
                    organization_id=org_id, contact_id=contact_id, subject=FEEDBACK, property_id=property_id
                ),
            )
            for property_id in [None, *(link.property_id for link in links.properties)]
        )
    )
    return {"overall": overall, "properties": list(zip(links.properties, per_property, strict=True))}


async def _nothing() -> None:
    return None


@router.post("/contacts/{contact_id}/portal-access/toggle", dependencies=[Csrf])
async def toggle_portal_access(
    contact_id: UUID, rpc: Rpc, staff: ConsoleStaff, enable: FormText, request_key: FormText = ""
) -> Response:
    """Rezi's Enable Access: on sends an invitation (unless access is already on), off revokes
    everything at once. The service checks eligibility and the staff member's permission."""
    if staff is None:
        return _to_login()
    if enable not in ("on", "off"):
        return _back(contact_id)
    org_id = staff.organization.id
    try:
        if enable == "off":
            await rpc.call(i.REVOKE_ACCESS, i.RevokeAccess(actor=actor(staff), contact_id=contact_id))
            return _back(contact_id, notice="access_off")
        access = await rpc.call(
            i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org_id, contact_ids=[contact_id])
        )
        if access.items[0].status.access_on:
            return _back(contact_id, notice="access_already_on")
        key = request_key if _REQUEST_KEY.match(request_key) else None
        await rpc.call(
            i.SEND_INVITATION,
            i.SendInvitation(actor=actor(staff), contact_id=contact_id, idempotency_key=key),
        )
        return _back(contact_id, notice="access_on")
    except NotEligible:
        return _back(contact_id, "eligibility", problem="not_eligible")
    except RateLimited:
        return _back(contact_id, problem="rate_limited")
    except PermissionDenied:
        return _back(contact_id, problem="not_permitted")


@router.get("/contacts/{contact_id}/invite")
async def invite_page(request: Request, contact_id: UUID, rpc: Rpc, staff: ConsoleStaff) -> Response:
    """Send Portal Invitation, step one: whom it goes to and, before anything is sent, every
    reason it cannot be (nothing to send then)."""
    if staff is None:
        return _to_login()
    org_id = staff.organization.id
    contact = await rpc.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=contact_id))
    eligibility = await rpc.call(
        i.CHECK_ELIGIBILITY, i.CheckEligibility(actor=actor(staff), contact_id=contact_id)
    )
    return render(
        request,
        "console/invite.html",
        {"staff": staff, "section": "contacts", "contact": contact, "eligibility": eligibility},
    )


@router.post("/contacts/{contact_id}/visibility", dependencies=[Csrf])
async def set_contact_visibility(
    contact_id: UUID, rpc: Rpc, staff: ConsoleStaff, visible: FormText
) -> Response:
    """This contact's own viewing-feedback setting: show, hide, or back to their type's."""
    if staff is None:
        return _to_login()
    if visible not in VISIBILITY_CHOICES:
        return _back(contact_id, "visibility")
    try:
        await rpc.call(
            p.SET_VISIBILITY,
            p.SetVisibility(
                actor=require_editor(staff),
                subject=FEEDBACK,
                contact_id=contact_id,
                visible=VISIBILITY_CHOICES[visible],
            ),
        )
    except PermissionDenied:
        return _back(contact_id, "visibility", problem="read_only")
    return _back(contact_id, "visibility", notice="visibility")


@router.post("/properties/{property_id}/visibility", dependencies=[Csrf])
async def set_property_visibility(
    property_id: UUID,
    rpc: Rpc,
    staff: ConsoleStaff,
    contact_type: FormText,
    visible: FormText,
    back_to: Annotated[UUID, Form()],
) -> Response:
    """Every contact of a type on one property: show, hide, or as the organization says. Back to
    the contact page it was set from."""
    if staff is None:
        return _to_login()
    if contact_type not in {t.value for t in FEEDBACK_AUDIENCE} or visible not in VISIBILITY_CHOICES:
        return _back(back_to, "visibility")
    try:
        await rpc.call(
            p.SET_VISIBILITY,
            p.SetVisibility(
                actor=require_editor(staff),
                subject=FEEDBACK,
                contact_type=ContactType(contact_type),
                property_id=property_id,
                visible=VISIBILITY_CHOICES[visible],
            ),
        )
    except PermissionDenied:
        return _back(back_to, "visibility", problem="read_only")
    return _back(back_to, "visibility", notice="visibility")


@router.get("/visibility")
async def visibility_page(
    request: Request, rpc: Rpc, staff: ConsoleStaff, saved: str | None = None, problem: str | None = None
) -> Response:
    """Who sees viewing feedback, per contact type, in this organization."""
    if staff is None:
        return _to_login()
    by_type = await rpc.call(
        p.LIST_VISIBILITY_SETTINGS,
        p.ListVisibilitySettings(organization_id=staff.organization.id, subject=FEEDBACK),
    )
    labels = dict(TYPES)
    return render(
        request,
        "console/visibility.html",
        {
            "staff": staff,
            "section": "visibility",
            "rows": [
                (row, labels[row.contact_type.value])
                for row in by_type.items
                if row.contact_type in FEEDBACK_AUDIENCE
            ],
            "saved": labels.get(saved or ""),
            "problem": PROBLEMS.get(problem or ""),
        },
    )


@router.post("/visibility", dependencies=[Csrf])
async def set_type_visibility(
    rpc: Rpc, staff: ConsoleStaff, contact_type: FormText, visible: FormText
) -> Response:
    if staff is None:
        return _to_login()
    if contact_type not in {t.value for t in FEEDBACK_AUDIENCE} or visible not in VISIBILITY_CHOICES:
        return RedirectResponse("/console/visibility", status_code=303)
    try:
        await rpc.call(
            p.SET_VISIBILITY,
            p.SetVisibility(
                actor=require_editor(staff),
                subject=FEEDBACK,
                contact_type=ContactType(contact_type),
                visible=VISIBILITY_CHOICES[visible],
            ),
        )
    except PermissionDenied:
        return RedirectResponse("/console/visibility?problem=read_only", status_code=303)
    return RedirectResponse(f"/console/visibility?{urlencode({'saved': contact_type})}", status_code=303)
