"""The rules of a defect's status and of the day it was found, without I/O."""

from datetime import date

import pytest

from properties.rules import defects as rules
from shared.contracts.properties import DefectStatus

OPEN, RESOLVED = DefectStatus.OPEN, DefectStatus.RESOLVED


def test_an_open_defect_is_resolved_and_a_resolved_one_reopened():
    assert rules.status_change_problem(OPEN, RESOLVED) is None
    assert rules.status_change_problem(RESOLVED, OPEN) is None
    assert rules.allowed_moves(OPEN) == [RESOLVED]
    assert rules.allowed_moves(RESOLVED) == [OPEN]


@pytest.mark.parametrize("status", list(DefectStatus))
def test_a_defect_cannot_move_to_where_it_already_is(status):
    assert rules.status_change_problem(status, status) == f"this defect is already {status.value}"


def test_every_status_has_its_moves():
    assert set(rules.MOVES) == set(DefectStatus)


def test_a_defect_is_not_found_in_the_future():
    today = date(2026, 5, 10)
    assert rules.found_on_problem(today, today) is None
    assert rules.found_on_problem(date(2020, 1, 1), today) is None
    assert (
        rules.found_on_problem(date(2026, 5, 11), today)
        == "a defect cannot be found in the future (2026-05-11)"
    )
