"""Delivery facts from notifications: an invitation's email queued, accepted by the mail
server, or not delivered, moves the invitation to sent, delivered or bounced
(`domain.DELIVERY_TRANSITIONS`).

An email whose sealed link the notifications service refused (`link_refused`: it named another
recipient, or had expired) moves nothing, since it is not the email that was sent, but staff see
it in the access audit of the contact it was about (issue 12)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import String, Uuid, insert, select, update
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import AccessAudit, AccessGrant, Invitation, InvitationHistory, inbox
from shared.contracts import events as e
from shared.contracts.common import InvitationState
from shared.contracts.notifications import DeliveryPurpose
from shared.db import table, unnest
from shared.outbox import first_time_seen_many

S = InvitationState


def apply_delivery_facts(
    session: Session,
    events: Sequence[e.DeliveryQueued | e.DeliverySucceeded | e.DeliveryFailed],
    fact: str,
    handler: str,
) -> None:
    """Move invitations to sent, delivered or bounced, once per event, for a batch of events in
    one transaction. Only an invitation's email moves one: the results of other emails (a
    password reset, a maintenance update, whose `subject_id` is an account or a maintenance
    request) are recorded as seen and change nothing."""
    moving: dict[UUID, list[e.DeliveryQueued | e.DeliverySucceeded | e.DeliveryFailed]] = defaultdict(list)
    refused: list[e.DeliveryFailed] = []
    for event in first_time_seen_many(session, inbox, events, handler):
        if isinstance(event, e.DeliveryFailed) and event.link_refused:
            refused.append(event)
        elif event.purpose == DeliveryPurpose.INVITATION:
            moving[event.subject_id].append(event)
    if refused:
        audit_refused_links(session, refused)
    if moving:
        # Locked in id order, so two batches touching the same invitations never deadlock.
        current = session.execute(
            select(Invitation.id, Invitation.state)
            .where(Invitation.id.in_(moving))
            .order_by(Invitation.id)
            .with_for_update()
        ).all()
        states: dict[UUID, str] = {}
        history = []
        for invitation_id, state in current:
            for event in moving[invitation_id]:
                new_state = domain.next_state_after_delivery(S(state), fact)
                if new_state is None:
                    continue
                state = states[invitation_id] = new_state.value
                history.append(
                    {
                        "invitation_id": invitation_id,
                        "state": new_state.value,
                        "at": event.occurred_at,
                        "detail": _delivery_detail(event),
                    }
                )
        if states:
            moved = unnest("moved", id=(Uuid(), list(states)), state=(String(), list(states.values())))
            session.execute(
                update(Invitation).where(Invitation.id == moved.c.id).values(state=moved.c.state),
                execution_options={"synchronize_session": False},
            )
            session.execute(insert(table(InvitationHistory)), history)
    session.commit()


REFUSED_EMAILS = {
    DeliveryPurpose.INVITATION: "An invitation email",
    DeliveryPurpose.PASSWORD_RESET: "A password reset email",
}


def audit_refused_links(session: Session, refused: Sequence[e.DeliveryFailed]) -> None:
    """One audit row for each refused email, on the contact it was about: the invitation's
    contact, or each live membership of the account a reset was for. The row names the reason,
    never the address the email was meant for."""
    by_purpose: dict[str, set[UUID]] = defaultdict(set)
    for event in refused:
        by_purpose[event.purpose].add(event.subject_id)
    about: dict[UUID, list[tuple[UUID, UUID]]] = defaultdict(list)  # subject -> (organization, contact)
    if by_purpose[DeliveryPurpose.INVITATION]:
        for subject, org, contact in session.execute(
            select(Invitation.id, Invitation.organization_id, Invitation.contact_id).where(
                Invitation.id.in_(by_purpose[DeliveryPurpose.INVITATION])
            )
        ):
            about[subject].append((org, contact))
    if by_purpose[DeliveryPurpose.PASSWORD_RESET]:
        for subject, org, contact in session.execute(
            select(AccessGrant.account_id, AccessGrant.organization_id, AccessGrant.contact_id).where(
                AccessGrant.account_id.in_(by_purpose[DeliveryPurpose.PASSWORD_RESET]),
                AccessGrant.revoked_at.is_(None),
            )
        ):
            about[subject].append((org, contact))
    rows = [
        {
            "organization_id": org,
            "contact_id": contact,
            "account_id": None,
            "staff_member_id": None,
            "action": "email_refused",
            "detail": f"{REFUSED_EMAILS[DeliveryPurpose(event.purpose)]} was not sent ({event.reason})",
            "at": event.occurred_at,
        }
        for event in refused
        if event.purpose in REFUSED_EMAILS
        for org, contact in about.get(event.subject_id, [])
    ]
    if rows:
        session.execute(insert(table(AccessAudit)), rows)


def _delivery_detail(event: e.DeliveryQueued | e.DeliverySucceeded | e.DeliveryFailed) -> str | None:
    if isinstance(event, e.DeliverySucceeded):
        return f"accepted by the mail server: {event.smtp_reply}"
    if isinstance(event, e.DeliveryFailed):
        code = f"{event.smtp_code} " if event.smtp_code else ""
        return f"not delivered: {code}{event.reason}"
    return "queued for sending"
