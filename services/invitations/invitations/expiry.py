"""Expiry: the sweep that ends invitations whose time is up, each with its event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import Invitation, outbox
from invitations.rows import add_history
from shared.contracts import events as e
from shared.contracts.common import InvitationState
from shared.outbox import record_event

S = InvitationState


def expire_invitations(session: Session, now: datetime) -> int:
    expired = session.execute(
        update(Invitation)
        .where(Invitation.state.in_([s.value for s in domain.LIVE_STATES]), Invitation.expires_at <= now)
        .values(state=S.EXPIRED.value)
        .returning(Invitation.id, Invitation.organization_id, Invitation.contact_id)
    ).all()
    for invitation_id, org_id, contact_id in expired:
        add_history(session, invitation_id, S.EXPIRED, now, None)
        record_event(
            session,
            outbox,
            e.InvitationExpired(organization_id=org_id, invitation_id=invitation_id, contact_id=contact_id),
        )
    session.commit()
    return len(expired)
