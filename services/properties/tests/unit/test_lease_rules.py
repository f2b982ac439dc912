"""The rules of leases and of what their tenants owe (`properties.rules.leases`)."""

import uuid
from datetime import UTC, date, datetime, timedelta

from properties.rules import leases as rules
from shared.contracts.properties import ChargeView, PaymentView, StatementEntryKind

TODAY = date(2025, 6, 15)


def test_a_future_lease_is_not_yet_active():
    assert not rules.lease_is_active(date(2025, 6, 16), None, TODAY)
    assert not rules.lease_is_active(date(2025, 7, 1), date(2026, 6, 30), TODAY)


def test_an_ended_lease_is_inactive():
    assert not rules.lease_is_active(date(2024, 6, 1), date(2025, 6, 14), TODAY)


def test_an_open_ended_lease_is_active_from_its_start():
    assert rules.lease_is_active(date(2020, 1, 1), None, TODAY)
    assert rules.lease_is_active(TODAY, None, TODAY)


def test_a_lease_is_still_active_on_its_end_date():
    assert rules.lease_is_active(date(2024, 6, 15), TODAY, TODAY)
    assert rules.lease_is_active(TODAY, TODAY, TODAY)


def test_a_lease_cannot_end_before_it_starts():
    assert rules.end_date_problem(TODAY, date(2025, 6, 14)) is not None
    assert rules.end_date_problem(TODAY, TODAY) is None
    assert rules.end_date_problem(TODAY, date(2026, 1, 1)) is None


# --- what a tenant owes -----------------------------------------------------------------------

ENTERED = datetime(2025, 1, 1, tzinfo=UTC)


def charge(amount: int, due: date, description: str = "Rent", entered: int = 0) -> ChargeView:
    return ChargeView(
        id=uuid.uuid4(),
        lease_id=LEASE_ID,
        description=description,
        amount_minor=amount,
        due_date=due,
        created_at=ENTERED + timedelta(seconds=entered),
    )


def payment(amount: int, paid_on: date, reference: str | None = None, entered: int = 0) -> PaymentView:
    return PaymentView(
        id=uuid.uuid4(),
        lease_id=LEASE_ID,
        amount_minor=amount,
        paid_on=paid_on,
        reference=reference,
        created_at=ENTERED + timedelta(seconds=entered),
    )


LEASE_ID = uuid.uuid4()


def test_an_empty_statement_owes_nothing():
    result = rules.statement([], [], TODAY)
    assert (result.lines, result.total_charged, result.total_paid) == ([], 0, 0)
    assert (result.balance_due, result.overdue) == (0, 0)


def test_the_balance_is_everything_charged_minus_everything_paid():
    result = rules.statement(
        [charge(95_000, date(2025, 5, 1)), charge(95_000, date(2025, 6, 1)), charge(1_250, date(2025, 7, 1))],
        [payment(95_000, date(2025, 5, 2)), payment(10_000, date(2025, 6, 3))],
        TODAY,
    )
    assert (result.total_charged, result.total_paid) == (191_250, 105_000)
    assert result.balance_due == 86_250
    # Due before today: 190,000; paid 105,000, so 85,000 of it is overdue. July's is not yet due.
    assert result.overdue == 85_000


def test_lines_are_in_date_order_with_the_running_balance():
    may_rent = charge(95_000, date(2025, 5, 1), "May rent")
    paid = payment(95_000, date(2025, 5, 1), "BACS 123")
    deposit = charge(110_000, date(2025, 4, 20), "Deposit")
    result = rules.statement([may_rent, deposit], [paid], TODAY)
    assert [(line.id, line.running_balance_minor) for line in result.lines] == [
        (deposit.id, 110_000),
        (may_rent.id, 205_000),  # a charge comes before a payment of the same day
        (paid.id, 110_000),
    ]
    assert [line.kind for line in result.lines] == [
        StatementEntryKind.CHARGE,
        StatementEntryKind.CHARGE,
        StatementEntryKind.PAYMENT,
    ]
    assert result.lines[2].reference == "BACS 123"
    assert result.lines[2].description == "Payment received"
    assert result.lines[0].date == date(2025, 4, 20)


def test_entries_of_one_day_keep_the_order_they_were_entered_in():
    first = charge(100, date(2025, 5, 1), "First", entered=1)
    second = charge(200, date(2025, 5, 1), "Second", entered=2)
    result = rules.statement([second, first], [], TODAY)
    assert [line.description for line in result.lines] == ["First", "Second"]


def test_payments_pay_the_oldest_charge_first_and_what_is_left_past_due_is_overdue():
    april = charge(50_000, date(2025, 4, 1), "April rent")
    may = charge(50_000, date(2025, 5, 1), "May rent")
    june = charge(50_000, date(2025, 6, 1), "June rent")
    july = charge(50_000, date(2025, 7, 1), "July rent")
    # 70,000 paid: April in full, 20,000 of May.
    result = rules.statement([july, june, may, april], [payment(70_000, date(2025, 6, 10))], TODAY)
    overdue = {line.description: line.overdue for line in result.lines if line.kind == "charge"}
    assert overdue == {"April rent": False, "May rent": True, "June rent": True, "July rent": False}
    assert result.overdue == 80_000
    assert result.balance_due == 130_000


def test_a_charge_is_overdue_only_after_its_due_date():
    due_today = charge(10_000, TODAY)
    due_yesterday = charge(10_000, TODAY - timedelta(days=1))
    result = rules.statement([due_today, due_yesterday], [], TODAY)
    assert {line.id: line.overdue for line in result.lines} == {due_today.id: False, due_yesterday.id: True}
    assert result.overdue == 10_000
    assert not rules.is_past_due(TODAY, TODAY)
    assert rules.is_past_due(TODAY - timedelta(days=1), TODAY)


def test_paying_more_than_charged_leaves_the_tenant_in_credit_with_nothing_overdue():
    result = rules.statement([charge(50_000, date(2025, 5, 1))], [payment(60_000, date(2025, 5, 1))], TODAY)
    assert result.balance_due == -10_000
    assert result.overdue == 0
    assert result.lines[-1].running_balance_minor == -10_000
    assert not any(line.overdue for line in result.lines)


def test_the_sums_the_dashboard_uses_agree_with_the_statement():
    charges = [charge(30_000, date(2025, 3, 1)), charge(45_000, date(2025, 6, 20)), charge(5_000, TODAY)]
    payments = [payment(20_000, date(2025, 3, 2)), payment(1_000, date(2025, 4, 2))]
    result = rules.statement(charges, payments, TODAY)
    past_due = sum(c.amount_minor for c in charges if c.due_date < TODAY)
    paid = sum(p.amount_minor for p in payments)
    assert rules.balance_due(80_000, paid) == result.balance_due == 59_000
    assert rules.overdue_amount(past_due, paid) == result.overdue == 9_000
    assert rules.overdue_amount(10_000, 25_000) == 0


def test_a_payment_cannot_be_recorded_in_the_future():
    assert rules.payment_date_problem(TODAY, TODAY) is None
    assert rules.payment_date_problem(date(2020, 1, 1), TODAY) is None
    problem = rules.payment_date_problem(TODAY + timedelta(days=1), TODAY)
    assert problem is not None and "future" in problem
