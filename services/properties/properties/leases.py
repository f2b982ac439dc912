"""Use cases of leases and of what their tenants owe: making and ending a lease, its charges and
payments, and its statement, for staff and for the lease's parties.

A portal read names the contact the person is (from their verified membership) and finds a lease
only through that contact's lease parties: a lease they are not a party of is NotFound, exactly like
a lease that does not exist. A lease that has ended stays readable by its parties (their statement
and history do not disappear with the tenancy). Its pure rules are `rules/leases.py` (rules live in
`rules/`, one module per sub-domain named like the use-case module that applies it).
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Integer, case, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from properties import lease_endings
from properties.models import Charge, Lease, LeaseParty, Payment, Property, Unit
from properties.rules import leases as rules
from properties.scoping import (
    ContactsRpc,
    contact_to_link,
    invalid,
    lease_in_org,
    lease_with_place,
    refuse,
    require_editor,
    unit_in_org,
)
from properties.views import charge_view, lease_link, lease_view, payment_view
from shared.contracts import properties as p
from shared.contracts.errors import Conflict, NotFound


def create_lease(session: Session, contacts: ContactsRpc, cmd: p.CreateLease) -> p.LeaseView:
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    unit = unit_in_org(session, org_id, cmd.unit_id)
    problems = []
    for i, contact_id in enumerate(cmd.tenant_contact_ids):
        field = f"tenant_contact_ids.{i}"
        problem = contact_to_link(
            contacts, org_id, contact_id, field, rules.LEASE_TENANT_TYPE, "a lease tenant"
        )
        if problem:
            problems.append(problem)
    refuse(problems)
    lease = Lease(
        organization_id=org_id,
        unit=unit,
        start_date=cmd.start_date,
        end_date=cmd.end_date,
        parties=[LeaseParty(contact_id=contact_id) for contact_id in sorted(cmd.tenant_contact_ids)],
    )
    session.add(lease)
    session.commit()
    return lease_view(lease)


def end_lease(session: Session, cmd: p.EndLease, today: date) -> p.LeaseView:
    """Set the lease's last day. One that has already passed ends the lease now, announced in the
    same transaction (`lease_ended`); a later one is announced by the timer once it has passed."""
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    lease = session.scalars(
        select(Lease)
        .where(Lease.id == cmd.lease_id, Lease.organization_id == org_id)
        .options(selectinload(Lease.parties), selectinload(Lease.unit))
        .with_for_update(of=Lease)
    ).first()
    if lease is None:
        raise NotFound("no such lease")
    problem = rules.end_date_problem(lease.start_date, cmd.end_date)
    if problem:
        raise invalid("end_date", problem)
    lease.end_date = cmd.end_date
    lease_endings.announce_if_ended(session, lease, today)
    session.commit()
    return lease_view(lease)


# --- what a tenant owes -----------------------------------------------------------------------


def _key_reused(what: str) -> Conflict:
    return Conflict(f"This Idempotency-Key was already used for another {what} on this lease.")


def add_charge(session: Session, cmd: p.AddCharge) -> p.ChargeView:
    require_editor(cmd.actor)
    lease = lease_in_org(session, cmd.actor.organization_id, cmd.lease_id)
    charge = Charge(
        lease_id=lease.id,
        description=cmd.description,
        amount_minor=cmd.amount_minor,
        due_date=cmd.due_date,
        created_by_staff_member_id=cmd.actor.staff_member_id,
        idempotency_key=cmd.idempotency_key,
    )
    return charge_view(_add_once(session, charge, ("description", "amount_minor", "due_date"), "charge"))


def record_payment(session: Session, cmd: p.RecordPayment, today: date) -> p.PaymentView:
    require_editor(cmd.actor)
    lease = lease_in_org(session, cmd.actor.organization_id, cmd.lease_id)
    problem = rules.payment_date_problem(cmd.paid_on, today)
    if problem:
        raise invalid("paid_on", problem)
    payment = Payment(
        lease_id=lease.id,
        amount_minor=cmd.amount_minor,
        paid_on=cmd.paid_on,
        reference=cmd.reference,
        recorded_by_staff_member_id=cmd.actor.staff_member_id,
        idempotency_key=cmd.idempotency_key,
    )
    return payment_view(_add_once(session, payment, ("amount_minor", "paid_on", "reference"), "payment"))


_Entry = TypeVar("_Entry", Charge, Payment)


def _add_once(session: Session, entry: _Entry, fields: tuple[str, ...], what: str) -> _Entry:
    """Commit a new charge or payment of a lease. With an idempotency key, the entry that key made
    before is answered instead, if it records the same `fields` (else 409); also when the same
    request, at the same moment, wrote it first."""
    model, lease_id, key = type(entry), entry.lease_id, entry.idempotency_key
    wanted = tuple(getattr(entry, name) for name in fields)

    def earlier_or_none() -> _Entry | None:
        earlier = session.scalars(
            select(model).where(model.lease_id == lease_id, model.idempotency_key == key)
        ).first()
        if earlier is not None and tuple(getattr(earlier, name) for name in fields) != wanted:
            raise _key_reused(what)
        return earlier

    if key is not None and (seen := earlier_or_none()) is not None:
        return seen
    session.add(entry)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if key is None or (seen := earlier_or_none()) is None:
            raise
        return seen
    return entry


def get_lease_statement(session: Session, q: p.GetLeaseStatement, today: date) -> p.LeaseStatement:
    return _statement(session, *lease_with_place(session, q.organization_id, q.lease_id, None), today)


def get_party_lease_statement(session: Session, q: p.GetPartyLeaseStatement, today: date) -> p.LeaseStatement:
    place = lease_with_place(session, q.organization_id, q.lease_id, q.contact_id)
    return _statement(session, *place, today)


def _statement(session: Session, lease: Lease, unit: Unit, prop: Property, today: date) -> p.LeaseStatement:
    charges = [
        charge_view(row) for row in session.scalars(select(Charge).where(Charge.lease_id == lease.id)).all()
    ]
    payments = [
        payment_view(row)
        for row in session.scalars(select(Payment).where(Payment.lease_id == lease.id)).all()
    ]
    statement = rules.statement(charges, payments, today)
    return p.LeaseStatement(
        lease=lease_link(lease, unit, prop, today, statement.balance_due, statement.overdue),
        as_of=today,
        lines=statement.lines,
        total_charged_minor=statement.total_charged,
        total_paid_minor=statement.total_paid,
        balance_due_minor=statement.balance_due,
        overdue_minor=statement.overdue,
    )


def amounts_owed(session: Session, lease_ids: set[UUID], today: date) -> dict[UUID, tuple[int, int]]:
    """(balance due, overdue) of each lease, in one query whatever the number of leases: the same
    arithmetic as `rules.statement`, on sums."""
    if not lease_ids:
        return {}
    zero = literal(0, Integer)
    entries = union_all(
        select(
            Charge.lease_id.label("lease_id"),
            Charge.amount_minor.label("charged"),
            case((Charge.due_date < today, Charge.amount_minor), else_=0).label("past_due"),
            zero.label("paid"),
        ).where(Charge.lease_id.in_(lease_ids)),
        select(Payment.lease_id, zero, zero, Payment.amount_minor).where(Payment.lease_id.in_(lease_ids)),
    ).subquery()
    rows = session.execute(
        select(
            entries.c.lease_id,
            func.sum(entries.c.charged),
            func.sum(entries.c.past_due),
            func.sum(entries.c.paid),
        ).group_by(entries.c.lease_id)
    ).all()
    return {
        lease_id: (
            rules.balance_due(int(charged), int(paid)),
            rules.overdue_amount(int(past_due), int(paid)),
        )
        for lease_id, charged, past_due, paid in rows
    }
