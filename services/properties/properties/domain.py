"""Pure rules of the properties service: no I/O, no framework."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from shared.contracts.common import ContactType
from shared.contracts.properties import (
    ChargeView,
    MaintenanceStatus,
    OfferStatus,
    PaymentView,
    PropertyRole,
    StatementEntryKind,
    StatementLine,
    ViewingStatus,
    VisibilityLevel,
    VisibilityRule,
    VisibilitySubject,
)

# The contact type a contact must have to hold each role on a property.
CONTACT_TYPE_FOR_ROLE: dict[PropertyRole, ContactType] = {
    PropertyRole.LANDLORD: ContactType.LANDLORD,
    PropertyRole.VENDOR: ContactType.VENDOR,
    PropertyRole.APPLICANT: ContactType.APPLICANT,
}
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


def unit_name_key(name: str) -> str:
    """The form two unit names are compared in: "Flat 1" and " flat  1" are one unit."""
    return " ".join(name.split()).casefold()


def one_line_address(line1: str, line2: str | None, city: str, postcode: str) -> str:
    return ", ".join(part for part in (line1, line2, city, postcode) if part)


def contact_type_problem(
    display_name: str, contact_type: ContactType, required: ContactType, as_what: str
) -> str | None:
    """Why a contact of `contact_type` cannot be linked `as_what` (which needs `required`), or None."""
    if contact_type == required:
        return None
    return (
        f"{display_name} is a {contact_type.value} contact and cannot be {as_what}: "
        f"only a {required.value} contact can"
    )


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


# --- maintenance requests ---------------------------------------------------------------------

# The way a request moves forward; it may skip steps (a quick fix goes from acknowledged straight
# to completed) but never goes back. Cancelled can come from any open status.
MAINTENANCE_FLOW: tuple[MaintenanceStatus, ...] = (
    MaintenanceStatus.SUBMITTED,
    MaintenanceStatus.ACKNOWLEDGED,
    MaintenanceStatus.SCHEDULED,
    MaintenanceStatus.IN_PROGRESS,
    MaintenanceStatus.COMPLETED,
)
CLOSED_STATUSES = frozenset({MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED})


def status_label(status: MaintenanceStatus) -> str:
    return status.value.replace("_", " ")


def status_change_problem(current: MaintenanceStatus, new: MaintenanceStatus) -> str | None:
    """Why a request cannot move from `current` to `new`, or None if it can: only forward along
    `MAINTENANCE_FLOW`, or to cancelled, and never out of completed or cancelled."""
    if current in CLOSED_STATUSES:
        return f"this request is {status_label(current)}: its status can no longer change"
    if new == current:
        return f"this request is already {status_label(current)}"
    if new == MaintenanceStatus.CANCELLED:
        return None
    if MAINTENANCE_FLOW.index(new) < MAINTENANCE_FLOW.index(current):
        return f"a request cannot go back from {status_label(current)} to {status_label(new)}"
    return None


def next_statuses(current: MaintenanceStatus) -> list[MaintenanceStatus]:
    """Every status a request in `current` may move to."""
    return [status for status in MaintenanceStatus if status_change_problem(current, status) is None]


def maintenance_lease_problem(start_date: date, end_date: date | None, today: date) -> str | None:
    """Why no new maintenance request can be made on a lease today, or None: only a current lease
    takes them (its parties still read the requests of an ended one)."""
    if end_date is not None and end_date < today:
        return (
            f"this lease ended on {end_date.isoformat()}: "
            "ask your property manager about problems in a home you have left"
        )
    if start_date > today:
        return f"this lease starts on {start_date.isoformat()}: requests can be made from then"
    return None


# --- viewings and offers ----------------------------------------------------------------------


def feedback_problem(status: ViewingStatus) -> str | None:
    """Why feedback cannot be recorded on a viewing in `status`, or None: a cancelled viewing
    never happened, so nobody can have said anything about it."""
    if status == ViewingStatus.CANCELLED:
        return "this viewing was cancelled: it has no feedback"
    return None


def viewing_status_problem(current: ViewingStatus, new: ViewingStatus) -> str | None:
    """Why a viewing cannot move from `current` to `new`, or None: only a booked viewing moves,
    to done or cancelled."""
    if new == current:
        return f"this viewing is already {current.value}"
    if current != ViewingStatus.BOOKED:
        return f"this viewing is {current.value}: its status can no longer change"
    if new == ViewingStatus.BOOKED:
        return "a viewing cannot be booked again: book a new one"
    return None


def status_after_feedback(status: ViewingStatus) -> ViewingStatus:
    """Feedback means the viewing took place: a booked viewing is done once it has some."""
    return ViewingStatus.DONE if status == ViewingStatus.BOOKED else status


# Where an offer may go from each status. An accepted offer can still be withdrawn (the buyer
# pulls out); a rejected or withdrawn offer is over: a new one is a new offer.
OFFER_MOVES: dict[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.RECEIVED: frozenset({OfferStatus.ACCEPTED, OfferStatus.REJECTED, OfferStatus.WITHDRAWN}),
    OfferStatus.ACCEPTED: frozenset({OfferStatus.WITHDRAWN}),
    OfferStatus.REJECTED: frozenset(),
    OfferStatus.WITHDRAWN: frozenset(),
}


def offer_status_problem(current: OfferStatus, new: OfferStatus) -> str | None:
    """Why an offer cannot move from `current` to `new`, or None if it can."""
    if new == current:
        return f"this offer is already {current.value}"
    if new not in OFFER_MOVES[current]:
        if not OFFER_MOVES[current]:
            return f"this offer was {current.value}: its status can no longer change"
        return f"an offer that is {current.value} cannot become {new.value}"
    return None


# --- visibility -------------------------------------------------------------------------------

# What each contact type sees when nobody has set anything (Rezi's defaults): landlords see what
# applicants said after a viewing, vendors do not. A pair not listed is not shown.
DEFAULT_VISIBILITY: dict[tuple[VisibilitySubject, ContactType], bool] = {
    (VisibilitySubject.VIEWING_FEEDBACK, ContactType.LANDLORD): True,
    (VisibilitySubject.VIEWING_FEEDBACK, ContactType.VENDOR): False,
}
SUBJECT_LABELS = {VisibilitySubject.VIEWING_FEEDBACK: "viewing feedback"}


@dataclass(frozen=True)
class VisibilityDecision:
    visible: bool
    chain: list[VisibilityRule]


def _shown(visible: bool) -> str:
    return "shown" if visible else "hidden"


def _shown_to(visible: bool) -> str:
    return "shown to" if visible else "hidden from"


def decide_visibility(
    subject: VisibilitySubject,
    contact_type: ContactType,
    organization_setting: bool | None,
    contact_setting: bool | None,
    property_setting: bool | None = None,
    property_name: str | None = None,
) -> VisibilityDecision:
    """Whether a contact of `contact_type` sees `subject`, and why: the default for the type, then
    the organization's setting for the type, then (for an item of a property, `property_name`
    given) the property's setting for the type, then the contact's own override; the last one
    that says something holds."""
    what, plural = SUBJECT_LABELS[subject], f"{contact_type.value}s"
    default = DEFAULT_VISIBILITY.get((subject, contact_type), False)
    steps: list[tuple[VisibilityLevel, bool | None, str]] = [
        (VisibilityLevel.DEFAULT, default, f"By default, {what} is {_shown_to(default)} {plural}."),
        (
            VisibilityLevel.ORGANIZATION,
            organization_setting,
            f"The organization has {what} {_shown_to(organization_setting)} {plural}."
            if organization_setting is not None
            else f"The organization has no setting for {plural}.",
        ),
    ]
    if property_name is not None:
        steps.append(
            (
                VisibilityLevel.PROPERTY,
                property_setting,
                f"{property_name} has {what} {_shown_to(property_setting)} {plural}."
                if property_setting is not None
                else f"{property_name} has no setting for {plural}.",
            )
        )
    steps += [
        (
            VisibilityLevel.CONTACT,
            contact_setting,
            f"This contact has {what} {_shown(contact_setting)}, whatever their type's setting."
            if contact_setting is not None
            else "This contact has no setting of their own.",
        ),
    ]
    deciding = max(i for i, (_, setting, _) in enumerate(steps) if setting is not None)
    chain = [
        VisibilityRule(level=level, setting=setting, decides=i == deciding, explanation=explanation)
        for i, (level, setting, explanation) in enumerate(steps)
    ]
    visible = steps[deciding][1]
    assert visible is not None
    return VisibilityDecision(visible=visible, chain=chain)


# --- customers' dashboards --------------------------------------------------------------------

OPEN_STATUSES = [status for status in MaintenanceStatus if status not in CLOSED_STATUSES]
DASHBOARD_MONTHS = 12


def last_months(today: date, count: int = DASHBOARD_MONTHS) -> list[date]:
    """The first day of each of the `count` months up to today's, oldest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_series(counts: Mapping[date, int], today: date) -> list[tuple[date, int]]:
    """Each of the last 12 months (first days, oldest first) with its count from `counts`, keyed by
    the months' first days; a month missing from `counts` had none, and other months are left out."""
    return [(month, counts.get(month, 0)) for month in last_months(today)]
