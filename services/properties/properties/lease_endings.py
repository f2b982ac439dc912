"""Announcing that a lease has ended (`lease_ended`), once per lease and end date.

A lease is active through its end date (`rules.leases.lease_is_active`), so it has ended once that day
has passed: at once when staff end it on a day already past (`end_lease`), otherwise the day after
its end date, when the timer finds it (`announce_ended_leases`). The event's id is derived from the
lease and its end date, and whoever records it holds the lease's row lock and looks in the outbox
first, so it is recorded once whichever comes first; a consumer that sees it again sees the same id.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid5

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from properties.models import Lease, outbox
from properties.rules.leases import lease_has_ended
from shared.contracts.events import LeaseEnded
from shared.outbox import record_event

# Fixed for ever: it makes the ids of `lease_ended` events.
LEASE_ENDED_NAMESPACE = UUID("5b0f6f3e-3f7c-4d8e-9a51-1c9e2b7d4a60")


def lease_ended_event_id(lease_id: UUID, end_date: date) -> UUID:
    return uuid5(LEASE_ENDED_NAMESPACE, f"{lease_id}:{end_date.isoformat()}")


def _lease_ended(lease: Lease, event_id: UUID) -> LeaseEnded:
    assert lease.end_date is not None
    return LeaseEnded(
        event_id=event_id,
        organization_id=lease.organization_id,
        lease_id=lease.id,
        property_id=lease.unit.property_id,
        unit_id=lease.unit_id,
        tenant_contact_ids=[party.contact_id for party in lease.parties],
        end_date=lease.end_date,
    )


def _announced(session: Session, event_ids: list[UUID]) -> set[UUID]:
    if not event_ids:
        return set()
    return set(session.scalars(select(outbox.c.event_id).where(outbox.c.event_id.in_(event_ids))))


def announce_if_ended(session: Session, lease: Lease, today: date) -> bool:
    """Record `lease_ended` for a lease whose end date has passed, unless that end date was
    announced already. The caller holds the lease's row lock (with its unit and parties loaded)
    and commits. True if it recorded the event."""
    if lease.end_date is None or not lease_has_ended(lease.end_date, today):
        return False
    event_id = lease_ended_event_id(lease.id, lease.end_date)
    if event_id in _announced(session, [event_id]):
        return False
    record_event(session, outbox, _lease_ended(lease, event_id))
    return True


def announce_ended_leases(session: Session, today: date, lookback_days: int) -> int:
    """Announce every lease that ended within the last `lookback_days` days and has not been
    announced with that end date; return how many. Leases another worker holds (ending one now, or
    another sweep) are skipped: that worker announces them, or the next sweep does."""
    leases = session.scalars(
        select(Lease)
        .where(Lease.end_date < today, Lease.end_date >= today - timedelta(days=lookback_days))
        .options(selectinload(Lease.parties), selectinload(Lease.unit))
        .order_by(Lease.end_date, Lease.id)
        .with_for_update(of=Lease, skip_locked=True)
    ).all()
    ids = {lease.id: lease_ended_event_id(lease.id, lease.end_date) for lease in leases if lease.end_date}
    announced = _announced(session, list(ids.values()))
    recorded = 0
    for lease in leases:
        if ids[lease.id] not in announced:
            record_event(session, outbox, _lease_ended(lease, ids[lease.id]))
            recorded += 1
    session.commit()
    return recorded
