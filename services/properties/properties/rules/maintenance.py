"""Pure rules of maintenance requests (`maintenance.py`): how a request's status moves, and which
lease takes new requests. No I/O, no framework."""

from __future__ import annotations

from datetime import date

from shared.contracts.properties import MaintenanceStatus

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
# The statuses of a request still being worked on.
OPEN_STATUSES = [status for status in MaintenanceStatus if status not in CLOSED_STATUSES]


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
