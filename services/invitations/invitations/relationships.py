"""Access follows the relationship: portal access that rests on a lease or on a property link ends
when that link ends, and access tied to an email ends when the contact's email changes.

Each use case handles its event once (the inbox row is written in the transaction of its effect)
and acts on what is true when it runs, not on what the event says: properties is asked whether the
contact still has a valid link, under the contact's lock, so access that rests on another lease or
link stays, and a late, repeated or out-of-order event changes nothing twice. Access is withdrawn
through the same path as staff "Revoke access" (`revoking.withdraw_access`), with no staff member.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import AccessGrant, Invitation, inbox
from invitations.revoking import withdraw_access
from invitations.rows import add_audit, lock_contact, lock_contacts
from shared.contracts import events as e
from shared.contracts.common import ContactType, normalize_email
from shared.contracts.invitations import RevokeResult
from shared.contracts.properties import GET_CONTACT_LINKS_MANY, GetContactLinksMany
from shared.outbox import first_time_seen


def on_lease_ended(session: Session, rpc: Any, event: e.LeaseEnded, handler: str, now: datetime) -> None:
    reason = f"the lease ended on {event.end_date.isoformat()}"
    follow_links(
        session, rpc, event.event_id, handler, event.organization_id, event.tenant_contact_ids, reason, now
    )


def on_property_contact_unlinked(
    session: Session, rpc: Any, event: e.PropertyContactUnlinked, handler: str, now: datetime
) -> None:
    reason = f"the {event.role} link to a property was removed"
    follow_links(
        session, rpc, event.event_id, handler, event.organization_id, [event.contact_id], reason, now
    )


def follow_links(
    session: Session,
    rpc: Any,
    event_id: UUID,
    handler: str,
    organization_id: UUID,
    contact_ids: Iterable[UUID],
    reason: str,
    now: datetime,
) -> None:
    """End the access (live grant and live invitations) of each contact whose access no longer
    rests on a valid link. Only contacts that have some access are asked about."""
    if not first_time_seen(session, inbox, event_id, handler):
        session.rollback()
        return
    ids = sorted(set(contact_ids))
    # Held through the question to properties, so an invitation sent meanwhile is judged after this.
    lock_contacts(session, organization_id, ids)
    with_access = _types_of_contacts_with_access(session, organization_id, ids)
    if with_access:
        links = rpc.call(
            GET_CONTACT_LINKS_MANY,
            GetContactLinksMany(organization_id=organization_id, contact_ids=sorted(with_access)),
        )
        for item in links.items:
            if domain.relationship_problem(with_access[item.contact_id], item) is None:
                continue
            result = withdraw_access(
                session,
                organization_id,
                item.contact_id,
                reason,
                now,
                staff_id=None,
                keep_sessions_with_other_access=True,
            )
            _audit_withdrawal(session, organization_id, item.contact_id, result, reason, now)
    session.commit()


def _types_of_contacts_with_access(
    session: Session, organization_id: UUID, contact_ids: list[UUID]
) -> dict[UUID, ContactType]:
    """Of these contacts, those with a live grant or a live invitation, with their type."""
    grants = select(AccessGrant.contact_id, AccessGrant.contact_type).where(
        AccessGrant.organization_id == organization_id,
        AccessGrant.contact_id.in_(contact_ids),
        AccessGrant.revoked_at.is_(None),
    )
    invitations = select(Invitation.contact_id, Invitation.contact_type).where(
        Invitation.organization_id == organization_id,
        Invitation.contact_id.in_(contact_ids),
        Invitation.state.in_([s.value for s in domain.LIVE_STATES]),
    )
    return {
        contact_id: ContactType(contact_type)
        for contact_id, contact_type in session.execute(union(grants, invitations))
    }


def on_contact_email_changed(
    session: Session, event: e.ContactEmailChanged, handler: str, now: datetime
) -> None:
    """The invitations still live to the old email are revoked, and the grant held by the old
    email's account ends: whoever reads that mailbox may no longer be the contact. An invitation
    sent to the new email, or a grant of the new email's account, is not touched, whatever order
    the events come in."""
    if not first_time_seen(session, inbox, event.event_id, handler):
        session.rollback()
        return
    if normalize_email(event.old_email) != normalize_email(event.new_email):
        org_id, contact_id = event.organization_id, event.contact_id
        lock_contact(session, org_id, contact_id)
        reason = "the contact's email address changed"
        result = withdraw_access(
            session,
            org_id,
            contact_id,
            reason,
            now,
            staff_id=None,
            email=event.old_email,
            keep_sessions_with_other_access=True,
        )
        detail = f"{reason} from {event.old_email} to {event.new_email}"
        _audit_withdrawal(session, org_id, contact_id, result, detail, now)
    session.commit()


def _audit_withdrawal(
    session: Session, org_id: UUID, contact_id: UUID, result: RevokeResult, reason: str, now: datetime
) -> None:
    """One audit row when something was withdrawn, none when nothing was live."""
    if result.revoked_invitations or result.revoked_grants:
        add_audit(
            session,
            org_id,
            contact_id,
            "access_revoked",
            now,
            detail=f"{result.revoked_invitations} invitation(s), {result.revoked_grants} grant(s): {reason}",
        )
