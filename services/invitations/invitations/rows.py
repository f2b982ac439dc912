"""What the invitations use cases share: the rows every access change writes (state history,
audit), the contact's lock that serialises those changes, the reads of live invitations and
grants, and the invitation's view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import AccessAudit, AccessGrant, Invitation, InvitationHistory, PortalSession
from shared.contracts import invitations as i
from shared.contracts.common import InvitationState, normalize_email
from shared.contracts.errors import TokenNotUsable

S = InvitationState


def add_history(
    session: Session, invitation_id: UUID, state: InvitationState, at: datetime, detail: str | None
) -> None:
    session.add(InvitationHistory(invitation_id=invitation_id, state=state.value, at=at, detail=detail))


def add_audit(session: Session, org: UUID, contact: UUID, action: str, at: datetime, **who: Any) -> None:
    session.add(
        AccessAudit(
            organization_id=org,
            contact_id=contact,
            action=action,
            at=at,
            account_id=who.get("account_id"),
            staff_member_id=who.get("staff_member_id"),
            detail=who.get("detail"),
        )
    )


def lock_contact(session: Session, organization_id: UUID, contact_id: UUID) -> None:
    """Serialise every access change of one contact (send, resend, revoke) for this transaction."""
    lock_contacts(session, organization_id, [contact_id])


def lock_contacts(session: Session, organization_id: UUID, contact_ids: Iterable[UUID]) -> None:
    """`lock_contact` for many contacts in one statement, always in the same order, so that two
    transactions locking overlapping sets cannot wait on each other in a circle."""
    keys = sorted({_contact_lock_key(organization_id, contact_id) for contact_id in contact_ids})
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS text[])) AS key"
        ),
        {"keys": keys},
    )


def _contact_lock_key(organization_id: UUID, contact_id: UUID) -> str:
    return f"invitations:{organization_id}:{contact_id}"


def end_live_invitations(
    session: Session,
    organization_id: UUID,
    contact_id: UUID,
    state: InvitationState,
    now: datetime,
    detail: str,
    to_email: str | None = None,
) -> list[UUID]:
    """Move every live invitation of the contact (only those sent to `to_email`, when given) to
    `state` (its token dies with it); their ids."""
    query = update(Invitation).where(
        Invitation.organization_id == organization_id,
        Invitation.contact_id == contact_id,
        Invitation.state.in_([s.value for s in domain.LIVE_STATES]),
    )
    if to_email is not None:
        query = query.where(Invitation.email_normalized == normalize_email(to_email))
    ended = session.scalars(query.values(state=state.value).returning(Invitation.id)).all()
    for invitation_id in ended:
        add_history(session, invitation_id, state, now, detail)
    return list(ended)


def live_grant(session: Session, organization_id: UUID, contact_id: UUID) -> AccessGrant | None:
    return session.scalars(
        select(AccessGrant).where(
            AccessGrant.organization_id == organization_id,
            AccessGrant.contact_id == contact_id,
            AccessGrant.revoked_at.is_(None),
        )
    ).first()


def contacts_with_live_grant(session: Session, organization_id: UUID, contact_ids: list[UUID]) -> set[UUID]:
    """Of these contacts, those whose portal access is live."""
    return set(
        session.scalars(
            select(AccessGrant.contact_id).where(
                AccessGrant.organization_id == organization_id,
                AccessGrant.contact_id.in_(contact_ids),
                AccessGrant.revoked_at.is_(None),
            )
        )
    )


def invitation_views(session: Session, invitations: Iterable[Invitation]) -> list[i.InvitationView]:
    invitations = list(invitations)
    histories: dict[UUID, list[i.InvitationStateChange]] = defaultdict(list)
    if invitations:
        rows = session.scalars(
            select(InvitationHistory)
            .where(InvitationHistory.invitation_id.in_([inv.id for inv in invitations]))
            .order_by(InvitationHistory.id)
        )
        for row in rows:
            histories[row.invitation_id].append(
                i.InvitationStateChange(state=S(row.state), at=row.at, detail=row.detail)
            )
    return [
        i.InvitationView(
            id=inv.id,
            organization_id=inv.organization_id,
            contact_id=inv.contact_id,
            email=inv.email,
            state=S(inv.state),
            created_at=inv.created_at,
            expires_at=inv.expires_at,
            accepted_at=inv.consumed_at,
            sent_by_staff_member_id=inv.sent_by_staff_member_id,
            history=histories[inv.id],
        )
        for inv in invitations
    ]


def not_usable(status: i.LinkStatus) -> TokenNotUsable:
    """The error for a link (an invitation's or a password reset's) that cannot be used."""
    messages = {
        i.LinkStatus.EXPIRED: "This link has expired.",
        i.LinkStatus.SUPERSEDED: "A newer link was sent; this one no longer works.",
        i.LinkStatus.REVOKED: "This invitation was withdrawn.",
        i.LinkStatus.USED: "This link has already been used.",
        i.LinkStatus.UNKNOWN: "This link is not valid.",
    }
    return TokenNotUsable(messages[status], {"reason": status.value})


def end_sessions(session: Session, account_id: UUID, reason: str, now: datetime) -> int:
    """End every live session of the account; how many ended."""
    ended = session.scalars(
        update(PortalSession)
        .where(PortalSession.account_id == account_id, PortalSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(PortalSession.id_hash)
    ).all()
    return len(ended)
