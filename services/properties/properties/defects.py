"""Use cases of the defects staff record on a property (Uptick: a site usually has no lease, so
its customers' page would otherwise show nothing). The rules are `rules/defects.py`'s (rules live
in `rules/`, one module per sub-domain named like the use-case module that applies it); every query
is scoped by the caller's organization (another organization's property or defect is NotFound).
What a customer reads of them is decided in `portfolio.py`, behind its portfolio check."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from properties.models import Defect
from properties.rules import defects as rules
from properties.scoping import property_id_in_org, require_editor
from shared.contracts import properties as p
from shared.contracts.errors import Conflict, InvalidInput, NotFound


def defect_view(defect: Defect) -> p.DefectView:
    return p.DefectView(
        id=defect.id,
        property_id=defect.property_id,
        title=defect.title,
        description=defect.description,
        severity=p.DefectSeverity(defect.severity),
        status=p.DefectStatus(defect.status),
        found_on=defect.found_on,
        resolved_at=defect.resolved_at,
        created_at=defect.created_at,
        created_by_staff_member_id=defect.created_by_staff_member_id,
        updated_at=defect.updated_at,
        updated_by_staff_member_id=defect.updated_by_staff_member_id,
    )


def customer_defect(defect: Defect) -> p.CustomerDefect:
    return p.CustomerDefect(
        id=defect.id,
        title=defect.title,
        description=defect.description,
        severity=p.DefectSeverity(defect.severity),
        status=p.DefectStatus(defect.status),
        found_on=defect.found_on,
        resolved_at=defect.resolved_at,
    )


def record_defect(session: Session, cmd: p.RecordDefect, today: date, now: datetime) -> p.DefectView:
    require_editor(cmd.actor)
    property_id = property_id_in_org(session, cmd.actor.organization_id, cmd.property_id)
    found_on = cmd.found_on or today
    problem = rules.found_on_problem(found_on, today)
    if problem:
        raise InvalidInput(problem, {"errors": [{"field": "found_on", "message": problem}]})
    defect = Defect(
        organization_id=cmd.actor.organization_id,
        property_id=property_id,
        title=cmd.title,
        description=cmd.description,
        severity=cmd.severity.value,
        status=p.DefectStatus.OPEN.value,
        found_on=found_on,
        resolved_at=None,
        created_by_staff_member_id=cmd.actor.staff_member_id,
        created_at=now,
        updated_by_staff_member_id=cmd.actor.staff_member_id,
        updated_at=now,
    )
    session.add(defect)
    session.commit()
    return defect_view(defect)


def set_defect_status(session: Session, cmd: p.SetDefectStatus, now: datetime) -> p.DefectView:
    """Resolve or reopen a defect (`rules.status_change_problem`), judged under the
    defect's row lock so two changes at once are judged one after the other."""
    require_editor(cmd.actor)
    defect = session.scalars(
        select(Defect)
        .where(Defect.id == cmd.defect_id, Defect.organization_id == cmd.actor.organization_id)
        .with_for_update()
    ).first()
    if defect is None:
        raise NotFound("no such defect")
    current = p.DefectStatus(defect.status)
    problem = rules.status_change_problem(current, cmd.status)
    if problem:
        session.rollback()
        raise Conflict(
            problem[0].upper() + problem[1:] + ".",
            {"status": current.value, "allowed": [s.value for s in rules.allowed_moves(current)]},
        )
    defect.status = cmd.status.value
    defect.resolved_at = now if cmd.status == p.DefectStatus.RESOLVED else None
    defect.updated_at = now
    defect.updated_by_staff_member_id = cmd.actor.staff_member_id
    session.commit()
    return defect_view(defect)


def list_property_defects(session: Session, q: p.ListPropertyDefects) -> p.DefectList:
    property_id = property_id_in_org(session, q.organization_id, q.property_id)
    query = select(Defect).where(
        Defect.property_id == property_id, Defect.organization_id == q.organization_id
    )
    if q.status is not None:
        query = query.where(Defect.status == q.status.value)
    open_first = case((Defect.status == p.DefectStatus.OPEN.value, 0), else_=1)
    rows = session.scalars(
        query.order_by(open_first, Defect.found_on.desc(), Defect.created_at.desc(), Defect.id)
    ).all()
    return p.DefectList(items=[defect_view(row) for row in rows])


# --- for a customer's read (portfolio.py has already checked the property is theirs) -----------


def open_defect_counts(session: Session, property_ids: list[UUID]) -> dict[UUID, int]:
    if not property_ids:
        return {}
    rows = session.execute(
        select(Defect.property_id, func.count())
        .where(Defect.property_id.in_(property_ids), Defect.status == p.DefectStatus.OPEN.value)
        .group_by(Defect.property_id)
    ).all()
    return {property_id: count for property_id, count in rows}


def customer_defects(
    session: Session, property_id: UUID
) -> tuple[list[p.CustomerDefect], list[p.CustomerDefect]]:
    """The property's open defects (newest found first) and its resolved ones (latest resolved
    first)."""
    rows = session.scalars(
        select(Defect)
        .where(Defect.property_id == property_id)
        .order_by(Defect.found_on.desc(), Defect.created_at.desc(), Defect.id)
    ).all()
    open_ones = [customer_defect(row) for row in rows if row.status == p.DefectStatus.OPEN.value]
    resolved = sorted(
        (row for row in rows if row.status == p.DefectStatus.RESOLVED.value),
        key=lambda row: (row.resolved_at, row.id),
        reverse=True,
    )
    return open_ones, [customer_defect(row) for row in resolved]
