"""Pure rules of a defect staff record on a property (`defects.py`). No I/O, no framework.

A defect is open when recorded; it moves only from open to resolved, and from resolved back to
open (reopened: the fix did not hold). Anything else, staying where it is included, is refused
with the moves that are allowed. It is found on a day that is not in the future.
"""

from __future__ import annotations

from datetime import date

from shared.contracts.properties import DefectStatus

# Where a defect may go from each status.
MOVES: dict[DefectStatus, tuple[DefectStatus, ...]] = {
    DefectStatus.OPEN: (DefectStatus.RESOLVED,),
    DefectStatus.RESOLVED: (DefectStatus.OPEN,),
}


def allowed_moves(current: DefectStatus) -> list[DefectStatus]:
    return list(MOVES[current])


def status_change_problem(current: DefectStatus, new: DefectStatus) -> str | None:
    """Why a defect that is `current` cannot become `new`, or None if it can."""
    if new in MOVES[current]:
        return None
    if new == current:
        return f"this defect is already {current.value}"
    return f"a defect cannot go from {current.value} to {new.value}"


def found_on_problem(found_on: date, today: date) -> str | None:
    """Why a defect cannot be recorded as found on `found_on`, or None."""
    if found_on > today:
        return f"a defect cannot be found in the future ({found_on.isoformat()})"
    return None
