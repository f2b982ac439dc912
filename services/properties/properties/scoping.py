"""Where every use case starts: whether the staff member may change anything (`require_editor`),
and finding what a request names only inside the caller's organization (another organization's
object is NotFound, exactly like one that does not exist). Contacts belong to the contacts service,
which is asked whether a contact exists in the organization and what type it is before it is
linked to anything here (`contact_to_link`). Pure rules live in `rules/`, one module per sub-domain
named like the use-case module that applies it."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from properties.models import Lease, LeaseParty, Property, Unit
from properties.rules.estate import contact_type_problem
from shared.contracts import contacts as c
from shared.contracts.common import ContactType, RpcMethod, StaffActor, StaffRole
from shared.contracts.errors import InvalidInput, NotFound, PermissionDenied


class ContactsRpc(Protocol):
    """What use cases need of the contacts service: `shared.messaging.RpcCaller`, or a fake."""

    def call(self, method: RpcMethod[Any, Any], request: BaseModel) -> Any: ...


# The roles that may change data: every role but viewer. An actor without a role (never one the
# gateway sends) may not either: the rule fails closed.
EDITOR_ROLES = frozenset({StaffRole.ADMIN, StaffRole.MANAGER, StaffRole.AGENT})


def require_editor(actor: StaffActor) -> None:
    """PermissionDenied unless the staff member may change data (`EDITOR_ROLES`). Every command a
    staff member sends calls this first, before it reads or writes anything. The gateway refuses a
    viewer too, with the same error; the rule holds here whoever calls."""
    if actor.role not in EDITOR_ROLES:
        raise PermissionDenied("Your role can read but not change anything.")


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, {"errors": [{"field": field, "message": message}]})


def property_in_org(session: Session, organization_id: UUID, property_id: UUID) -> Property:
    prop = session.scalars(
        select(Property)
        .where(Property.id == property_id, Property.organization_id == organization_id)
        .options(selectinload(Property.units), selectinload(Property.contacts))
    ).first()
    if prop is None:
        raise NotFound("no such property")
    return prop


def unit_in_org(session: Session, organization_id: UUID, unit_id: UUID) -> Unit:
    unit = session.scalars(
        select(Unit)
        .join(Property, Property.id == Unit.property_id)
        .where(Unit.id == unit_id, Property.organization_id == organization_id)
    ).first()
    if unit is None:
        raise NotFound("no such unit")
    return unit


def lease_in_org(session: Session, organization_id: UUID, lease_id: UUID) -> Lease:
    lease = session.scalars(
        select(Lease).where(Lease.id == lease_id, Lease.organization_id == organization_id)
    ).first()
    if lease is None:
        raise NotFound("no such lease")
    return lease


def lease_with_place(
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


def contact_to_link(
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
    problem = contact_type_problem(contact.display_name, contact.type, required, as_what)
    return {"field": field, "message": problem} if problem else None


def refuse(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput("; ".join(problem["message"] for problem in problems), {"errors": problems})


def property_id_in_org(session: Session, organization_id: UUID, property_id: UUID) -> UUID:
    found = session.scalar(
        select(Property.id).where(Property.id == property_id, Property.organization_id == organization_id)
    )
    if found is None:
        raise NotFound("no such property")
    return found
