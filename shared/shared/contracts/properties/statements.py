"""What a tenant owes on a lease: charges, payments, the statement.

Money is an integer number of minor units (pence): never a float. One currency (GBP) for now."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from shared.contracts.common import IdempotencyKey, Request, RpcMethod, ShortText, StaffActor, View
from shared.contracts.properties.property_records import LeaseLink

CURRENCY = "GBP"
# The largest single charge or payment: £1,000,000.00. Larger is a typing mistake, not a rent.
MAX_AMOUNT_MINOR = 100_000_000
AmountMinor = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        le=MAX_AMOUNT_MINOR,
        description="In minor units (pence): 125000 is £1,250.00. A whole number above 0.",
    ),
]
PaymentReference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AddCharge(Request):
    """Staff charge the lease's tenants: rent, a deposit, a repair they are liable for."""

    actor: StaffActor
    lease_id: UUID
    description: ShortText
    amount_minor: AmountMinor
    due_date: date
    idempotency_key: IdempotencyKey | None = None


class RecordPayment(Request):
    """Staff record money received from the lease's tenants."""

    actor: StaffActor
    lease_id: UUID
    amount_minor: AmountMinor
    paid_on: date
    reference: PaymentReference | None = None
    idempotency_key: IdempotencyKey | None = None


class ChargeView(View):
    id: UUID
    lease_id: UUID
    description: str
    amount_minor: int
    due_date: date
    created_at: datetime


class PaymentView(View):
    id: UUID
    lease_id: UUID
    amount_minor: int
    paid_on: date
    reference: str | None
    created_at: datetime


class StatementEntryKind(enum.StrEnum):
    CHARGE = "charge"
    PAYMENT = "payment"


class StatementLine(View):
    """One charge or payment, in date order, with the balance after it."""

    kind: StatementEntryKind
    id: UUID
    # A charge's due date, a payment's date.
    date: date
    description: str
    amount_minor: int
    reference: str | None = None
    running_balance_minor: int
    # A charge past its due date that payments (taken oldest charge first) have not covered.
    overdue: bool = False


class LeaseStatement(View):
    """A lease and what its tenants owe on it on `as_of`: total charged minus total paid is the
    balance due (negative: in credit); payments pay the oldest charges first, so what is overdue is
    whatever of the charges due before `as_of` they have not covered."""

    lease: LeaseLink
    as_of: date
    currency: str = CURRENCY
    lines: list[StatementLine]
    total_charged_minor: int
    total_paid_minor: int
    balance_due_minor: int
    overdue_minor: int


class GetLeaseStatement(Request):
    """Staff read a lease's statement."""

    organization_id: UUID
    lease_id: UUID


class GetPartyLeaseStatement(Request):
    """A portal user reads the statement of a lease they are a party of, as `contact_id` (from
    their verified membership)."""

    organization_id: UUID
    contact_id: UUID
    lease_id: UUID


ADD_CHARGE = RpcMethod("properties", "add_charge", AddCharge, ChargeView)
RECORD_PAYMENT = RpcMethod("properties", "record_payment", RecordPayment, PaymentView)
GET_LEASE_STATEMENT = RpcMethod("properties", "get_lease_statement", GetLeaseStatement, LeaseStatement)
GET_PARTY_LEASE_STATEMENT = RpcMethod(
    "properties", "get_party_lease_statement", GetPartyLeaseStatement, LeaseStatement
)
