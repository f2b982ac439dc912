"""Pure rules of a property's sale or letting progress and of its tenancies as a landlord sees
them (`progress.py`). No I/O, no framework.

A property's progress is a history of stages. A round of marketing (a sale or a letting) moves
only forward along its kind's stages (`STAGES_BY_KIND`, steps may be skipped: a quick sale goes
from on the market to sold subject to contract), or to withdrawn from any stage before its last.
Completed, tenancy started and withdrawn end the round; a new round, of either kind, may then
start at any stage but withdrawn (an owner who withdrew puts it on the market again; a sold house
is later let). A property never marketed starts the same way: it may come to the agency already on
the market.
"""

from __future__ import annotations

from datetime import date

from shared.contracts.properties import (
    STAGES_BY_KIND,
    MarketingKind,
    MarketingStage,
    TenancyState,
)

# The stages that end a round of marketing.
FINAL_STAGES = frozenset({MarketingStage.COMPLETED, MarketingStage.TENANCY_STARTED, MarketingStage.WITHDRAWN})
STAGE_LABELS: dict[MarketingStage, str] = {
    MarketingStage.INSTRUCTED: "instructed",
    MarketingStage.ON_THE_MARKET: "on the market",
    MarketingStage.UNDER_OFFER: "under offer",
    MarketingStage.SOLD_STC: "sold subject to contract",
    MarketingStage.EXCHANGED: "exchanged",
    MarketingStage.COMPLETED: "completed",
    MarketingStage.LET_AGREED: "let agreed",
    MarketingStage.REFERENCING: "referencing",
    MarketingStage.TENANCY_STARTED: "tenancy started",
    MarketingStage.WITHDRAWN: "withdrawn",
}


def round_is_open(stage: MarketingStage | None) -> bool:
    """Whether a round of marketing is under way: some stage reached, and not a final one."""
    return stage is not None and stage not in FINAL_STAGES


def stage_change_problem(
    current_kind: MarketingKind | None,
    current: MarketingStage | None,
    kind: MarketingKind,
    new: MarketingStage,
) -> str | None:
    """Why a property whose progress stands at (`current_kind`, `current`) cannot move to (`kind`,
    `new`), or None if it can. `new` is one of `kind`'s stages (the contract checks that)."""
    label = STAGE_LABELS[new]
    if not round_is_open(current):
        if new == MarketingStage.WITHDRAWN:
            return "nothing is being marketed: there is nothing to withdraw"
        return None
    assert current is not None and current_kind is not None
    if kind != current_kind:
        return (
            f"this property's {current_kind.value} is under way ({STAGE_LABELS[current]}): "
            f"withdraw it before starting a {kind.value}"
        )
    if new == current:
        return f"this {kind.value} is already at {label}"
    if new == MarketingStage.WITHDRAWN:
        return None
    flow = STAGES_BY_KIND[kind]
    if flow.index(new) < flow.index(current):
        return f"a {kind.value} cannot go back from {STAGE_LABELS[current]} to {label}"
    return None


def next_stages(
    current_kind: MarketingKind | None, current: MarketingStage | None
) -> dict[MarketingKind, list[MarketingStage]]:
    """Every stage the property may move to now, by kind (a kind it cannot move in is left out)."""
    allowed = {
        kind: [stage for stage in stages if stage_change_problem(current_kind, current, kind, stage) is None]
        for kind, stages in STAGES_BY_KIND.items()
    }
    return {kind: stages for kind, stages in allowed.items() if stages}


def reached_on_problem(reached_on: date, last_reached_on: date | None, today: date) -> str | None:
    """Why a stage cannot be recorded as reached on `reached_on`, or None: not in the future, and
    not before the stage before it (the history reads in order)."""
    if reached_on > today:
        return f"a stage cannot be reached in the future ({reached_on.isoformat()})"
    if last_reached_on is not None and reached_on < last_reached_on:
        return (
            f"the stage before this one was reached on {last_reached_on.isoformat()}: "
            f"this one cannot be earlier ({reached_on.isoformat()})"
        )
    return None


def tenancy_state(start_date: date, end_date: date | None, today: date) -> TenancyState:
    """A lease as its landlord sees it: upcoming before its start date, ended once its end date
    (its last day) has passed, current in between."""
    if start_date > today:
        return TenancyState.UPCOMING
    if end_date is not None and end_date < today:
        return TenancyState.ENDED
    return TenancyState.CURRENT
