"""Pure rules of leases and of what their tenants owe (`leases.py`): when a lease is active and has
ended, and a lease's statement with its balance and what is overdue. No I/O, no framework."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from shared.contracts.common import ContactType
from shared.contracts.properties import ChargeView, PaymentView, StatementEntryKind, StatementLine

LEASE_TENANT_TYPE = ContactType.TENANT


def lease_is_active(start_date: date, end_date: date | None, on: date) -> bool:
    """A lease is active from its start date through its end date, both days included; without an
    end date it runs on."""
    return start_date <= on and (end_date is None or end_date >= on)


def lease_has_ended(end_date: date | None, on: date) -> bool:
    """Ended once its end date has passed: the end date is the tenancy's last day."""
    return end_date is not None and end_date < on


def end_date_problem(start_date: date, end_date: date) -> str | None:
    """Why a lease cannot end on `end_date`, or None if it can."""
    if end_date < start_date:
        return f"a lease cannot end ({end_date.isoformat()}) before it starts ({start_date.isoformat()})"
    return None


# --- what a tenant owes -----------------------------------------------------------------------


def balance_due(total_charged: int, total_paid: int) -> int:
    """Everything charged minus everything paid, in minor units; negative when in credit."""
    return total_charged - total_paid


def overdue_amount(charged_due_before_today: int, total_paid: int) -> int:
    """How much of the charges already past their due date is unpaid. Payments pay the oldest
    charge first, so they cover the past-due charges before any later one."""
    return max(0, charged_due_before_today - total_paid)


def is_past_due(due_date: date, today: date) -> bool:
    """A charge is overdue from the day after its due date."""
    return due_date < today


def payment_date_problem(paid_on: date, today: date) -> str | None:
    """Why a payment cannot be recorded as made on `paid_on`, or None: money not yet received is
    not a payment."""
    if paid_on > today:
        return f"a payment cannot be recorded for a future date ({paid_on.isoformat()})"
    return None


@dataclass(frozen=True)
class Statement:
    lines: list[StatementLine]
    total_charged: int
    total_paid: int
    balance_due: int
    overdue: int


def statement(charges: Sequence[ChargeView], payments: Sequence[PaymentView], today: date) -> Statement:
    """The lease's statement on `today`: every charge and payment in date order (on one day, charges
    before payments; then in the order they were entered) with the running balance, and each
    charge marked overdue if it is past its due date and payments, paying the oldest charge first,
    have not covered all of it."""
    total_paid = sum(payment.amount_minor for payment in payments)
    unpaid_after: dict[UUID, int] = {}
    covered = total_paid
    for charge in sorted(charges, key=lambda c: (c.due_date, c.created_at, str(c.id))):
        paid_of_it = min(covered, charge.amount_minor)
        covered -= paid_of_it
        unpaid_after[charge.id] = charge.amount_minor - paid_of_it

    entries: list[tuple[tuple[date, int, datetime, str], StatementLine]] = []
    for charge in charges:
        line = StatementLine(
            kind=StatementEntryKind.CHARGE,
            id=charge.id,
            date=charge.due_date,
            description=charge.description,
            amount_minor=charge.amount_minor,
            running_balance_minor=0,
            overdue=is_past_due(charge.due_date, today) and unpaid_after[charge.id] > 0,
        )
        entries.append(((charge.due_date, 0, charge.created_at, str(charge.id)), line))
    for payment in payments:
        line = StatementLine(
            kind=StatementEntryKind.PAYMENT,
            id=payment.id,
            date=payment.paid_on,
            description="Payment received",
            amount_minor=payment.amount_minor,
            reference=payment.reference,
            running_balance_minor=0,
        )
        entries.append(((payment.paid_on, 1, payment.created_at, str(payment.id)), line))
    entries.sort(key=lambda entry: entry[0])

    running = 0
    lines = []
    for _, line in entries:
        running += line.amount_minor if line.kind == StatementEntryKind.CHARGE else -line.amount_minor
        lines.append(line.model_copy(update={"running_balance_minor": running}))
    total_charged = sum(charge.amount_minor for charge in charges)
    past_due = sum(charge.amount_minor for charge in charges if is_past_due(charge.due_date, today))
    return Statement(
        lines=lines,
        total_charged=total_charged,
        total_paid=total_paid,
        balance_due=balance_due(total_charged, total_paid),
        overdue=overdue_amount(past_due, total_paid),
    )
