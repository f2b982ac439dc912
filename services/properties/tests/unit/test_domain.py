import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from properties import domain
from shared.contracts.common import ContactType
from shared.contracts.properties import (
    ChargeView,
    MaintenanceStatus,
    OfferStatus,
    PaymentView,
    PropertyRole,
    StatementEntryKind,
    ViewingStatus,
    VisibilityLevel,
    VisibilitySubject,
)

TODAY = date(2025, 6, 15)


def test_a_future_lease_is_not_yet_active():
    assert not domain.lease_is_active(date(2025, 6, 16), None, TODAY)
    assert not domain.lease_is_active(date(2025, 7, 1), date(2026, 6, 30), TODAY)


def test_an_ended_lease_is_inactive():
    assert not domain.lease_is_active(date(2024, 6, 1), date(2025, 6, 14), TODAY)


def test_an_open_ended_lease_is_active_from_its_start():
    assert domain.lease_is_active(date(2020, 1, 1), None, TODAY)
    assert domain.lease_is_active(TODAY, None, TODAY)


def test_a_lease_is_still_active_on_its_end_date():
    assert domain.lease_is_active(date(2024, 6, 15), TODAY, TODAY)
    assert domain.lease_is_active(TODAY, TODAY, TODAY)


def test_a_lease_cannot_end_before_it_starts():
    assert domain.end_date_problem(TODAY, date(2025, 6, 14)) is not None
    assert domain.end_date_problem(TODAY, TODAY) is None
    assert domain.end_date_problem(TODAY, date(2026, 1, 1)) is None


@pytest.mark.parametrize(("a", "b"), [("Flat 1", "flat 1"), ("Flat 1", "  Flat   1 "), ("Straße", "STRASSE")])
def test_unit_names_compare_ignoring_case_and_spacing(a, b):
    assert domain.unit_name_key(a) == domain.unit_name_key(b)


def test_different_unit_names_stay_different():
    assert domain.unit_name_key("Flat 1") != domain.unit_name_key("Flat 11")


def test_a_one_line_address_skips_a_missing_second_line():
    assert domain.one_line_address("1 High St", None, "Leeds", "LS1 1AA") == "1 High St, Leeds, LS1 1AA"
    assert (
        domain.one_line_address("1 High St", "Flat 2", "Leeds", "LS1 1AA")
        == "1 High St, Flat 2, Leeds, LS1 1AA"
    )


def test_each_role_needs_a_contact_of_its_type():
    assert domain.CONTACT_TYPE_FOR_ROLE[PropertyRole.LANDLORD] == ContactType.LANDLORD
    assert domain.CONTACT_TYPE_FOR_ROLE[PropertyRole.VENDOR] == ContactType.VENDOR
    assert set(domain.CONTACT_TYPE_FOR_ROLE) == set(PropertyRole)


def test_a_contact_of_the_wrong_type_is_named_with_its_type():
    problem = domain.contact_type_problem(
        "Tess Tenant", ContactType.TENANT, ContactType.LANDLORD, "linked as landlord"
    )
    assert problem is not None
    assert "Tess Tenant" in problem and "tenant contact" in problem and "landlord" in problem
    assert (
        domain.contact_type_problem("Lou Lord", ContactType.LANDLORD, ContactType.LANDLORD, "linked") is None
    )


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
    result = domain.statement([], [], TODAY)
    assert (result.lines, result.total_charged, result.total_paid) == ([], 0, 0)
    assert (result.balance_due, result.overdue) == (0, 0)


def test_the_balance_is_everything_charged_minus_everything_paid():
    result = domain.statement(
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
    result = domain.statement([may_rent, deposit], [paid], TODAY)
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
    result = domain.statement([second, first], [], TODAY)
    assert [line.description for line in result.lines] == ["First", "Second"]


def test_payments_pay_the_oldest_charge_first_and_what_is_left_past_due_is_overdue():
    april = charge(50_000, date(2025, 4, 1), "April rent")
    may = charge(50_000, date(2025, 5, 1), "May rent")
    june = charge(50_000, date(2025, 6, 1), "June rent")
    july = charge(50_000, date(2025, 7, 1), "July rent")
    # 70,000 paid: April in full, 20,000 of May.
    result = domain.statement([july, june, may, april], [payment(70_000, date(2025, 6, 10))], TODAY)
    overdue = {line.description: line.overdue for line in result.lines if line.kind == "charge"}
    assert overdue == {"April rent": False, "May rent": True, "June rent": True, "July rent": False}
    assert result.overdue == 80_000
    assert result.balance_due == 130_000


def test_a_charge_is_overdue_only_after_its_due_date():
    due_today = charge(10_000, TODAY)
    due_yesterday = charge(10_000, TODAY - timedelta(days=1))
    result = domain.statement([due_today, due_yesterday], [], TODAY)
    assert {line.id: line.overdue for line in result.lines} == {due_today.id: False, due_yesterday.id: True}
    assert result.overdue == 10_000
    assert not domain.is_past_due(TODAY, TODAY)
    assert domain.is_past_due(TODAY - timedelta(days=1), TODAY)


def test_paying_more_than_charged_leaves_the_tenant_in_credit_with_nothing_overdue():
    result = domain.statement([charge(50_000, date(2025, 5, 1))], [payment(60_000, date(2025, 5, 1))], TODAY)
    assert result.balance_due == -10_000
    assert result.overdue == 0
    assert result.lines[-1].running_balance_minor == -10_000
    assert not any(line.overdue for line in result.lines)


def test_the_sums_the_dashboard_uses_agree_with_the_statement():
    charges = [charge(30_000, date(2025, 3, 1)), charge(45_000, date(2025, 6, 20)), charge(5_000, TODAY)]
    payments = [payment(20_000, date(2025, 3, 2)), payment(1_000, date(2025, 4, 2))]
    result = domain.statement(charges, payments, TODAY)
    past_due = sum(c.amount_minor for c in charges if c.due_date < TODAY)
    paid = sum(p.amount_minor for p in payments)
    assert domain.balance_due(80_000, paid) == result.balance_due == 59_000
    assert domain.overdue_amount(past_due, paid) == result.overdue == 9_000
    assert domain.overdue_amount(10_000, 25_000) == 0


def test_a_payment_cannot_be_recorded_in_the_future():
    assert domain.payment_date_problem(TODAY, TODAY) is None
    assert domain.payment_date_problem(date(2020, 1, 1), TODAY) is None
    problem = domain.payment_date_problem(TODAY + timedelta(days=1), TODAY)
    assert problem is not None and "future" in problem


# --- maintenance requests ---------------------------------------------------------------------

S = MaintenanceStatus


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.SUBMITTED, S.ACKNOWLEDGED),
        (S.SUBMITTED, S.SCHEDULED),
        (S.ACKNOWLEDGED, S.SCHEDULED),
        (S.SCHEDULED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.COMPLETED),
        (S.ACKNOWLEDGED, S.COMPLETED),
        (S.SUBMITTED, S.CANCELLED),
        (S.SCHEDULED, S.CANCELLED),
        (S.IN_PROGRESS, S.CANCELLED),
    ],
)
def test_a_request_moves_forward_or_is_cancelled(current, new):
    assert domain.status_change_problem(current, new) is None


@pytest.mark.parametrize(
    ("current", "new", "says"),
    [
        (S.SCHEDULED, S.ACKNOWLEDGED, "cannot go back from scheduled to acknowledged"),
        (S.IN_PROGRESS, S.SUBMITTED, "cannot go back from in progress to submitted"),
        (S.SCHEDULED, S.SCHEDULED, "already scheduled"),
        (S.SUBMITTED, S.SUBMITTED, "already submitted"),
        (S.COMPLETED, S.CANCELLED, "completed: its status can no longer change"),
        (S.COMPLETED, S.IN_PROGRESS, "completed: its status can no longer change"),
        (S.CANCELLED, S.SUBMITTED, "cancelled: its status can no longer change"),
        (S.CANCELLED, S.CANCELLED, "cancelled: its status can no longer change"),
    ],
)
def test_a_request_never_goes_back_nor_leaves_completed_or_cancelled(current, new, says):
    problem = domain.status_change_problem(current, new)
    assert problem is not None and says in problem


def test_every_pair_of_statuses_is_decided_by_the_flow():
    for current in S:
        for new in S:
            allowed = domain.status_change_problem(current, new) is None
            expected = current not in (S.COMPLETED, S.CANCELLED) and (
                new == S.CANCELLED
                or domain.MAINTENANCE_FLOW.index(new) > domain.MAINTENANCE_FLOW.index(current)
            )
            assert allowed == expected, (current, new)


def test_the_next_statuses_of_each_status():
    assert domain.next_statuses(S.SUBMITTED) == [
        S.ACKNOWLEDGED,
        S.SCHEDULED,
        S.IN_PROGRESS,
        S.COMPLETED,
        S.CANCELLED,
    ]
    assert domain.next_statuses(S.IN_PROGRESS) == [S.COMPLETED, S.CANCELLED]
    assert domain.next_statuses(S.COMPLETED) == []
    assert domain.next_statuses(S.CANCELLED) == []


def test_only_a_current_lease_takes_new_requests():
    assert domain.maintenance_lease_problem(date(2025, 1, 1), None, TODAY) is None
    assert domain.maintenance_lease_problem(date(2025, 1, 1), TODAY, TODAY) is None
    assert domain.maintenance_lease_problem(TODAY, None, TODAY) is None
    ended = domain.maintenance_lease_problem(date(2024, 1, 1), date(2025, 6, 14), TODAY)
    assert ended is not None and "ended on 2025-06-14" in ended
    future = domain.maintenance_lease_problem(date(2025, 7, 1), None, TODAY)
    assert future is not None and "starts on 2025-07-01" in future


# --- viewings, offers and visibility ----------------------------------------------------------

FEEDBACK = VisibilitySubject.VIEWING_FEEDBACK


def decided(contact_type, organization=None, contact=None):
    decision = domain.decide_visibility(FEEDBACK, contact_type, organization, contact)
    return decision.visible, [rule.level for rule in decision.chain if rule.decides]


def test_landlords_see_viewing_feedback_and_vendors_do_not_by_default():
    assert decided(ContactType.LANDLORD) == (True, [VisibilityLevel.DEFAULT])
    assert decided(ContactType.VENDOR) == (False, [VisibilityLevel.DEFAULT])


def test_a_type_with_no_default_sees_nothing():
    assert decided(ContactType.APPLICANT) == (False, [VisibilityLevel.DEFAULT])


def test_the_organization_setting_beats_the_default():
    assert decided(ContactType.LANDLORD, organization=False) == (False, [VisibilityLevel.ORGANIZATION])
    assert decided(ContactType.VENDOR, organization=True) == (True, [VisibilityLevel.ORGANIZATION])


def test_the_contact_override_beats_the_organization_setting_and_the_default():
    assert decided(ContactType.LANDLORD, organization=True, contact=False) == (
        False,
        [VisibilityLevel.CONTACT],
    )
    assert decided(ContactType.VENDOR, organization=False, contact=True) == (True, [VisibilityLevel.CONTACT])
    assert decided(ContactType.VENDOR, contact=True) == (True, [VisibilityLevel.CONTACT])


def test_the_chain_lists_every_level_in_order_with_what_each_says():
    decision = domain.decide_visibility(FEEDBACK, ContactType.VENDOR, None, True)
    assert [(rule.level, rule.setting, rule.decides) for rule in decision.chain] == [
        (VisibilityLevel.DEFAULT, False, False),
        (VisibilityLevel.ORGANIZATION, None, False),
        (VisibilityLevel.CONTACT, True, True),
    ]
    assert decision.chain[0].explanation == "By default, viewing feedback is hidden from vendors."
    assert decision.chain[1].explanation == "The organization has no setting for vendors."


def test_feedback_marks_a_booked_viewing_done_and_a_cancelled_one_takes_none():
    assert domain.status_after_feedback(ViewingStatus.BOOKED) == ViewingStatus.DONE
    assert domain.status_after_feedback(ViewingStatus.DONE) == ViewingStatus.DONE
    assert domain.feedback_problem(ViewingStatus.CANCELLED) is not None
    assert domain.feedback_problem(ViewingStatus.BOOKED) is None


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (ViewingStatus.BOOKED, ViewingStatus.DONE, True),
        (ViewingStatus.BOOKED, ViewingStatus.CANCELLED, True),
        (ViewingStatus.BOOKED, ViewingStatus.BOOKED, False),
        (ViewingStatus.DONE, ViewingStatus.CANCELLED, False),
        (ViewingStatus.CANCELLED, ViewingStatus.BOOKED, False),
        (ViewingStatus.CANCELLED, ViewingStatus.DONE, False),
    ],
)
def test_viewing_status_moves(current, new, allowed):
    assert (domain.viewing_status_problem(current, new) is None) == allowed


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (OfferStatus.RECEIVED, OfferStatus.ACCEPTED, True),
        (OfferStatus.RECEIVED, OfferStatus.REJECTED, True),
        (OfferStatus.RECEIVED, OfferStatus.WITHDRAWN, True),
        (OfferStatus.ACCEPTED, OfferStatus.WITHDRAWN, True),
        (OfferStatus.ACCEPTED, OfferStatus.REJECTED, False),
        (OfferStatus.ACCEPTED, OfferStatus.ACCEPTED, False),
        (OfferStatus.REJECTED, OfferStatus.ACCEPTED, False),
        (OfferStatus.WITHDRAWN, OfferStatus.RECEIVED, False),
        (OfferStatus.ACCEPTED, OfferStatus.RECEIVED, False),
    ],
)
def test_offer_status_moves(current, new, allowed):
    assert (domain.offer_status_problem(current, new) is None) == allowed
