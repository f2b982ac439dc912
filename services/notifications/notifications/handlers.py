"""Use cases of the notifications service (the nameko side): queue an email for an event, and
answer staff questions about deliveries.

Each event handler commits once: its inbox row, the delivery and the outbox event together. The
email itself is rendered and sent later by `notifications.sender`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from notifications import domain
from notifications.models import Delivery, Suppression, inbox, outbox
from notifications.settings import NotificationsSettings
from shared import faults
from shared.contracts import contacts as c
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts import notifications as n
from shared.contracts.common import normalize_email, utc_now
from shared.db import table
from shared.outbox import first_time_seen, first_time_seen_many, record_events
from shared.sealing import LinkSealer

log = logging.getLogger(__name__)

# --- queueing ---------------------------------------------------------------------------------


def queue_invitations(
    session: Session, sealer: LinkSealer, events: list[e.InvitationSent], handler: str
) -> None:
    """One delivery for each invitation email, queued (or suppressed, or refused), with its
    event: a batch of events in one transaction with their inbox rows."""
    fresh = first_time_seen_many(session, inbox, events, handler)
    now = utc_now()
    added = _add_deliveries(
        session,
        [
            _link_delivery(
                sealer,
                event,
                n.DeliveryPurpose.INVITATION,
                event.invitation_id,
                event.organization_id,
                _link_email_context(event, event.organization_name, event.is_resend),
                now,
            )
            for event in fresh
        ],
    )
    session.commit()
    if added:
        faults.crash_point(faults.DELIVERY_QUEUED_COMMITTED)


def queue_password_reset(
    session: Session, sealer: LinkSealer, event: e.PasswordResetRequested, handler: str
) -> None:
    """One delivery for the reset email (queued, or refused), with its inbox row and event."""
    if not first_time_seen(session, inbox, event.event_id, handler):
        session.rollback()
        return
    added = _add_deliveries(
        session,
        [
            _link_delivery(
                sealer,
                event,
                n.DeliveryPurpose.PASSWORD_RESET,
                event.account_id,
                None,
                _link_email_context(event, organization_name=None, is_resend=False),
                utc_now(),
            )
        ],
    )
    session.commit()
    if added:
        faults.crash_point(faults.DELIVERY_QUEUED_COMMITTED)


def _link_delivery(
    sealer: LinkSealer,
    event: e.InvitationSent | e.PasswordResetRequested,
    purpose: n.DeliveryPurpose,
    subject_id: UUID,
    organization_id: UUID | None,
    context: dict[str, Any],
    now: datetime,
) -> NewDelivery:
    """The delivery of an email with a sealed link, refused at once when the seal does not name
    this email's recipient, purpose and subject, or has expired: an event republished with another
    address becomes a failed delivery that says why, and never reaches the sender. The refused
    delivery keeps no sealed link. The sender checks again when it sends (the link may expire
    meanwhile)."""
    refusal = None
    try:
        domain.open_link(
            sealer, event.sealed_link, purpose=purpose, subject_id=subject_id, recipient=event.email, now=now
        )
    except domain.LinkRefused as refused:
        refusal = str(refused)
        context = {key: value for key, value in context.items() if key != "sealed_link"}
        # The event and the reason only: no address, no link.
        log.warning("%s %s: its email is not sent, %s", event.event_type, event.event_id, refusal)
    return NewDelivery(
        idempotency_key=domain.idempotency_key(event.event_id, purpose),
        purpose=purpose,
        subject_id=subject_id,
        organization_id=organization_id,
        recipient=event.email,
        locale=event.locale,
        context=context,
        refusal=refusal,
    )


def _link_email_context(
    event: e.InvitationSent | e.PasswordResetRequested, organization_name: str | None, is_resend: bool
) -> dict[str, Any]:
    """What an email carrying a sealed link shows: whom it greets, from whom, and how long the link
    lasts. The link stays sealed until the sender renders the email."""
    return {
        "recipient_name": event.recipient_name,
        "organization_name": organization_name,
        "expires_at": event.expires_at.isoformat(),
        "valid_minutes": max(0, round((event.expires_at - event.occurred_at).total_seconds() / 60)),
        "is_resend": is_resend,
        "sealed_link": event.sealed_link,
    }


@dataclass(frozen=True)
class NewDelivery:
    idempotency_key: str
    purpose: str
    subject_id: UUID
    organization_id: UUID | None
    recipient: str
    locale: str
    context: dict[str, Any] = field(repr=False)  # may hold a sealed link: kept out of reprs
    # Why its sealed link may not go out (`domain.link_refusal`): then it is failed from the start.
    refusal: str | None = None


def _add_deliveries(session: Session, new: list[NewDelivery]) -> int:
    """Insert deliveries, queued (or suppressed, or refused), each with its outbox event, in one
    statement a table; a delivery whose key exists already (the same email under another handler
    name) is skipped. Returns how many were added. The caller commits."""
    if not new:
        return 0
    addresses = {normalize_email(item.recipient) for item in new}
    suppressed = set(session.scalars(select(Suppression.address).where(Suppression.address.in_(addresses))))
    now = utc_now()
    by_key = {item.idempotency_key: item for item in new}
    held = {
        key
        for key, item in by_key.items()
        if item.refusal is None and normalize_email(item.recipient) in suppressed
    }
    # Not sent either: the first sentence of each is what staff see.
    ended = {key: domain.SUPPRESSED_REASON for key in held} | {
        key: item.refusal for key, item in by_key.items() if item.refusal is not None
    }
    rows = session.execute(
        pg_insert(table(Delivery))
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Delivery.id, Delivery.idempotency_key),
        [
            {
                "id": uuid4(),
                "idempotency_key": key,
                "purpose": item.purpose,
                "subject_id": item.subject_id,
                "organization_id": item.organization_id,
                "recipient": item.recipient,
                "locale": item.locale,
                "context": item.context,
                "status": domain.initial_status(key in held, refused=item.refusal is not None).value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "failed_at": now if key in ended else None,
                "last_error": ended.get(key),
            }
            for key, item in by_key.items()
        ],
    ).all()
    facts: list[e.Event] = []
    for delivery_id, key in rows:
        item = by_key[key]
        if key in ended:
            facts.append(
                e.DeliveryFailed(
                    organization_id=item.organization_id,
                    delivery_id=delivery_id,
                    purpose=item.purpose,
                    subject_id=item.subject_id,
                    smtp_code=None,
                    reason=ended[key],
                    link_refused=item.refusal is not None,
                )
            )
        else:
            facts.append(
                e.DeliveryQueued(
                    organization_id=item.organization_id,
                    delivery_id=delivery_id,
                    purpose=item.purpose,
                    subject_id=item.subject_id,
                )
            )
    if facts:
        record_events(session, outbox, facts)
    return len(facts)


# --- maintenance updates ----------------------------------------------------------------------


def tell_tenants_of_maintenance_update(
    session: Session,
    rpc: Any,
    settings: NotificationsSettings,
    event: e.MaintenanceRequestUpdated,
    handler: str,
) -> None:
    """A maintenance request changed status: one email to each party of its lease with portal
    access. The submission itself is not emailed.

    Who they are is asked before the transaction opens (no connection is held while another
    service answers); a failed or timed-out call raises, and the event comes back through the
    retry and dead-letter queues."""
    if not domain.tells_tenants(event.previous_status):
        return
    recipients = find_maintenance_recipients(rpc, event)
    queue_maintenance_update(
        session, event, recipients, settings.portal_url(f"/portal/maintenance/{event.request_id}"), handler
    )


def find_maintenance_recipients(rpc: Any, event: e.MaintenanceRequestUpdated) -> MaintenanceRecipients:
    """The lease's parties with portal access, with their emails and locales, and the
    organization's name: one call to contacts, one to invitations."""
    party_ids = list(dict.fromkeys(event.tenant_contact_ids))
    if not party_ids:
        return MaintenanceRecipients(organization_name="", recipients=[])
    facts = rpc.call(
        c.GET_ELIGIBILITY_FACTS_MANY,
        c.GetEligibilityFactsMany(
            organization_id=event.organization_id,
            contact_ids=party_ids,
            # The facts of the contacts are what is wanted; the staff member part goes unused.
            staff_member_id=event.changed_by_staff_member_id or UUID(int=0),
        ),
    )
    access = rpc.call(
        i.GET_PORTAL_ACCESS, i.GetPortalAccess(organization_id=event.organization_id, contact_ids=party_ids)
    )
    contacts = {
        contact.id: domain.Recipient(
            contact_id=contact.id, email=contact.email, name=contact.display_name, locale=contact.locale
        )
        for contact in facts.contacts
        if contact.archived_at is None
    }
    with_access = {item.contact_id for item in access.items if item.status == i.PortalStatus.ACTIVE}
    return MaintenanceRecipients(
        organization_name=facts.organization.name,
        recipients=domain.maintenance_recipients(party_ids, contacts, with_access),
    )


@dataclass(frozen=True)
class MaintenanceRecipients:
    organization_name: str
    recipients: list[domain.Recipient]


def queue_maintenance_update(
    session: Session,
    event: e.MaintenanceRequestUpdated,
    found: MaintenanceRecipients,
    link: str,
    handler: str,
) -> None:
    """One delivery per recipient, keyed (event, purpose, recipient), all in one transaction with
    the inbox row. `link` is the request's portal page: not a secret, stored as it is."""
    if not first_time_seen(session, inbox, event.event_id, handler):
        session.rollback()
        return
    _add_deliveries(
        session,
        [
            NewDelivery(
                idempotency_key=domain.idempotency_key(
                    event.event_id, n.DeliveryPurpose.MAINTENANCE_UPDATE, recipient.contact_id
                ),
                purpose=n.DeliveryPurpose.MAINTENANCE_UPDATE,
                subject_id=event.request_id,
                organization_id=event.organization_id,
                recipient=recipient.email,
                locale=recipient.locale,
                context={
                    "recipient_name": recipient.name,
                    "organization_name": found.organization_name,
                    "unit_name": event.unit_name,
                    "property_name": event.property_name,
                    "category": event.category,
                    "previous_status": event.previous_status,
                    "status": event.status,
                    "note": event.note,
                    "link": link,
                },
            )
            for recipient in found.recipients
        ],
    )
    session.commit()


# --- staff questions --------------------------------------------------------------------------


def list_deliveries(session: Session, q: n.ListDeliveries) -> n.DeliveryPage:
    query = select(Delivery).where(Delivery.organization_id == q.organization_id)
    if q.subject_id is not None:
        query = query.where(Delivery.subject_id == q.subject_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Delivery.created_at.desc(), Delivery.id).limit(q.limit).offset(q.offset)
    ).all()
    return n.DeliveryPage(items=[_view(row) for row in rows], total=total, limit=q.limit, offset=q.offset)


def _view(row: Delivery) -> n.DeliveryView:
    return n.DeliveryView(
        id=row.id,
        organization_id=row.organization_id,
        purpose=row.purpose,
        subject_id=row.subject_id,
        recipient=row.recipient,
        status=n.DeliveryStatus(row.status),
        attempts=row.attempts,
        last_smtp_code=row.last_smtp_code,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )
