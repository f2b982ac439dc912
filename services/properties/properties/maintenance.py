"""Use cases of maintenance requests: a tenant makes one on a current lease they are a party of;
staff move it on; both read them, a tenant only those on their leases (any other is NotFound, like
one that does not exist). Every change is announced (`maintenance_request_updated`) in the same
transaction. Photos are `documents.py`'s. Its pure rules are `rules/maintenance.py` (rules live in
`rules/`, one module per sub-domain named like the use-case module that applies it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from properties.models import (
    Lease,
    LeaseParty,
    MaintenanceRequest,
    MaintenanceStatusChange,
    Property,
    Unit,
    outbox,
)
from properties.rules import maintenance as rules
from properties.scoping import lease_with_place, require_editor
from properties.views import maintenance_request_view, maintenance_summary
from shared.contracts import properties as p
from shared.contracts.errors import Conflict, NotFound
from shared.contracts.events import MaintenanceRequestUpdated
from shared.outbox import record_event


def requests_in_org(organization_id: UUID) -> Any:
    """Requests of the organization with the names of their unit and property."""
    return (
        select(MaintenanceRequest, Unit.name, Property.name)
        .join(Lease, Lease.id == MaintenanceRequest.lease_id)
        .join(Unit, Unit.id == Lease.unit_id)
        .join(Property, Property.id == Unit.property_id)
        .where(
            MaintenanceRequest.organization_id == organization_id,
            Lease.organization_id == organization_id,
            Property.organization_id == organization_id,
        )
    )


def of_party(query: Any, contact_id: UUID) -> Any:
    """Only requests on a lease `contact_id` is a party of."""
    return query.where(
        exists().where(
            LeaseParty.lease_id == MaintenanceRequest.lease_id, LeaseParty.contact_id == contact_id
        )
    )


def _one_request(session: Session, query: Any, lock: bool = False) -> tuple[MaintenanceRequest, str, str]:
    query = query.options(selectinload(MaintenanceRequest.history))
    if lock:
        query = query.with_for_update(of=MaintenanceRequest)
    row = session.execute(query).first()
    if row is None:
        raise NotFound("no such maintenance request")
    request, unit_name, property_name = row
    return request, unit_name, property_name


def _page(session: Session, query: Any, limit: int, offset: int) -> p.MaintenanceRequestPage:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(MaintenanceRequest.created_at.desc(), MaintenanceRequest.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return p.MaintenanceRequestPage(
        items=[
            maintenance_summary(request, unit_name, property_name)
            for request, unit_name, property_name in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


def _announce(
    session: Session,
    request: MaintenanceRequest,
    lease: Lease,
    unit_name: str,
    property_name: str,
    change: MaintenanceStatusChange,
) -> None:
    record_event(
        session,
        outbox,
        MaintenanceRequestUpdated(
            organization_id=request.organization_id,
            request_id=request.id,
            lease_id=request.lease_id,
            unit_name=unit_name,
            property_name=property_name,
            tenant_contact_ids=[party.contact_id for party in lease.parties],
            submitted_by_contact_id=request.submitted_by_contact_id,
            category=request.category,
            priority=request.priority,
            previous_status=change.previous_status,
            status=change.status,
            note=change.note,
            changed_by_staff_member_id=change.changed_by_staff_member_id,
            occurred_at=change.changed_at,
        ),
    )


def create_maintenance_request(
    session: Session, cmd: p.CreateMaintenanceRequest, now: datetime
) -> p.MaintenanceRequestView:
    """A tenant's new request on a current lease they are a party of; it starts submitted, with
    its submission as the first step of its history, announced in the same transaction."""
    org_id, contact_id = cmd.organization_id, cmd.contact_id
    lease, unit, prop = lease_with_place(session, org_id, cmd.lease_id, contact_id)

    def earlier_or_none() -> p.MaintenanceRequestView | None:
        if cmd.idempotency_key is None:
            return None
        query = requests_in_org(org_id).where(
            MaintenanceRequest.submitted_by_contact_id == contact_id,
            MaintenanceRequest.idempotency_key == cmd.idempotency_key,
        )
        try:
            earlier = _one_request(session, query)
        except NotFound:
            return None
        if earlier[0].lease_id != lease.id:
            raise Conflict("This form was already used for another lease. Reload the page and try again.")
        return maintenance_request_view(*earlier)

    if (seen := earlier_or_none()) is not None:
        return seen
    problem = rules.maintenance_lease_problem(lease.start_date, lease.end_date, now.date())
    if problem:
        raise Conflict(problem[0].upper() + problem[1:] + ".", {"field": "lease_id"})
    request = MaintenanceRequest(
        id=uuid4(),
        organization_id=org_id,
        lease_id=lease.id,
        submitted_by_contact_id=contact_id,
        category=cmd.category.value,
        priority=cmd.priority.value,
        description=cmd.description,
        status=p.MaintenanceStatus.SUBMITTED.value,
        idempotency_key=cmd.idempotency_key,
        created_at=now,
        updated_at=now,
    )
    change = MaintenanceStatusChange(
        previous_status=None,
        status=request.status,
        note=None,
        changed_by_contact_id=contact_id,
        changed_by_staff_member_id=None,
        changed_at=now,
    )
    request.history = [change]
    session.add(request)
    _announce(session, request, lease, unit.name, prop.name, change)
    try:
        session.commit()
    except IntegrityError:
        # The same form at the same moment: the other request made it.
        session.rollback()
        if (seen := earlier_or_none()) is None:
            raise
        return seen
    return maintenance_request_view(request, unit.name, prop.name)


def update_maintenance_status(
    session: Session, cmd: p.UpdateMaintenanceStatus, now: datetime
) -> p.MaintenanceRequestView:
    """Staff move a request on: forward only, or cancelled (`rules.status_change_problem`), under
    the request's row lock so two changes at once are judged one after the other."""
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    query = requests_in_org(org_id).where(MaintenanceRequest.id == cmd.request_id)
    request, unit_name, property_name = _one_request(session, query, lock=True)
    current = p.MaintenanceStatus(request.status)
    problem = rules.status_change_problem(current, cmd.status)
    if problem:
        raise Conflict(
            problem[0].upper() + problem[1:] + ".",
            {"status": current.value, "allowed": [status.value for status in rules.next_statuses(current)]},
        )
    change = MaintenanceStatusChange(
        request_id=request.id,
        previous_status=current.value,
        status=cmd.status.value,
        note=cmd.note,
        changed_by_contact_id=None,
        changed_by_staff_member_id=cmd.actor.staff_member_id,
        changed_at=now,
    )
    request.status = cmd.status.value
    request.updated_at = now
    session.add(change)
    lease = session.scalars(
        select(Lease).where(Lease.id == request.lease_id).options(selectinload(Lease.parties))
    ).one()
    _announce(session, request, lease, unit_name, property_name, change)
    session.commit()
    session.expire(request, ["history"])
    return maintenance_request_view(request, unit_name, property_name)


def list_maintenance_requests(session: Session, q: p.ListMaintenanceRequests) -> p.MaintenanceRequestPage:
    query = requests_in_org(q.organization_id)
    if q.lease_id is not None:
        query = query.where(MaintenanceRequest.lease_id == q.lease_id)
    if q.status is not None:
        query = query.where(MaintenanceRequest.status == q.status.value)
    return _page(session, query, q.limit, q.offset)


def get_maintenance_request(session: Session, q: p.GetMaintenanceRequest) -> p.MaintenanceRequestView:
    query = requests_in_org(q.organization_id).where(MaintenanceRequest.id == q.request_id)
    return maintenance_request_view(*_one_request(session, query))


def list_party_maintenance_requests(
    session: Session, q: p.ListPartyMaintenanceRequests
) -> p.MaintenanceRequestPage:
    return _page(session, of_party(requests_in_org(q.organization_id), q.contact_id), q.limit, q.offset)


def get_party_maintenance_request(
    session: Session, q: p.GetPartyMaintenanceRequest
) -> p.MaintenanceRequestView:
    query = of_party(requests_in_org(q.organization_id), q.contact_id).where(
        MaintenanceRequest.id == q.request_id
    )
    return maintenance_request_view(*_one_request(session, query))
