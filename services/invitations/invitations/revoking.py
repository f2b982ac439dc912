"""Revoking portal access: staff "Revoke access", and `withdraw_access`, the one path by which
access ends, whether staff revoke it or the relationship it rests on ends (`relationships`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from invitations.eligibility import facts_for
from invitations.models import AccessGrant, PortalAccount, outbox
from invitations.rows import add_audit, end_live_invitations, end_sessions, lock_contact
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import InvitationState, normalize_email
from shared.outbox import record_event

S = InvitationState


def revoke_access(session: Session, rpc: Any, cmd: i.RevokeAccess, now: datetime) -> i.RevokeResult:
    """Kill the contact's live invitations, its access and the sessions of the account that had it."""
    facts = facts_for(rpc, cmd.actor, cmd.contact_id)
    i.refuse_unless_may_manage_portal_access(facts.staff_member)
    org_id, contact_id, staff_id = cmd.actor.organization_id, cmd.contact_id, cmd.actor.staff_member_id
    lock_contact(session, org_id, contact_id)
    result = withdraw_access(session, org_id, contact_id, cmd.reason, now, staff_id=staff_id)
    add_audit(
        session,
        org_id,
        contact_id,
        "access_revoked",
        now,
        staff_member_id=staff_id,
        detail=f"{result.revoked_invitations} invitation(s), {result.revoked_grants} grant(s): {cmd.reason}",
    )
    session.commit()
    return result


def withdraw_access(
    session: Session,
    org_id: UUID,
    contact_id: UUID,
    reason: str,
    now: datetime,
    *,
    staff_id: UUID | None,
    email: str | None = None,
    keep_sessions_with_other_access: bool = False,
) -> i.RevokeResult:
    """End the contact's live invitations and live grant, with their events, and the sessions of
    the account that held the grant. With `email`, only invitations sent to that email and a grant
    held by that email's account. With `keep_sessions_with_other_access`, an account that still
    has another live grant keeps its sessions (they no longer show this membership). The caller
    holds the contact's lock, writes the audit and commits. Invitations go first: an acceptance
    racing this either finished before (its grant is then found here) or finds its token dead."""
    revoked = end_live_invitations(session, org_id, contact_id, S.REVOKED, now, reason, email)
    for invitation_id in revoked:
        record_event(
            session,
            outbox,
            e.InvitationRevoked(
                organization_id=org_id,
                invitation_id=invitation_id,
                contact_id=contact_id,
                revoked_by_staff_member_id=staff_id,
                reason=reason,
            ),
        )
    query = select(AccessGrant).where(
        AccessGrant.organization_id == org_id,
        AccessGrant.contact_id == contact_id,
        AccessGrant.revoked_at.is_(None),
    )
    if email is not None:
        query = query.join(PortalAccount, PortalAccount.id == AccessGrant.account_id).where(
            PortalAccount.email_normalized == normalize_email(email)
        )
    grants = session.scalars(query.with_for_update(of=AccessGrant)).all()
    ended_sessions = 0
    for grant in grants:
        ended_sessions += revoke_grant(session, grant, reason, now, keep_sessions_with_other_access)
    return i.RevokeResult(
        contact_id=contact_id,
        revoked_invitations=len(revoked),
        revoked_grants=len(grants),
        ended_sessions=ended_sessions,
    )


def revoke_grant(
    session: Session,
    grant: AccessGrant,
    reason: str,
    now: datetime,
    keep_sessions_with_other_access: bool = False,
) -> int:
    """End a grant and every session of its account (unless asked to keep them while the account
    has another live grant), with its event; return how many sessions ended."""
    grant.revoked_at = now
    grant.revoke_reason = reason
    record_event(
        session,
        outbox,
        e.AccessRevoked(
            organization_id=grant.organization_id,
            grant_id=grant.id,
            account_id=grant.account_id,
            contact_id=grant.contact_id,
            reason=reason,
        ),
    )
    if keep_sessions_with_other_access and _has_other_live_grant(session, grant):
        return 0
    return end_sessions(session, grant.account_id, "access revoked", now)


def _has_other_live_grant(session: Session, grant: AccessGrant) -> bool:
    other = session.scalar(
        select(AccessGrant.id)
        .where(
            AccessGrant.account_id == grant.account_id,
            AccessGrant.id != grant.id,
            AccessGrant.revoked_at.is_(None),
        )
        .limit(1)
    )
    return other is not None
