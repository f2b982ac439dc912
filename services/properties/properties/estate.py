"""Use cases of properties, their units, and the contacts linked to a property (landlord, vendor,
applicant). Every query is scoped by the caller's organization (`scoping.py`); a contact is asked of
the contacts service before it is linked. Its pure rules are `rules/estate.py` (rules live in
`rules/`, one module per sub-domain named like the use-case module that applies it)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from properties.models import Property, PropertyContact, Unit, outbox
from properties.rules import estate as rules
from properties.scoping import ContactsRpc, contact_to_link, invalid, property_in_org, refuse, require_editor
from properties.views import property_view, unit_view
from shared.contracts import properties as p
from shared.contracts.errors import InvalidInput, NotFound
from shared.contracts.events import PropertyContactUnlinked
from shared.outbox import record_event


def create_property(session: Session, cmd: p.CreateProperty) -> p.PropertyView:
    require_editor(cmd.actor)
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
    return invalid("name", f"this property already has a unit named {name!r}")


def add_unit(session: Session, cmd: p.AddUnit) -> p.UnitView:
    require_editor(cmd.actor)
    prop = property_in_org(session, cmd.actor.organization_id, cmd.property_id)
    key = rules.unit_name_key(cmd.name)
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
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    prop = property_in_org(session, org_id, cmd.property_id)
    already = any(link.contact_id == cmd.contact_id and link.role == cmd.role.value for link in prop.contacts)
    if already:
        return property_view(prop)
    problem = contact_to_link(
        contacts,
        org_id,
        cmd.contact_id,
        "contact_id",
        rules.CONTACT_TYPE_FOR_ROLE[cmd.role],
        f"linked as {cmd.role.value}",
    )
    refuse([problem] if problem else [])
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
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    prop = property_in_org(session, org_id, cmd.property_id)
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
    return property_view(property_in_org(session, q.organization_id, q.property_id))


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
