"""Use cases of the properties service: one function per command or question.

Each takes the worker's session and what else it needs; each command commits once. Every query is
scoped by the caller's organization: another organization's object is NotFound. Contacts belong to
the contacts service, which is asked over RPC whether a contact exists in the organization and what
type it is before it is linked to anything here.

A portal read names the contact the person is (from their verified membership) and finds a lease
only through that contact's lease parties: a lease they are not a party of is NotFound, exactly like
a lease that does not exist. A lease that has ended stays readable by its parties (their statement
and history do not disappear with the tenancy).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel
from sqlalchemy import Integer, case, delete, exists, func, literal, select, text, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from properties import domain, lease_endings, progress
from properties.models import (
    Charge,
    Lease,
    LeaseParty,
    MaintenanceRequest,
    MaintenanceStatusChange,
    Offer,
    Payment,
    Property,
    PropertyContact,
    Unit,
    Viewing,
    VisibilitySetting,
    outbox,
)
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType, RpcMethod
from shared.contracts.errors import Conflict, InvalidInput, NotFound
from shared.contracts.events import MaintenanceRequestUpdated, PropertyContactUnlinked
from shared.outbox import record_event


class ContactsRpc(Protocol):
    """What handlers need of the contacts service: `shared.messaging.RpcCaller`, or a fake."""

    def call(self, method: RpcMethod[Any, Any], request: BaseModel) -> Any: ...


# --- views ------------------------------------------------------------------------------------


def unit_view(unit: Unit) -> p.UnitView:
    return p.UnitView(id=unit.id, property_id=unit.property_id, name=unit.name)


def property_view(prop: Property) -> p.PropertyView:
    return p.PropertyView(
        id=prop.id,
        organization_id=prop.organization_id,
        name=prop.name,
        address_line1=prop.address_line1,
        address_line2=prop.address_line2,
        city=prop.city,
        postcode=prop.postcode,
        country=prop.country,
        units=[unit_view(unit) for unit in prop.units],
        contacts=[
            p.PropertyContactView(
                contact_id=link.contact_id, role=p.PropertyRole(link.role), linked_at=link.linked_at
            )
            for link in prop.contacts
        ],
        created_at=prop.created_at,
        client_group_id=prop.client_group_id,
    )


def lease_view(lease: Lease) -> p.LeaseView:
    return p.LeaseView(
        id=lease.id,
        organization_id=lease.organization_id,
        unit_id=lease.unit_id,
        property_id=lease.unit.property_id,
        start_date=lease.start_date,
        end_date=lease.end_date,
        tenant_contact_ids=[party.contact_id for party in lease.parties],
        created_at=lease.created_at,
    )


def lease_link(
    lease: Lease, unit: Unit, prop: Property, today: date, balance_due: int, overdue: int
) -> p.LeaseLink:
    return p.LeaseLink(
        lease_id=lease.id,
        unit_id=unit.id,
        unit_name=unit.name,
        property_id=prop.id,
        property_name=prop.name,
        address=_address(prop),
        start_date=lease.start_date,
        end_date=lease.end_date,
        active=domain.lease_is_active(lease.start_date, lease.end_date, today),
        balance_due_minor=balance_due,
        overdue_minor=overdue,
    )


def charge_view(charge: Charge) -> p.ChargeView:
    return p.ChargeView(
        id=charge.id,
        lease_id=charge.lease_id,
        description=charge.description,
        amount_minor=charge.amount_minor,
        due_date=charge.due_date,
        created_at=charge.created_at,
    )


def payment_view(payment: Payment) -> p.PaymentView:
    return p.PaymentView(
        id=payment.id,
        lease_id=payment.lease_id,
        amount_minor=payment.amount_minor,
        paid_on=payment.paid_on,
        reference=payment.reference,
        created_at=payment.created_at,
    )


def _address(prop: Property) -> str:
    return domain.one_line_address(prop.address_line1, prop.address_line2, prop.city, prop.postcode)


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, {"errors": [{"field": field, "message": message}]})


# --- lookups, always inside the organization --------------------------------------------------


def _property_in_org(session: Session, organization_id: UUID, property_id: UUID) -> Property:
    prop = session.scalars(
        select(Property)
        .where(Property.id == property_id, Property.organization_id == organization_id)
        .options(selectinload(Property.units), selectinload(Property.contacts))
    ).first()
    if prop is None:
        raise NotFound("no such property")
    return prop


def _unit_in_org(session: Session, organization_id: UUID, unit_id: UUID) -> Unit:
    unit = session.scalars(
        select(Unit)
        .join(Property, Property.id == Unit.property_id)
        .where(Unit.id == unit_id, Property.organization_id == organization_id)
    ).first()
    if unit is None:
        raise NotFound("no such unit")
    return unit


def _lease_in_org(session: Session, organization_id: UUID, lease_id: UUID) -> Lease:
    lease = session.scalars(
        select(Lease).where(Lease.id == lease_id, Lease.organization_id == organization_id)
    ).first()
    if lease is None:
        raise NotFound("no such lease")
    return lease


def _lease_with_place(
    session: Session, organization_id: UUID, lease_id: UUID, party_contact_id: UUID | None
) -> tuple[Lease, Unit, Property]:
    """The lease with its unit and property, inside the organization; with `party_contact_id`, only
    if that contact is a party of the lease. NotFound otherwise, whichever check failed."""
    query = (
        select(Lease, Unit, Property)
        .join(Unit, Unit.id == Lease.unit_id)
        .join(Property, Property.id == Unit.property_id)
        .where(
            Lease.id == lease_id,
            Lease.organization_id == organization_id,
            Property.organization_id == organization_id,
        )
    )
    if party_contact_id is not None:
        query = query.where(
            exists().where(LeaseParty.lease_id == Lease.id, LeaseParty.contact_id == party_contact_id)
        )
    row = session.execute(query).first()
    if row is None:
        raise NotFound("no such lease")
    lease, unit, prop = row
    return lease, unit, prop


def _contact_to_link(
    contacts: ContactsRpc,
    organization_id: UUID,
    contact_id: UUID,
    field: str,
    required: ContactType,
    as_what: str,
) -> dict[str, str] | None:
    """Ask the contacts service about a contact about to be linked. NotFound if the organization has
    no such contact; otherwise the problem with linking it (wrong type, archived), or None."""
    try:
        contact: c.ContactView = contacts.call(
            c.GET_CONTACT, c.GetContact(organization_id=organization_id, contact_id=contact_id)
        )
    except NotFound:
        raise NotFound(
            f"no contact {contact_id} in this organization", {"contact_id": str(contact_id)}
        ) from None
    if contact.archived_at is not None:
        return {"field": field, "message": f"{contact.display_name} is archived and cannot be {as_what}"}
    problem = domain.contact_type_problem(contact.display_name, contact.type, required, as_what)
    return {"field": field, "message": problem} if problem else None


def _refuse(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput("; ".join(problem["message"] for problem in problems), {"errors": problems})


# --- properties and units ---------------------------------------------------------------------


def create_property(session: Session, cmd: p.CreateProperty) -> p.PropertyView:
    new = cmd.property
    prop = Property(
        organization_id=cmd.actor.organization_id,
        name=new.name,
        address_line1=new.address_line1,
        address_line2=new.address_line2,
        city=new.city,
        postcode=new.postcode,
        country=new.country,
        units=[],
        contacts=[],
    )
    session.add(prop)
    session.commit()
    return property_view(prop)


def _duplicate_unit(name: str) -> InvalidInput:
    return _invalid("name", f"this property already has a unit named {name!r}")


def add_unit(session: Session, cmd: p.AddUnit) -> p.UnitView:
    prop = _property_in_org(session, cmd.actor.organization_id, cmd.property_id)
    key = domain.unit_name_key(cmd.name)
    existing = next((unit for unit in prop.units if unit.name_key == key), None)
    if existing is not None:
        raise _duplicate_unit(existing.name)
    unit = Unit(property_id=prop.id, name=cmd.name, name_key=key)
    session.add(unit)
    try:
        session.commit()
    except IntegrityError:
        # Another worker added a unit of that name since we looked.
        session.rollback()
        raise _duplicate_unit(cmd.name) from None
    return unit_view(unit)


def link_contact(session: Session, contacts: ContactsRpc, cmd: p.LinkContact) -> p.PropertyView:
    org_id = cmd.actor.organization_id
    prop = _property_in_org(session, org_id, cmd.property_id)
    already = any(link.contact_id == cmd.contact_id and link.role == cmd.role.value for link in prop.contacts)
    if already:
        return property_view(prop)
    problem = _contact_to_link(
        contacts,
        org_id,
        cmd.contact_id,
        "contact_id",
        domain.CONTACT_TYPE_FOR_ROLE[cmd.role],
        f"linked as {cmd.role.value}",
    )
    _refuse([problem] if problem else [])
    session.execute(
        pg_insert(PropertyContact)
        .values(property_id=prop.id, contact_id=cmd.contact_id, role=cmd.role.value)
        .on_conflict_do_nothing()  # linked by a concurrent worker: the same outcome
    )
    session.commit()
    session.expire(prop, ["contacts"])
    return property_view(prop)


def unlink_contact(session: Session, cmd: p.UnlinkContact) -> p.PropertyView:
    """Remove the contact's link to the property, announced (`property_contact_unlinked`) in the
    same transaction. NotFound if the contact is not linked to it (removed already, never linked,
    or another organization's), like a property that is not there."""
    org_id = cmd.actor.organization_id
    prop = _property_in_org(session, org_id, cmd.property_id)
    removed = session.scalars(
        delete(PropertyContact)
        .where(PropertyContact.property_id == prop.id, PropertyContact.contact_id == cmd.contact_id)
        .returning(PropertyContact.role)
    ).all()
    if not removed:
        session.rollback()
        raise NotFound("this contact is not linked to the property", {"contact_id": str(cmd.contact_id)})
    for role in removed:
        record_event(
            session,
            outbox,
            PropertyContactUnlinked(
                organization_id=org_id, property_id=prop.id, contact_id=cmd.contact_id, role=role
            ),
        )
    session.commit()
    session.expire(prop, ["contacts"])
    return property_view(prop)


def get_property(session: Session, q: p.GetProperty) -> p.PropertyView:
    return property_view(_property_in_org(session, q.organization_id, q.property_id))


def list_properties(session: Session, q: p.ListProperties) -> p.PropertyPage:
    query = select(Property).where(Property.organization_id == q.organization_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Property.units), selectinload(Property.contacts))
        .order_by(Property.name, Property.id)
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    return p.PropertyPage(
        items=[property_view(row) for row in rows], total=total, limit=q.limit, offset=q.offset
    )


# --- leases -----------------------------------------------------------------------------------


def create_lease(session: Session, contacts: ContactsRpc, cmd: p.CreateLease) -> p.LeaseView:
    org_id = cmd.actor.organization_id
    unit = _unit_in_org(session, org_id, cmd.unit_id)
    problems = []
    for i, contact_id in enumerate(cmd.tenant_contact_ids):
        field = f"tenant_contact_ids.{i}"
        problem = _contact_to_link(
            contacts, org_id, contact_id, field, domain.LEASE_TENANT_TYPE, "a lease tenant"
        )
        if problem:
            problems.append(problem)
    _refuse(problems)
    lease = Lease(
        organization_id=org_id,
        unit=unit,
        start_date=cmd.start_date,
        end_date=cmd.end_date,
        parties=[LeaseParty(contact_id=contact_id) for contact_id in sorted(cmd.tenant_contact_ids)],
    )
    session.add(lease)
    session.commit()
    return lease_view(lease)


def end_lease(session: Session, cmd: p.EndLease, today: date) -> p.LeaseView:
    """Set the lease's last day. One that has already passed ends the lease now, announced in the
    same transaction (`lease_ended`); a later one is announced by the timer once it has passed."""
    org_id = cmd.actor.organization_id
    lease = session.scalars(
        select(Lease)
        .where(Lease.id == cmd.lease_id, Lease.organization_id == org_id)
        .options(selectinload(Lease.parties), selectinload(Lease.unit))
        .with_for_update(of=Lease)
    ).first()
    if lease is None:
        raise NotFound("no such lease")
    problem = domain.end_date_problem(lease.start_date, cmd.end_date)
    if problem:
        raise _invalid("end_date", problem)
    lease.end_date = cmd.end_date
    lease_endings.announce_if_ended(session, lease, today)
    session.commit()
    return lease_view(lease)


# --- what a contact is linked to --------------------------------------------------------------


def get_contact_links(session: Session, q: p.GetContactLinks, today: date) -> p.ContactLinks:
    return contact_links(session, q.organization_id, [q.contact_id], today)[0]


def get_contact_links_many(session: Session, q: p.GetContactLinksMany, today: date) -> p.ContactLinksMany:
    return p.ContactLinksMany(items=contact_links(session, q.organization_id, q.contact_ids, today))


def contact_links(
    session: Session, organization_id: UUID, contact_ids: list[UUID], today: date
) -> list[p.ContactLinks]:
    """What each contact is linked to, in two queries whatever the number of contacts."""
    lease_rows = session.execute(
        select(LeaseParty.contact_id, Lease, Unit, Property)
        .join(Lease, Lease.id == LeaseParty.lease_id)
        .join(Unit, Unit.id == Lease.unit_id)
        .join(Property, Property.id == Unit.property_id)
        .where(
            LeaseParty.contact_id.in_(contact_ids),
            Lease.organization_id == organization_id,
            Property.organization_id == organization_id,
        )
        .order_by(Lease.start_date.desc(), Lease.id)
    ).all()
    property_rows = session.execute(
        select(PropertyContact, Property)
        .join(Property, Property.id == PropertyContact.property_id)
        .where(PropertyContact.contact_id.in_(contact_ids), Property.organization_id == organization_id)
        .order_by(Property.name, Property.id, PropertyContact.role)
    ).all()
    owed = _amounts_owed(session, {lease.id for _, lease, _, _ in lease_rows}, today)
    leases: dict[UUID, list[p.LeaseLink]] = defaultdict(list)
    for contact_id, lease, unit, prop in lease_rows:
        balance, overdue = owed.get(lease.id, (0, 0))
        leases[contact_id].append(lease_link(lease, unit, prop, today, balance, overdue))
    properties: dict[UUID, list[p.PropertyLink]] = defaultdict(list)
    for link, prop in property_rows:
        properties[link.contact_id].append(
            p.PropertyLink(
                property_id=prop.id,
                property_name=prop.name,
                address=_address(prop),
                role=p.PropertyRole(link.role),
                # A removed link is deleted (`unlink_contact`): every link still here is active.
                active=True,
            )
        )
    return [
        p.ContactLinks(contact_id=contact_id, leases=leases[contact_id], properties=properties[contact_id])
        for contact_id in contact_ids
    ]


# --- what a tenant owes -----------------------------------------------------------------------


def _key_reused(what: str) -> Conflict:
    return Conflict(f"This Idempotency-Key was already used for another {what} on this lease.")


def add_charge(session: Session, cmd: p.AddCharge) -> p.ChargeView:
    lease = _lease_in_org(session, cmd.actor.organization_id, cmd.lease_id)
    charge = Charge(
        lease_id=lease.id,
        description=cmd.description,
        amount_minor=cmd.amount_minor,
        due_date=cmd.due_date,
        created_by_staff_member_id=cmd.actor.staff_member_id,
        idempotency_key=cmd.idempotency_key,
    )
    return charge_view(_add_once(session, charge, ("description", "amount_minor", "due_date"), "charge"))


def record_payment(session: Session, cmd: p.RecordPayment, today: date) -> p.PaymentView:
    lease = _lease_in_org(session, cmd.actor.organization_id, cmd.lease_id)
    problem = domain.payment_date_problem(cmd.paid_on, today)
    if problem:
        raise _invalid("paid_on", problem)
    payment = Payment(
        lease_id=lease.id,
        amount_minor=cmd.amount_minor,
        paid_on=cmd.paid_on,
        reference=cmd.reference,
        recorded_by_staff_member_id=cmd.actor.staff_member_id,
        idempotency_key=cmd.idempotency_key,
    )
    return payment_view(_add_once(session, payment, ("amount_minor", "paid_on", "reference"), "payment"))


_Entry = TypeVar("_Entry", Charge, Payment)


def _add_once(session: Session, entry: _Entry, fields: tuple[str, ...], what: str) -> _Entry:
    """Commit a new charge or payment of a lease. With an idempotency key, the entry that key made
    before is answered instead, if it records the same `fields` (else 409); also when the same
    request, at the same moment, wrote it first."""
    model, lease_id, key = type(entry), entry.lease_id, entry.idempotency_key
    wanted = tuple(getattr(entry, name) for name in fields)

    def earlier_or_none() -> _Entry | None:
        earlier = session.scalars(
            select(model).where(model.lease_id == lease_id, model.idempotency_key == key)
        ).first()
        if earlier is not None and tuple(getattr(earlier, name) for name in fields) != wanted:
            raise _key_reused(what)
        return earlier

    if key is not None and (seen := earlier_or_none()) is not None:
        return seen
    session.add(entry)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if key is None or (seen := earlier_or_none()) is None:
            raise
        return seen
    return entry


def get_lease_statement(session: Session, q: p.GetLeaseStatement, today: date) -> p.LeaseStatement:
    return _statement(session, *_lease_with_place(session, q.organization_id, q.lease_id, None), today)


def get_party_lease_statement(session: Session, q: p.GetPartyLeaseStatement, today: date) -> p.LeaseStatement:
    place = _lease_with_place(session, q.organization_id, q.lease_id, q.contact_id)
    return _statement(session, *place, today)


def _statement(session: Session, lease: Lease, unit: Unit, prop: Property, today: date) -> p.LeaseStatement:
    charges = [
        charge_view(row) for row in session.scalars(select(Charge).where(Charge.lease_id == lease.id)).all()
    ]
    payments = [
        payment_view(row)
        for row in session.scalars(select(Payment).where(Payment.lease_id == lease.id)).all()
    ]
    statement = domain.statement(charges, payments, today)
    return p.LeaseStatement(
        lease=lease_link(lease, unit, prop, today, statement.balance_due, statement.overdue),
        as_of=today,
        lines=statement.lines,
        total_charged_minor=statement.total_charged,
        total_paid_minor=statement.total_paid,
        balance_due_minor=statement.balance_due,
        overdue_minor=statement.overdue,
    )


def _amounts_owed(session: Session, lease_ids: set[UUID], today: date) -> dict[UUID, tuple[int, int]]:
    """(balance due, overdue) of each lease, in one query whatever the number of leases: the same
    arithmetic as `domain.statement`, on sums."""
    if not lease_ids:
        return {}
    zero = literal(0, Integer)
    entries = union_all(
        select(
            Charge.lease_id.label("lease_id"),
            Charge.amount_minor.label("charged"),
            case((Charge.due_date < today, Charge.amount_minor), else_=0).label("past_due"),
            zero.label("paid"),
        ).where(Charge.lease_id.in_(lease_ids)),
        select(Payment.lease_id, zero, zero, Payment.amount_minor).where(Payment.lease_id.in_(lease_ids)),
    ).subquery()
    rows = session.execute(
        select(
            entries.c.lease_id,
            func.sum(entries.c.charged),
            func.sum(entries.c.past_due),
            func.sum(entries.c.paid),
        ).group_by(entries.c.lease_id)
    ).all()
    return {
        lease_id: (
            domain.balance_due(int(charged), int(paid)),
            domain.overdue_amount(int(past_due), int(paid)),
        )
        for lease_id, charged, past_due, paid in rows
    }


# --- maintenance requests ---------------------------------------------------------------------


def _summary(request: MaintenanceRequest, unit_name: str, property_name: str) -> p.MaintenanceRequestSummary:
    return p.MaintenanceRequestSummary(
        id=request.id,
        organization_id=request.organization_id,
        lease_id=request.lease_id,
        unit_name=unit_name,
        property_name=property_name,
        category=p.MaintenanceCategory(request.category),
        priority=p.MaintenancePriority(request.priority),
        description=request.description,
        status=p.MaintenanceStatus(request.status),
        submitted_by_contact_id=request.submitted_by_contact_id,
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


def _request_view(
    request: MaintenanceRequest, unit_name: str, property_name: str
) -> p.MaintenanceRequestView:
    return p.MaintenanceRequestView(
        **_summary(request, unit_name, property_name).model_dump(),
        history=[
            p.MaintenanceStatusChange(
                previous_status=p.MaintenanceStatus(change.previous_status)
                if change.previous_status
                else None,
                status=p.MaintenanceStatus(change.status),
                note=change.note,
                changed_by_contact_id=change.changed_by_contact_id,
                changed_by_staff_member_id=change.changed_by_staff_member_id,
                changed_at=change.changed_at,
            )
            for change in request.history
        ],
    )


def _requests_in_org(organization_id: UUID) -> Any:
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


def _of_party(query: Any, contact_id: UUID) -> Any:
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
        items=[_summary(request, unit_name, property_name) for request, unit_name, property_name in rows],
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
    lease, unit, prop = _lease_with_place(session, org_id, cmd.lease_id, contact_id)

    def earlier_or_none() -> p.MaintenanceRequestView | None:
        if cmd.idempotency_key is None:
            return None
        query = _requests_in_org(org_id).where(
            MaintenanceRequest.submitted_by_contact_id == contact_id,
            MaintenanceRequest.idempotency_key == cmd.idempotency_key,
        )
        try:
            earlier = _one_request(session, query)
        except NotFound:
            return None
        if earlier[0].lease_id != lease.id:
            raise Conflict("This form was already used for another lease. Reload the page and try again.")
        return _request_view(*earlier)

    if (seen := earlier_or_none()) is not None:
        return seen
    problem = domain.maintenance_lease_problem(lease.start_date, lease.end_date, now.date())
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
    return _request_view(request, unit.name, prop.name)


def update_maintenance_status(
    session: Session, cmd: p.UpdateMaintenanceStatus, now: datetime
) -> p.MaintenanceRequestView:
    """Staff move a request on: forward only, or cancelled (`domain.status_change_problem`), under
    the request's row lock so two changes at once are judged one after the other."""
    org_id = cmd.actor.organization_id
    query = _requests_in_org(org_id).where(MaintenanceRequest.id == cmd.request_id)
    request, unit_name, property_name = _one_request(session, query, lock=True)
    current = p.MaintenanceStatus(request.status)
    problem = domain.status_change_problem(current, cmd.status)
    if problem:
        raise Conflict(
            problem[0].upper() + problem[1:] + ".",
            {"status": current.value, "allowed": [status.value for status in domain.next_statuses(current)]},
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
    return _request_view(request, unit_name, property_name)


def list_maintenance_requests(session: Session, q: p.ListMaintenanceRequests) -> p.MaintenanceRequestPage:
    query = _requests_in_org(q.organization_id)
    if q.lease_id is not None:
        query = query.where(MaintenanceRequest.lease_id == q.lease_id)
    if q.status is not None:
        query = query.where(MaintenanceRequest.status == q.status.value)
    return _page(session, query, q.limit, q.offset)


def get_maintenance_request(session: Session, q: p.GetMaintenanceRequest) -> p.MaintenanceRequestView:
    query = _requests_in_org(q.organization_id).where(MaintenanceRequest.id == q.request_id)
    return _request_view(*_one_request(session, query))


def list_party_maintenance_requests(
    session: Session, q: p.ListPartyMaintenanceRequests
) -> p.MaintenanceRequestPage:
    return _page(session, _of_party(_requests_in_org(q.organization_id), q.contact_id), q.limit, q.offset)


def get_party_maintenance_request(
    session: Session, q: p.GetPartyMaintenanceRequest
) -> p.MaintenanceRequestView:
    query = _of_party(_requests_in_org(q.organization_id), q.contact_id).where(
        MaintenanceRequest.id == q.request_id
    )
    return _request_view(*_one_request(session, query))


# --- viewings, viewing feedback and offers ----------------------------------------------------


def viewing_view(viewing: Viewing, feedback_visible: bool = True) -> p.ViewingView:
    """The viewing; without its feedback when the reader may not see feedback."""
    return p.ViewingView(
        id=viewing.id,
        organization_id=viewing.organization_id,
        property_id=viewing.property_id,
        scheduled_at=viewing.scheduled_at,
        applicant_name=viewing.applicant_name,
        status=p.ViewingStatus(viewing.status),
        feedback=viewing.feedback if feedback_visible else None,
        interest_level=p.InterestLevel(viewing.interest_level)
        if feedback_visible and viewing.interest_level
        else None,
        feedback_at=viewing.feedback_at if feedback_visible else None,
        created_at=viewing.created_at,
        applicant_contact_id=viewing.applicant_contact_id,
    )


def offer_view(offer: Offer) -> p.OfferView:
    return p.OfferView(
        id=offer.id,
        organization_id=offer.organization_id,
        property_id=offer.property_id,
        amount_minor=offer.amount_minor,
        offerer_name=offer.offerer_name,
        status=p.OfferStatus(offer.status),
        received_at=offer.received_at,
        updated_at=offer.updated_at,
        offerer_contact_id=offer.offerer_contact_id,
    )


def _property_id_in_org(session: Session, organization_id: UUID, property_id: UUID) -> UUID:
    found = session.scalar(
        select(Property.id).where(Property.id == property_id, Property.organization_id == organization_id)
    )
    if found is None:
        raise NotFound("no such property")
    return found


def _check_applicant(
    contacts: ContactsRpc, organization_id: UUID, contact_id: UUID | None, field: str
) -> None:
    """A viewing's or offer's applicant contact must be an applicant of the organization, not
    archived: NotFound for another organization's (or no) contact, InvalidInput otherwise."""
    if contact_id is None:
        return
    problem = _contact_to_link(
        contacts, organization_id, contact_id, field, ContactType.APPLICANT, f"named as {field.split('.')[0]}"
    )
    _refuse([problem] if problem else [])


def create_viewing(session: Session, contacts: ContactsRpc, cmd: p.CreateViewing) -> p.ViewingView:
    org_id = cmd.actor.organization_id
    property_id = _property_id_in_org(session, org_id, cmd.property_id)
    _check_applicant(contacts, org_id, cmd.viewing.applicant_contact_id, "viewing.applicant_contact_id")
    viewing = Viewing(
        organization_id=org_id,
        property_id=property_id,
        scheduled_at=cmd.viewing.scheduled_at,
        applicant_name=cmd.viewing.applicant_name,
        applicant_contact_id=cmd.viewing.applicant_contact_id,
        status=cmd.viewing.status.value,
        created_by_staff_member_id=cmd.actor.staff_member_id,
    )
    session.add(viewing)
    session.commit()
    return viewing_view(viewing)


def _locked_viewing(session: Session, organization_id: UUID, viewing_id: UUID) -> Viewing:
    viewing = session.scalars(
        select(Viewing)
        .where(Viewing.id == viewing_id, Viewing.organization_id == organization_id)
        .with_for_update()
    ).first()
    if viewing is None:
        raise NotFound("no such viewing")
    return viewing


def update_viewing_status(session: Session, cmd: p.UpdateViewingStatus) -> p.ViewingView:
    """Mark a booked viewing done or cancelled (`domain.viewing_status_problem`), under its row
    lock."""
    viewing = _locked_viewing(session, cmd.actor.organization_id, cmd.viewing_id)
    current = p.ViewingStatus(viewing.status)
    problem = domain.viewing_status_problem(current, cmd.status)
    if problem:
        raise Conflict(problem[0].upper() + problem[1:] + ".", {"status": current.value})
    viewing.status = cmd.status.value
    session.commit()
    return viewing_view(viewing)


def record_viewing_feedback(session: Session, cmd: p.RecordViewingFeedback, now: datetime) -> p.ViewingView:
    """Staff record (or correct) what the applicant said; a booked viewing is then done."""
    viewing = _locked_viewing(session, cmd.actor.organization_id, cmd.viewing_id)
    status = p.ViewingStatus(viewing.status)
    problem = domain.feedback_problem(status)
    if problem:
        raise Conflict(problem[0].upper() + problem[1:] + ".", {"status": status.value})
    viewing.feedback = cmd.feedback
    viewing.interest_level = cmd.interest_level.value if cmd.interest_level else None
    viewing.feedback_at = now
    viewing.feedback_by_staff_member_id = cmd.actor.staff_member_id
    viewing.status = domain.status_after_feedback(status).value
    session.commit()
    return viewing_view(viewing)


def _viewings_of(
    session: Session, property_id: UUID, applicant_contact_id: UUID | None = None
) -> list[Viewing]:
    """The property's viewings, latest first; with `applicant_contact_id`, only that applicant's."""
    query = select(Viewing).where(Viewing.property_id == property_id)
    if applicant_contact_id is not None:
        query = query.where(Viewing.applicant_contact_id == applicant_contact_id)
    return list(session.scalars(query.order_by(Viewing.scheduled_at.desc(), Viewing.id)).all())


def _offers_of(session: Session, property_id: UUID, offerer_contact_id: UUID | None = None) -> list[Offer]:
    """The property's offers, latest first; with `offerer_contact_id`, only that applicant's."""
    query = select(Offer).where(Offer.property_id == property_id)
    if offerer_contact_id is not None:
        query = query.where(Offer.offerer_contact_id == offerer_contact_id)
    return list(session.scalars(query.order_by(Offer.received_at.desc(), Offer.id)).all())


def list_property_viewings(session: Session, q: p.ListPropertyViewings) -> p.ViewingList:
    property_id = _property_id_in_org(session, q.organization_id, q.property_id)
    return p.ViewingList(items=[viewing_view(viewing) for viewing in _viewings_of(session, property_id)])


def create_offer(session: Session, contacts: ContactsRpc, cmd: p.CreateOffer, now: datetime) -> p.OfferView:
    org_id = cmd.actor.organization_id
    property_id = _property_id_in_org(session, org_id, cmd.property_id)
    _check_applicant(contacts, org_id, cmd.offer.offerer_contact_id, "offer.offerer_contact_id")
    offer = Offer(
        organization_id=org_id,
        property_id=property_id,
        amount_minor=cmd.offer.amount_minor,
        offerer_name=cmd.offer.offerer_name,
        offerer_contact_id=cmd.offer.offerer_contact_id,
        status=p.OfferStatus.RECEIVED.value,
        received_at=cmd.offer.received_at or now,
        created_by_staff_member_id=cmd.actor.staff_member_id,
        updated_at=now,
    )
    session.add(offer)
    session.commit()
    return offer_view(offer)


def update_offer_status(session: Session, cmd: p.UpdateOfferStatus, now: datetime) -> p.OfferView:
    """Accept, reject or withdraw an offer (`domain.offer_status_problem`), under its row lock."""
    offer = session.scalars(
        select(Offer)
        .where(Offer.id == cmd.offer_id, Offer.organization_id == cmd.actor.organization_id)
        .with_for_update()
    ).first()
    if offer is None:
        raise NotFound("no such offer")
    current = p.OfferStatus(offer.status)
    problem = domain.offer_status_problem(current, cmd.status)
    if problem:
        raise Conflict(
            problem[0].upper() + problem[1:] + ".",
            {"status": current.value, "allowed": sorted(s.value for s in domain.OFFER_MOVES[current])},
        )
    offer.status = cmd.status.value
    offer.updated_at = now
    session.commit()
    return offer_view(offer)


def list_property_offers(session: Session, q: p.ListPropertyOffers) -> p.OfferList:
    property_id = _property_id_in_org(session, q.organization_id, q.property_id)
    return p.OfferList(items=[offer_view(offer) for offer in _offers_of(session, property_id)])


def get_contact_property_activity(
    session: Session, q: p.GetContactPropertyActivity, today: date
) -> p.PropertyActivity:
    """A landlord's, vendor's or applicant's view of a property they are linked to: NotFound unless
    `q.contact_id` is linked to it in the organization. Viewing feedback is left out unless the
    visibility rules, read now (no caching: a change holds from the next read), show it.

    What each role reads is decided here, not in the page: a landlord and a vendor read every
    viewing and offer and the sale or letting progress; only a landlord reads the tenancies of the
    property's units (unit, dates, state: never a tenant's email or statement); an applicant reads
    only the viewings they booked and the offers they made (their contact named on them), and no
    progress."""
    row = session.execute(
        select(PropertyContact, Property)
        .join(Property, Property.id == PropertyContact.property_id)
        .where(
            PropertyContact.property_id == q.property_id,
            PropertyContact.contact_id == q.contact_id,
            Property.organization_id == q.organization_id,
        )
        .order_by(PropertyContact.role)
    ).first()
    if row is None:
        raise NotFound("no such property")
    link, prop = row
    role = p.PropertyRole(link.role)
    # The contact's type is the one its role needs: `link_contact` refuses any other.
    contact_type = domain.CONTACT_TYPE_FOR_ROLE[role]
    decision = _visibility(
        session, q.organization_id, p.VisibilitySubject.VIEWING_FEEDBACK, contact_type, q.contact_id, prop
    )
    applicant = q.contact_id if role == p.PropertyRole.APPLICANT else None
    return p.PropertyActivity(
        property=p.PropertyLink(
            property_id=prop.id, property_name=prop.name, address=_address(prop), role=role, active=True
        ),
        feedback_visible=decision.visible,
        viewings=[
            viewing_view(viewing, decision.visible) for viewing in _viewings_of(session, prop.id, applicant)
        ],
        offers=[offer_view(offer) for offer in _offers_of(session, prop.id, applicant)],
        progress=None if applicant else progress.progress_of(session, prop.id),
        tenancies=progress.tenancies_of(session, q.organization_id, prop.id, today)
        if role == p.PropertyRole.LANDLORD
        else [],
    )


# --- visibility -------------------------------------------------------------------------------


def _visibility(
    session: Session,
    organization_id: UUID,
    subject: p.VisibilitySubject,
    contact_type: ContactType,
    contact_id: UUID,
    prop: Property | None = None,
) -> domain.VisibilityDecision:
    """The organization's setting for the type, the property's for the type (for an item of
    `prop`) and the contact's own, in one query, judged by `domain.decide_visibility`."""
    rows = session.execute(
        select(
            VisibilitySetting.contact_type,
            VisibilitySetting.property_id,
            VisibilitySetting.contact_id,
            VisibilitySetting.visible,
        ).where(
            VisibilitySetting.organization_id == organization_id,
            VisibilitySetting.subject == subject.value,
            (VisibilitySetting.contact_type == contact_type.value)
            | (VisibilitySetting.contact_id == contact_id),
        )
    ).all()
    by_type = next((row.visible for row in rows if row.contact_type and row.property_id is None), None)
    by_contact = next((row.visible for row in rows if row.contact_id is not None), None)
    if prop is None:
        return domain.decide_visibility(subject, contact_type, by_type, by_contact)
    by_property = next((row.visible for row in rows if row.property_id == prop.id), None)
    return domain.decide_visibility(subject, contact_type, by_type, by_contact, by_property, prop.name)


def set_visibility(
    session: Session, contacts: ContactsRpc, cmd: p.SetVisibility, now: datetime
) -> p.VisibilitySettingView:
    """Set a subject shown or hidden for a contact type of the organization or of one of its
    properties, or for one of its contacts (NotFound if it has no such contact or property);
    `visible` None removes the setting."""
    org_id = cmd.actor.organization_id
    if cmd.contact_id is not None:
        try:
            contacts.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=cmd.contact_id))
        except NotFound:
            raise NotFound("no such contact", {"contact_id": str(cmd.contact_id)}) from None
        key: list[Any] = [VisibilitySetting.contact_id]
        where = text("contact_id IS NOT NULL")
    elif cmd.property_id is not None:
        prop = session.get(Property, cmd.property_id)
        if prop is None or prop.organization_id != org_id:
            raise NotFound("no such property", {"property_id": str(cmd.property_id)})
        key = [VisibilitySetting.property_id, VisibilitySetting.contact_type]
        where = text("property_id IS NOT NULL")
    else:
        key = [VisibilitySetting.contact_type]
        where = text("contact_type IS NOT NULL AND property_id IS NULL")
    values = {
        "organization_id": org_id,
        "subject": cmd.subject.value,
        "contact_type": cmd.contact_type.value if cmd.contact_type else None,
        "contact_id": cmd.contact_id,
        "property_id": cmd.property_id,
        "visible": cmd.visible,
        "updated_by_staff_member_id": cmd.actor.staff_member_id,
        "updated_at": now,
    }
    if cmd.visible is None:
        session.execute(
            delete(VisibilitySetting).where(
                VisibilitySetting.organization_id == org_id,
                VisibilitySetting.subject == cmd.subject.value,
                VisibilitySetting.contact_id.is_(None)
                if cmd.contact_id is None
                else VisibilitySetting.contact_id == cmd.contact_id,
                VisibilitySetting.contact_type.is_(None)
                if cmd.contact_type is None
                else VisibilitySetting.contact_type == cmd.contact_type.value,
                VisibilitySetting.property_id.is_(None)
                if cmd.property_id is None
                else VisibilitySetting.property_id == cmd.property_id,
            )
        )
    else:
        insert = pg_insert(VisibilitySetting).values(**values)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[VisibilitySetting.organization_id, VisibilitySetting.subject, *key],
                index_where=where,
                set_={
                    "visible": insert.excluded.visible,
                    "updated_by_staff_member_id": insert.excluded.updated_by_staff_member_id,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )
    session.commit()
    return p.VisibilitySettingView(
        organization_id=org_id,
        subject=cmd.subject,
        contact_type=cmd.contact_type,
        contact_id=cmd.contact_id,
        property_id=cmd.property_id,
        visible=cmd.visible,
        updated_at=now,
    )


def list_visibility_settings(session: Session, q: p.ListVisibilitySettings) -> p.VisibilityByType:
    """The organization's setting of a subject for each contact type, beside the default."""
    settings = dict(
        session.execute(
            select(VisibilitySetting.contact_type, VisibilitySetting.visible).where(
                VisibilitySetting.organization_id == q.organization_id,
                VisibilitySetting.subject == q.subject.value,
                VisibilitySetting.contact_type.is_not(None),
                VisibilitySetting.property_id.is_(None),
            )
        ).all()
    )
    items = []
    for contact_type in ContactType:
        default = domain.DEFAULT_VISIBILITY.get((q.subject, contact_type), False)
        setting = settings.get(contact_type.value)
        items.append(
            p.TypeVisibility(
                contact_type=contact_type,
                default=default,
                setting=setting,
                visible=default if setting is None else setting,
            )
        )
    return p.VisibilityByType(subject=q.subject, items=items)


def explain_visibility(
    session: Session, contacts: ContactsRpc, q: p.ExplainVisibility
) -> p.VisibilityExplanation:
    """Why a contact can or cannot see a subject: the chain from the default for their type, through
    the organization's setting (and the property's, when asked about one), to their own."""
    prop = None
    if q.property_id is not None:
        prop = session.get(Property, q.property_id)
        if prop is None or prop.organization_id != q.organization_id:
            raise NotFound("no such property", {"property_id": str(q.property_id)})
    try:
        contact: c.ContactView = contacts.call(
            c.GET_CONTACT, c.GetContact(organization_id=q.organization_id, contact_id=q.contact_id)
        )
    except NotFound:
        raise NotFound("no such contact", {"contact_id": str(q.contact_id)}) from None
    decision = _visibility(session, q.organization_id, q.subject, contact.type, contact.id, prop)
    return p.VisibilityExplanation(
        contact_id=contact.id,
        contact_type=contact.type,
        subject=q.subject,
        visible=decision.visible,
        chain=decision.chain,
    )
