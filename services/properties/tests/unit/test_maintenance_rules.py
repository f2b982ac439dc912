"""The rules of maintenance requests (`properties.rules.maintenance`)."""

from datetime import date

import pytest

from properties.rules import maintenance as rules
from shared.contracts.properties import MaintenanceStatus

TODAY = date(2025, 6, 15)


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
    assert rules.status_change_problem(current, new) is None


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
    problem = rules.status_change_problem(current, new)
    assert problem is not None and says in problem


def test_every_pair_of_statuses_is_decided_by_the_flow():
    for current in S:
        for new in S:
            allowed = rules.status_change_problem(current, new) is None
            expected = current not in (S.COMPLETED, S.CANCELLED) and (
                new == S.CANCELLED
                or rules.MAINTENANCE_FLOW.index(new) > rules.MAINTENANCE_FLOW.index(current)
            )
            assert allowed == expected, (current, new)


def test_the_next_statuses_of_each_status():
    assert rules.next_statuses(S.SUBMITTED) == [
        S.ACKNOWLEDGED,
        S.SCHEDULED,
        S.IN_PROGRESS,
        S.COMPLETED,
        S.CANCELLED,
    ]
    assert rules.next_statuses(S.IN_PROGRESS) == [S.COMPLETED, S.CANCELLED]
    assert rules.next_statuses(S.COMPLETED) == []
    assert rules.next_statuses(S.CANCELLED) == []


def test_only_a_current_lease_takes_new_requests():
    assert rules.maintenance_lease_problem(date(2025, 1, 1), None, TODAY) is None
    assert rules.maintenance_lease_problem(date(2025, 1, 1), TODAY, TODAY) is None
    assert rules.maintenance_lease_problem(TODAY, None, TODAY) is None
    ended = rules.maintenance_lease_problem(date(2024, 1, 1), date(2025, 6, 14), TODAY)
    assert ended is not None and "ended on 2025-06-14" in ended
    future = rules.maintenance_lease_problem(date(2025, 7, 1), None, TODAY)
    assert future is not None and "starts on 2025-07-01" in future
