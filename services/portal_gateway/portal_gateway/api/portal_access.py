"""/api/v1: portal invitations and access of a contact (Relet's Send Portal Invitation, Rezi's
access toggle), and their delivery results."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from portal_gateway.deps import IdempotencyKeyHeader, Rpc, Staff, actor, require_portal_manager
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import notifications as n
from shared.contracts.common import InvitationState
from shared.contracts.invitations import Reason

router = APIRouter(tags=["portal access"])


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = "revoked by staff"


@router.get("/contacts/{contact_id}/portal-eligibility", response_model=i.Eligibility)
async def check_eligibility(contact_id: UUID, staff: Staff, rpc: Rpc) -> i.Eligibility:
    """Every reason the contact cannot be invited now; nothing is sent."""
    return await rpc.call(i.CHECK_ELIGIBILITY, i.CheckEligibility(actor=actor(staff), contact_id=contact_id))


@router.post(
    "/contacts/{contact_id}/portal-invitations",
    response_model=i.InvitationView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def send_invitation(
    contact_id: UUID, staff: Staff, rpc: Rpc, idempotency_key: IdempotencyKeyHeader = None
) -> i.InvitationView:
    """Send Portal Invitation. 403 without the portal-access permission; 409 `not_eligible` lists
    every reason; 429 with Retry-After inside the resend cooldown. Any older invitation of the
    contact is superseded. Sent again with the same `Idempotency-Key` (after a timeout, say), it
    answers the invitation the first request made and sends nothing."""
    return await rpc.call(
        i.SEND_INVITATION,
        i.SendInvitation(
            actor=require_portal_manager(staff), contact_id=contact_id, idempotency_key=idempotency_key
        ),
    )


@router.post(
    "/contacts/{contact_id}/portal-invitations/resend",
    response_model=i.InvitationView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def resend_invitation(
    contact_id: UUID, staff: Staff, rpc: Rpc, idempotency_key: IdempotencyKeyHeader = None
) -> i.InvitationView:
    """Resend: a new invitation (and link) superseding the live one; `Idempotency-Key` as above."""
    return await rpc.call(
        i.RESEND_INVITATION,
        i.SendInvitation(
            actor=require_portal_manager(staff), contact_id=contact_id, idempotency_key=idempotency_key
        ),
    )


@router.post(
    "/contacts/{contact_id}/portal-access/revoke",
    response_model=i.RevokeResult,
    responses=WRITE_ERROR_RESPONSES,
)
async def revoke_access(
    contact_id: UUID, staff: Staff, rpc: Rpc, body: Revocation | None = None
) -> i.RevokeResult:
    """Turn access off: live invitations, the access grant and the person's sessions end at once."""
    reason = (body or Revocation()).reason
    return await rpc.call(
        i.REVOKE_ACCESS,
        i.RevokeAccess(actor=require_portal_manager(staff), contact_id=contact_id, reason=reason),
    )


@router.get("/contacts/{contact_id}/portal-access", response_model=i.PortalAccessView)
async def portal_access(contact_id: UUID, staff: Staff, rpc: Rpc) -> i.PortalAccessView:
    """404 for a contact the organization does not have, like every other contact route."""
    org_id = staff.organization.id
    _, answer = await asyncio.gather(
        rpc.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=contact_id)),
        rpc.call(i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=org_id, contact_ids=[contact_id])),
    )
    return answer.items[0]


@router.get("/contacts/{contact_id}/invitations", response_model=i.InvitationPage)
async def contact_invitations(
    contact_id: UUID,
    staff: Staff,
    rpc: Rpc,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> i.InvitationPage:
    """The contact's invitations, newest first, each with its state history. Another
    organization's contact is 404, like every object that is not the caller's."""
    await rpc.call(c.GET_CONTACT, c.GetContact(organization_id=staff.organization.id, contact_id=contact_id))
    return await rpc.call(
        i.LIST_INVITATIONS,
        i.ListInvitations(
            organization_id=staff.organization.id, contact_id=contact_id, limit=limit, offset=offset
        ),
    )


@router.get("/contacts/{contact_id}/access-audit", response_model=i.AccessAuditPage)
async def contact_access_audit(
    contact_id: UUID,
    staff: Staff,
    rpc: Rpc,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> i.AccessAuditPage:
    """Every change to the contact's portal access (invitations sent, access granted, revoked)
    and every View As of it, newest first, with the staff member who did it."""
    await rpc.call(c.GET_CONTACT, c.GetContact(organization_id=staff.organization.id, contact_id=contact_id))
    return await rpc.call(
        i.LIST_ACCESS_AUDIT,
        i.ListAccessAudit(
            organization_id=staff.organization.id, contact_id=contact_id, limit=limit, offset=offset
        ),
    )


@router.get("/invitations", response_model=i.InvitationPage)
async def list_invitations(
    staff: Staff,
    rpc: Rpc,
    state: InvitationState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> i.InvitationPage:
    return await rpc.call(
        i.LIST_INVITATIONS,
        i.ListInvitations(organization_id=staff.organization.id, state=state, limit=limit, offset=offset),
    )


@router.get("/invitations/{invitation_id}/deliveries", response_model=n.DeliveryPage)
async def invitation_deliveries(invitation_id: UUID, staff: Staff, rpc: Rpc) -> n.DeliveryPage:
    """The emails of an invitation and what the mail server answered."""
    await rpc.call(
        i.GET_INVITATION, i.GetInvitation(organization_id=staff.organization.id, invitation_id=invitation_id)
    )
    return await rpc.call(
        n.LIST_DELIVERIES, n.ListDeliveries(organization_id=staff.organization.id, subject_id=invitation_id)
    )
