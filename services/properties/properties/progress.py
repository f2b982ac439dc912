"""Use cases of a property's sale or letting progress, and the tenancies of its units as its
landlord reads them. The rules are `rules/progress.py`'s (rules live in `rules/`, one module per
sub-domain named like the use-case module that applies it); every query is scoped by the caller's
organization (another organization's property is NotFound)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from properties.models import Lease, MarketingStageRecord, Property, Unit
from properties.rules import progress as rules
from properties.scoping import require_editor
from shared.contracts import properties as p
from shared.contracts.errors import Conflict, InvalidInput, NotFound


def _steps(session: Session, property_id: UUID) -> list[MarketingStageRecord]:
    return list(
        session.scalars(
            select(MarketingStageRecord)
            .where(MarketingStageRecord.property_id == property_id)
            .order_by(MarketingStageRecord.id)
        ).all()
    )


def _where(steps: list[MarketingStageRecord]) -> tuple[p.MarketingKind | None, p.MarketingStage | None]:
    if not steps:
        return None, None
    return p.MarketingKind(steps[-1].kind), p.MarketingStage(steps[-1].stage)


def progress_view(property_id: UUID, steps: list[MarketingStageRecord]) -> p.MarketingProgress:
    kind, stage = _where(steps)
    return p.MarketingProgress(
        property_id=property_id,
        kind=kind,
        stage=stage,
        history=[
            p.MarketingStep(
                kind=p.MarketingKind(step.kind),
                stage=p.MarketingStage(step.stage),
                reached_on=step.reached_on,
                note=step.note,
                recorded_at=step.recorded_at,
            )
            for step in steps
        ],
        allowed=rules.next_stages(kind, stage),
    )


def progress_of(session: Session, property_id: UUID) -> p.MarketingProgress:
    """The progress of a property the caller has already found in its organization."""
    return progress_view(property_id, _steps(session, property_id))


def set_marketing_stage(
    session: Session, cmd: p.SetMarketingStage, today: date, now: datetime
) -> p.MarketingProgress:
    """Move the property's sale or letting to a stage (`rules.stage_change_problem`),
    judged under the property's row lock so two moves at once are judged one after the other."""
    require_editor(cmd.actor)
    prop = session.scalars(
        select(Property)
        .where(Property.id == cmd.property_id, Property.organization_id == cmd.actor.organization_id)
        .with_for_update()
    ).first()
    if prop is None:
        raise NotFound("no such property")
    steps = _steps(session, prop.id)
    kind, stage = _where(steps)
    problem = rules.stage_change_problem(kind, stage, cmd.kind, cmd.stage)
    if problem:
        session.rollback()
        raise Conflict(
            problem[0].upper() + problem[1:] + ".",
            {
                "kind": kind.value if kind else None,
                "stage": stage.value if stage else None,
                "allowed": {k.value: [s.value for s in v] for k, v in rules.next_stages(kind, stage).items()},
            },
        )
    reached_on = cmd.reached_on or today
    date_problem = rules.reached_on_problem(reached_on, steps[-1].reached_on if steps else None, today)
    if date_problem:
        session.rollback()
        raise InvalidInput(date_problem, {"errors": [{"field": "reached_on", "message": date_problem}]})
    record = MarketingStageRecord(
        organization_id=prop.organization_id,
        property_id=prop.id,
        kind=cmd.kind.value,
        stage=cmd.stage.value,
        reached_on=reached_on,
        note=cmd.note,
        recorded_by_staff_member_id=cmd.actor.staff_member_id,
        recorded_at=now,
    )
    session.add(record)
    session.commit()
    return progress_view(prop.id, [*steps, record])


def get_marketing_progress(session: Session, q: p.GetMarketingProgress) -> p.MarketingProgress:
    found = session.scalar(
        select(Property.id).where(Property.id == q.property_id, Property.organization_id == q.organization_id)
    )
    if found is None:
        raise NotFound("no such property")
    return progress_of(session, found)


def tenancies_of(
    session: Session, organization_id: UUID, property_id: UUID, today: date
) -> list[p.PropertyTenancy]:
    """Every lease of the property's units, latest start first: the unit, the dates and whether it
    is upcoming, current or ended. Nothing about the tenants: no names, emails or statements."""
    rows = session.execute(
        select(Lease, Unit.name)
        .join(Unit, Unit.id == Lease.unit_id)
        .where(Unit.property_id == property_id, Lease.organization_id == organization_id)
        .order_by(Lease.start_date.desc(), Unit.name, Lease.id)
    ).all()
    return [
        p.PropertyTenancy(
            lease_id=lease.id,
            unit_name=unit_name,
            start_date=lease.start_date,
            end_date=lease.end_date,
            state=rules.tenancy_state(lease.start_date, lease.end_date, today),
        )
        for lease, unit_name in rows
    ]
