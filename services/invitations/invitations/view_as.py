"""View As: staff see the portal as a contact sees it, read-only, for a while, audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from invitations.eligibility import facts_for
from invitations.models import ViewAsSession
from invitations.rows import add_audit
from invitations.settings import InvitationsSettings
from shared.contracts import invitations as i
from shared.contracts.common import ContactType
from shared.contracts.errors import InvalidCredentials, PermissionDenied
from shared.tokens import digest, new_secret


def start_view_as(
    session: Session, rpc: Any, settings: InvitationsSettings, cmd: i.StartViewAs, now: datetime
) -> i.ViewAsIssued:
    """A read-only session showing the portal as the contact sees it, for any active staff member of
    the contact's organization (every role reads contacts). No grant is needed: it is also a preview
    before the contact accepts. Audited with the staff member and the contact."""
    facts = facts_for(rpc, cmd.actor, cmd.contact_id)  # NotFound for another organization's contact
    staff = facts.staff_member
    if staff is None or not staff.active:
        raise PermissionDenied("You do not have permission to view this contact.")
    session_id = new_secret()
    row = ViewAsSession(
        id_hash=digest(session_id),
        staff_member_id=cmd.actor.staff_member_id,
        organization_id=cmd.actor.organization_id,
        contact_id=facts.contact.id,
        contact_type=facts.contact.type.value,
        contact_name=facts.contact.display_name,
        contact_email=facts.contact.email,
        created_at=now,
        expires_at=now + settings.view_as_lifetime,
    )
    session.add(row)
    add_audit(
        session,
        cmd.actor.organization_id,
        facts.contact.id,
        "view_as_started",
        now,
        staff_member_id=cmd.actor.staff_member_id,
        detail=f"as {facts.contact.display_name}, by {staff.name}, until {row.expires_at:%H:%M} UTC",
    )
    session.commit()
    return i.ViewAsIssued(session_id=session_id, contact_id=facts.contact.id, expires_at=row.expires_at)


def _live_view_as(session: Session, session_id: str, now: datetime) -> ViewAsSession | None:
    row = session.scalars(select(ViewAsSession).where(ViewAsSession.id_hash == digest(session_id))).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return row


def check_view_as(session: Session, session_id: str, now: datetime) -> i.PortalSession:
    """The portal as the View As session's contact: one membership, synthesised (its id is the View
    As session's), and `view_as` set so that the gateway refuses every write."""
    row = _live_view_as(session, session_id, now)
    if row is None:
        raise InvalidCredentials("This View As has ended.")
    return i.PortalSession(
        account_id=None,
        email=row.contact_email,
        expires_at=row.expires_at,
        memberships=[
            i.Membership(
                grant_id=row.id,
                organization_id=row.organization_id,
                contact_id=row.contact_id,
                contact_type=ContactType(row.contact_type),
                granted_at=row.created_at,
            )
        ],
        view_as=i.ViewingAs(
            staff_member_id=row.staff_member_id, contact_name=row.contact_name, expires_at=row.expires_at
        ),
    )


def end_view_as(session: Session, session_id: str, now: datetime) -> None:
    row = _live_view_as(session, session_id, now)
    if row is None:
        session.rollback()
        return
    row.ended_at = now
    add_audit(
        session,
        row.organization_id,
        row.contact_id,
        "view_as_ended",
        now,
        staff_member_id=row.staff_member_id,
    )
    session.commit()
