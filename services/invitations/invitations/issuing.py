"""Issuing invitations: the one path that writes them (`issue_invitations`), taken by a single
invitation and by each batch of a bulk one alike, and the single invitation (send and resend)
on top of it.

The limits are checked here and nowhere else, under the contacts' locks: the staff member's
invitations per hour, an invitation to resend (for a resend) and the contact's resend cooldown.
A single invitation answers a refusal as its error; a bulk records it as the contact's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from invitations import domain
from invitations.eligibility import eligibility
from invitations.models import AccessAudit, Invitation, InvitationHistory, outbox
from invitations.rows import invitation_views, lock_contact, lock_contacts
from invitations.settings import InvitationsSettings
from shared import faults
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import InvitationState, StaffActor, normalize_email
from shared.contracts.contacts import ContactView, OrganizationView
from shared.contracts.errors import Conflict, NotEligible, NotFound, RateLimited, ServiceError
from shared.contracts.notifications import DeliveryPurpose
from shared.db import table
from shared.outbox import record_events
from shared.tokens import digest, new_secret

S = InvitationState

# --- the one issuing path ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Why a contact got no invitation: `code` is what a bulk records as the reason it skipped the
    contact, `error` what a single invitation answers."""

    code: str
    error: ServiceError


@dataclass(frozen=True)
class Issued:
    # contact id -> the id of its new invitation, in the order the contacts were given
    invitations: dict[UUID, UUID]
    refused: dict[UUID, Refused]


def issue_invitations(
    session: Session,
    settings: InvitationsSettings,
    organization: OrganizationView,
    contacts: list[ContactView],
    actor: StaffActor,
    now: datetime,
    *,
    resend: bool = False,
) -> Issued:
    """New invitations for eligible contacts, in a few statements whatever their number: each
    contact's live invitations superseded, a new one with its history, audit row and
    `invitation_sent` in the outbox. Under the contacts' locks, each contact is first held to the
    limits, in this order: the staff member's hourly limit (each invitation issued here spends
    one), an earlier invitation (for a resend), the contact's resend cooldown. The caller has
    checked eligibility; it commits.

    Every write is one statement for all the contacts, never executemany: psycopg sends that as a
    pipeline with a wait per row, and under eventlet each wait yields to every other green thread."""
    if not contacts:
        return Issued({}, {})
    org_id, staff_id = actor.organization_id, actor.staff_member_id
    lock_contacts(session, org_id, [contact.id for contact in contacts])
    sent, oldest = staff_sent_last_hour(session, staff_id, now)
    latest = _latest_invitation_at(session, org_id, [contact.id for contact in contacts])
    refused: dict[UUID, Refused] = {}
    issue: list[ContactView] = []
    for contact in contacts:
        refusal = _refusal(settings, sent + len(issue), oldest, latest.get(contact.id), now, resend)
        if refusal is None:
            issue.append(contact)
        else:
            refused[contact.id] = refusal
    ids = _write_invitations(session, settings, organization, issue, actor, now, resend)
    return Issued(dict(zip([contact.id for contact in issue], ids, strict=True)), refused)


def _refusal(
    settings: InvitationsSettings,
    sent: int,
    oldest: datetime | None,
    latest: datetime | None,
    now: datetime,
    resend: bool,
) -> Refused | None:
    if sent >= settings.invitations_per_staff_per_hour:
        # The hour's first invitation leaves the window first (issued now, when it is in this batch).
        first = oldest if oldest is not None else now
        retry_after = max(1, int((first + timedelta(hours=1) - now).total_seconds()) + 1)
        return Refused(
            "staff_hourly_limit",
            RateLimited(
                f"You have sent {sent} invitations in the last hour, the most allowed. Try again later.",
                {"retry_after": retry_after},
            ),
        )
    if resend and latest is None:
        return Refused(
            "nothing_to_resend", NotFound("This contact has no invitation to resend; send one first.")
        )
    wait = domain.cooldown_remaining(latest, now, settings.resend_cooldown)
    if wait is not None:
        return Refused(
            "cooldown",
            RateLimited(
                f"An invitation went to this contact moments ago. You can send another in {wait} s.",
                {"retry_after": wait},
            ),
        )
    return None


def staff_sent_last_hour(session: Session, staff_id: UUID, now: datetime) -> tuple[int, datetime | None]:
    """How many invitations the staff member sent in the last hour, and when the oldest of them."""
    sent, oldest = session.execute(
        select(func.count(), func.min(Invitation.created_at)).where(
            Invitation.sent_by_staff_member_id == staff_id, Invitation.created_at > now - timedelta(hours=1)
        )
    ).one()
    return sent, oldest


def _latest_invitation_at(session: Session, org_id: UUID, contact_ids: list[UUID]) -> dict[UUID, datetime]:
    """When each of these contacts was last sent an invitation (none: never)."""
    return {
        contact_id: at
        for contact_id, at in session.execute(
            select(Invitation.contact_id, func.max(Invitation.created_at))
            .where(Invitation.organization_id == org_id, Invitation.contact_id.in_(contact_ids))
            .group_by(Invitation.contact_id)
        )
    }


def _write_invitations(
    session: Session,
    settings: InvitationsSettings,
    organization: OrganizationView,
    contacts: list[ContactView],
    actor: StaffActor,
    now: datetime,
    resend: bool,
) -> list[UUID]:
    """The rows of `issue_invitations`; the new invitations' ids, in the order of `contacts`."""
    if not contacts:
        return []
    org_id, staff_id = actor.organization_id, actor.staff_member_id
    superseded = session.scalars(
        update(Invitation)
        .where(
            Invitation.organization_id == org_id,
            Invitation.contact_id.in_([contact.id for contact in contacts]),
            Invitation.state.in_([s.value for s in domain.LIVE_STATES]),
        )
        .values(state=S.SUPERSEDED.value)
        .returning(Invitation.id)
    ).all()
    history: list[dict[str, Any]] = [
        {
            "invitation_id": old,
            "state": S.SUPERSEDED.value,
            "at": now,
            "detail": "a newer invitation was sent",
        }
        for old in superseded
    ]
    invitations, audit, events = [], [], []
    ids: list[UUID] = []
    expires_at = now + settings.invitation_expiry
    for contact in contacts:
        token, invitation_id = new_secret(), uuid4()
        ids.append(invitation_id)
        invitations.append(
            {
                "id": invitation_id,
                "organization_id": org_id,
                "contact_id": contact.id,
                "contact_type": contact.type.value,
                "email": contact.email,
                "email_normalized": normalize_email(contact.email),
                "recipient_name": contact.display_name,
                "organization_name": organization.name,
                "locale": contact.locale,
                "token_hash": digest(token),
                "state": S.PENDING.value,
                "is_resend": resend,
                "sent_by_staff_member_id": staff_id,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        history.append(
            {
                "invitation_id": invitation_id,
                "state": S.PENDING.value,
                "at": now,
                "detail": "resent by staff" if resend else "sent by staff",
            }
        )
        audit.append(
            {
                "organization_id": org_id,
                "contact_id": contact.id,
                "action": "invitation_resent" if resend else "invitation_sent",
                "at": now,
                "account_id": None,
                "staff_member_id": staff_id,
                "detail": f"to {contact.email}",
            }
        )
        events.append(
            _invitation_sent(
                settings, organization, contact, staff_id, invitation_id, expires_at, token, resend
            )
        )
    # Multi-row INSERTs from one compiled statement each (`shared.db.batch_inserts`), on the
    # tables themselves: the ORM's bulk path costs more than the rows.
    session.execute(insert(table(Invitation)), invitations)
    session.execute(insert(table(InvitationHistory)), history)
    session.execute(insert(table(AccessAudit)), audit)
    record_events(session, outbox, events)
    return ids


def _invitation_sent(
    settings: InvitationsSettings,
    organization: OrganizationView,
    contact: ContactView,
    staff_id: UUID,
    invitation_id: UUID,
    expires_at: datetime,
    token: str,
    resend: bool,
) -> e.InvitationSent:
    return e.InvitationSent(
        organization_id=organization.id,
        invitation_id=invitation_id,
        contact_id=contact.id,
        contact_type=contact.type,
        email=contact.email,
        recipient_name=contact.display_name,
        organization_name=organization.name,
        locale=contact.locale,
        expires_at=expires_at,
        sent_by_staff_member_id=staff_id,
        is_resend=resend,
        # Bound to this email: the sender sends it to this address, for this invitation, or not at all.
        sealed_link=settings.link_sealer.seal(
            settings.link("invite", token),
            recipient=contact.email,
            purpose=DeliveryPurpose.INVITATION,
            subject=invitation_id,
            expires_at=expires_at,
        ),
    )


# --- a single invitation ----------------------------------------------------------------------


def send_invitation(
    session: Session,
    rpc: Any,
    settings: InvitationsSettings,
    cmd: i.SendInvitation,
    now: datetime,
    *,
    resend: bool,
) -> i.InvitationView:
    """Send (or resend) one contact an invitation: a bulk of one, with its refusal as the error."""
    if cmd.idempotency_key is not None:
        # Under the contact's lock, so the same request twice at once makes one invitation.
        lock_contact(session, cmd.actor.organization_id, cmd.contact_id)
        earlier = _invitation_by_key(session, cmd.actor, cmd.idempotency_key)
        if earlier is not None:
            if earlier.contact_id != cmd.contact_id:
                raise Conflict("This Idempotency-Key was already used for another contact.")
            return invitation_views(session, [earlier])[0]
    facts, problems = eligibility(session, rpc, cmd.actor, cmd.contact_id)
    if problems:
        raise NotEligible(
            "This contact cannot be invited yet.", {"reasons": [p.model_dump(mode="json") for p in problems]}
        )
    issued = issue_invitations(
        session, settings, facts.organization, [facts.contact], cmd.actor, now, resend=resend
    )
    if facts.contact.id in issued.refused:
        raise issued.refused[facts.contact.id].error
    invitation_id = issued.invitations[facts.contact.id]
    try:
        if cmd.idempotency_key is not None:
            session.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id)
                .values(idempotency_key=cmd.idempotency_key)
            )
        session.commit()
    except IntegrityError:
        # The same key, at the same moment, for another contact (whose lock this one did not hold).
        session.rollback()
        raise Conflict("This Idempotency-Key was already used for another contact.") from None
    faults.crash_point(faults.INVITATION_COMMITTED)
    invitation = session.get(Invitation, invitation_id)
    assert invitation is not None
    return invitation_views(session, [invitation])[0]


def _invitation_by_key(session: Session, actor: StaffActor, key: str) -> Invitation | None:
    return session.scalars(
        select(Invitation).where(
            Invitation.organization_id == actor.organization_id,
            Invitation.sent_by_staff_member_id == actor.staff_member_id,
            Invitation.idempotency_key == key,
        )
    ).first()
