"""The rules of a sale's or letting's progress and of a tenancy's state, without I/O."""

from datetime import date

import pytest

from properties.rules import progress as rules
from shared.contracts.properties import STAGES_BY_KIND, MarketingKind, MarketingStage, TenancyState

S = MarketingStage
SALE, LETTING = MarketingKind.SALE, MarketingKind.LETTING


def test_every_stage_is_named_and_belongs_to_a_kind():
    assert set(rules.STAGE_LABELS) == set(MarketingStage)
    assert set(STAGES_BY_KIND[SALE]) | set(STAGES_BY_KIND[LETTING]) == set(MarketingStage)
    for stages in STAGES_BY_KIND.values():
        assert stages[0] == S.INSTRUCTED and stages[-1] == S.WITHDRAWN


@pytest.mark.parametrize("kind", list(MarketingKind))
def test_a_round_moves_only_forward_or_to_withdrawn(kind):
    flow = [stage for stage in STAGES_BY_KIND[kind] if stage != S.WITHDRAWN]
    for i, current in enumerate(flow[:-1]):
        assert rules.next_stages(kind, current) == {kind: [*flow[i + 1 :], S.WITHDRAWN]}
        for earlier in flow[: i + 1]:
            assert rules.stage_change_problem(kind, current, kind, earlier) is not None


def test_the_other_kind_waits_until_the_round_ends():
    problem = rules.stage_change_problem(SALE, S.UNDER_OFFER, LETTING, S.INSTRUCTED)
    assert problem == "this property's sale is under way (under offer): withdraw it before starting a letting"
    assert rules.stage_change_problem(SALE, S.COMPLETED, LETTING, S.INSTRUCTED) is None
    assert rules.stage_change_problem(SALE, S.WITHDRAWN, SALE, S.ON_THE_MARKET) is None


@pytest.mark.parametrize("current", [None, S.COMPLETED, S.TENANCY_STARTED, S.WITHDRAWN])
def test_nothing_under_way_can_start_anywhere_but_cannot_be_withdrawn(current):
    kind = None if current is None else (LETTING if current == S.TENANCY_STARTED else SALE)
    allowed = rules.next_stages(kind, current)
    assert allowed == {k: [s for s in STAGES_BY_KIND[k] if s != S.WITHDRAWN] for k in MarketingKind}
    assert rules.stage_change_problem(kind, current, SALE, S.WITHDRAWN) is not None


def test_a_stage_is_reached_neither_in_the_future_nor_before_the_one_before():
    today = date(2026, 5, 10)
    assert rules.reached_on_problem(today, None, today) is None
    assert rules.reached_on_problem(date(2026, 5, 11), None, today) is not None
    assert rules.reached_on_problem(date(2026, 5, 1), date(2026, 5, 2), today) is not None
    assert rules.reached_on_problem(date(2026, 5, 2), date(2026, 5, 2), today) is None


def test_a_tenancy_is_upcoming_then_current_through_its_last_day_then_ended():
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    assert rules.tenancy_state(start, end, date(2025, 12, 31)) == TenancyState.UPCOMING
    assert rules.tenancy_state(start, end, start) == TenancyState.CURRENT
    assert rules.tenancy_state(start, end, end) == TenancyState.CURRENT
    assert rules.tenancy_state(start, end, date(2026, 7, 1)) == TenancyState.ENDED
    assert rules.tenancy_state(start, None, date(2030, 1, 1)) == TenancyState.CURRENT
