"""What staff and the console read: invitations, a contact's portal status, its access audit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import AccessAudit, Invitation
from invitations.rows import contacts_with_live_grant, invitation_views
from shared.contracts import invitations as i
from shared.contracts.errors import NotFound


def list_invitations(session: Session, q: i.ListInvitations) -> i.InvitationPage:
    query = select(Invitation).where(Invitation.organization_id == q.organization_id)
    if q.contact_id is not None:
        query = query.where(Invitation.contact_id == q.contact_id)
    if q.state is not None:
        query = query.where(Invitation.state == q.state.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Invitation.created_at.desc(), Invitation.id).limit(q.limit).offset(q.offset)
    ).all()
    return i.InvitationPage(
        items=invitation_views(session, rows), total=total, limit=q.limit, offset=q.offset
    )


def get_invitation(session: Session, q: i.GetInvitation) -> i.InvitationView:
    invitation = session.get(Invitation, q.invitation_id)
    if invitation is None or invitation.organization_id != q.organization_id:
        raise NotFound("no such invitation")
    return invitation_views(session, [invitation])[0]


def list_access_audit(session: Session, q: i.ListAccessAudit) -> i.AccessAuditPage:
    """The contact's access audit, newest first."""
    query = select(AccessAudit).where(
        AccessAudit.organization_id == q.organization_id, AccessAudit.contact_id == q.contact_id
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AccessAudit.at.desc(), AccessAudit.id.desc()).limit(q.limit).offset(q.offset)
    ).all()
    return i.AccessAuditPage(
        items=[
            i.AccessAuditEntry(
                action=row.action,
                at=row.at,
                staff_member_id=row.staff_member_id,
                account_id=row.account_id,
                detail=row.detail,
            )
            for row in rows
        ],
        total=total,
        limit=q.limit,
        offset=q.offset,
    )


def get_portal_access(session: Session, q: i.GetPortalAccess) -> i.PortalAccessList:
    """Each contact's portal status (`domain.portal_status`) with its latest invitation."""
    latest = session.scalars(
        select(Invitation)
        .where(Invitation.organization_id == q.organization_id, Invitation.contact_id.in_(q.contact_ids))
        .order_by(Invitation.contact_id, Invitation.created_at.desc())
        .ext(distinct_on(Invitation.contact_id))
    ).all()
    live = contacts_with_live_grant(session, q.organization_id, q.contact_ids)
    views = {view.contact_id: view for view in invitation_views(session, latest)}
    return i.PortalAccessList(
        items=[
            i.PortalAccessView(
                contact_id=contact_id,
                status=domain.portal_status(
                    views[contact_id].state if contact_id in views else None, contact_id in live
                ),
                latest_invitation=views.get(contact_id),
            )
            for contact_id in q.contact_ids
        ]
    )
