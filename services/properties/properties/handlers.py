"""Use cases of the properties service: one function per command or question.

Each takes the worker's session and what else it needs; each command commits once. Every query is
scoped by the caller's organization: another organization's object is NotFound. Contacts belong to
the contacts service, which is asked over RPC whether a contact exists in the organization and what
type it is before it is linked to anything here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from properties import domain
from properties.models import Lease, LeaseParty, Property, PropertyContact, Unit
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType, RpcMethod
from shared.contracts.errors import InvalidInput, NotFound


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


def end_lease(session: Session, cmd: p.EndLease) -> p.LeaseView:
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
    leases: dict[UUID, list[p.LeaseLink]] = defaultdict(list)
    for contact_id, lease, unit, prop in lease_rows:
        leases[contact_id].append(
            p.LeaseLink(
                lease_id=lease.id,
                unit_id=unit.id,
                unit_name=unit.name,
                property_id=prop.id,
                property_name=prop.name,
                address=_address(prop),
                start_date=lease.start_date,
                end_date=lease.end_date,
                active=domain.lease_is_active(lease.start_date, lease.end_date, today),
            )
        )
    properties: dict[UUID, list[p.PropertyLink]] = defaultdict(list)
    for link, prop in property_rows:
        properties[link.contact_id].append(
            p.PropertyLink(
                property_id=prop.id,
                property_name=prop.name,
                address=_address(prop),
                role=p.PropertyRole(link.role),
                # Links are not ended yet (no unlink); one that can end will say so here.
                active=True,
            )
        )
    return [
        p.ContactLinks(contact_id=contact_id, leases=leases[contact_id], properties=properties[contact_id])
        for contact_id in contact_ids
    ]
