"""Use cases of the notifications service (the nameko side): queue an email for an event, and
answer staff questions about deliveries.

Each event handler commits once: its inbox row, the delivery and the outbox event together. The
email itself is rendered and sent later by `notifications.sender`.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from shared.contracts.common import utc_now
from shared.outbox import first_time_seen, record_event
from shared.tokens import normalize_email

# --- queueing ---------------------------------------------------------------------------------


def queue_invitation(session: Session, event: e.InvitationSent, handler: str) -> None:
    _queue(
        session,
        event,
        handler,
        purpose=domain.INVITATION,
        subject_id=event.invitation_id,
        organization_id=event.organization_id,
        recipient=event.email,
        locale=event.locale,
        context={
            "recipient_name": event.recipient_name,
            "organization_name": event.organization_name,
            "expires_at": event.expires_at.isoformat(),
            "valid_minutes": _minutes_between(event.occurred_at, event.expires_at),
            "is_resend": event.is_resend,
            "sealed_link": event.sealed_link,
        },
    )


def queue_password_reset(session: Session, event: e.PasswordResetRequested, handler: str) -> None:
    _queue(
        session,
        event,
        handler,
        purpose=domain.PASSWORD_RESET,
        subject_id=event.account_id,
        organization_id=None,
        recipient=event.email,
        locale=event.locale,
        context={
            "recipient_name": event.recipient_name,
            "organization_name": None,
            "expires_at": event.expires_at.isoformat(),
            "valid_minutes": _minutes_between(event.occurred_at, event.expires_at),
            "is_resend": False,
            "sealed_link": event.sealed_link,
        },
    )


def _minutes_between(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds() / 60))


def _queue(
    session: Session,
    event: e.InvitationSent | e.PasswordResetRequested,
    handler: str,
    *,
    purpose: str,
    subject_id: UUID,
    organization_id: UUID | None,
    recipient: str,
    locale: str,
    context: dict[str, Any],
) -> None:
    """One delivery for this event and purpose, queued (or suppressed), with its event."""
    if not first_time_seen(session, inbox, event.event_id, handler):
        session.rollback()
        return
    added = _add_delivery(
        session,
        idempotency_key=domain.idempotency_key(event.event_id, purpose),
        purpose=purpose,
        subject_id=subject_id,
        organization_id=organization_id,
        recipient=recipient,
        locale=locale,
        context=context,
    )
    session.commit()
    if added:
        faults.crash_point(faults.DELIVERY_QUEUED_COMMITTED)


def _add_delivery(
    session: Session,
    *,
    idempotency_key: str,
    purpose: str,
    subject_id: UUID,
    organization_id: UUID | None,
    recipient: str,
    locale: str,
    context: dict[str, Any],
) -> bool:
    """Insert one delivery, queued (or suppressed), with its outbox event; nothing (False) if a
    delivery with this key exists (the same email under another handler name: already queued).
    The caller commits."""
    suppressed = session.get(Suppression, normalize_email(recipient)) is not None
    status = domain.initial_status(suppressed)
    now = utc_now()
    delivery_id = session.scalar(
        pg_insert(Delivery)
        .values(
            id=uuid4(),
            idempotency_key=idempotency_key,
            purpose=purpose,
            subject_id=subject_id,
            organization_id=organization_id,
            recipient=recipient,
            locale=locale,
            context=context,
            status=status.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            failed_at=now if suppressed else None,
            last_error=domain.SUPPRESSED_REASON if suppressed else None,
        )
        .on_conflict_do_nothing(index_elements=[Delivery.idempotency_key])
        .returning(Delivery.id)
    )
    if delivery_id is None:
        return False
    fact: e.Event
    if suppressed:
        fact = e.DeliveryFailed(
            organization_id=organization_id,
            delivery_id=delivery_id,
            purpose=purpose,
            subject_id=subject_id,
            smtp_code=None,
            reason=domain.SUPPRESSED_REASON,
        )
    else:
        fact = e.DeliveryQueued(
            organization_id=organization_id, delivery_id=delivery_id, purpose=purpose, subject_id=subject_id
        )
    record_event(session, outbox, fact)
    return True


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
    for recipient in found.recipients:
        _add_delivery(
            session,
            idempotency_key=domain.idempotency_key(
                event.event_id, domain.MAINTENANCE_UPDATE, recipient.contact_id
            ),
            purpose=domain.MAINTENANCE_UPDATE,
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
