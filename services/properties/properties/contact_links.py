"""What a contact is linked to: the leases they are a party of (with what they owe on each) and the
properties they are linked to, asked by the contacts and invitations services. Every query is
scoped by the caller's organization."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from properties.leases import amounts_owed
from properties.models import Lease, LeaseParty, Property, PropertyContact, Unit
from properties.views import address, lease_link
from shared.contracts import properties as p


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
    owed = amounts_owed(session, {lease.id for _, lease, _, _ in lease_rows}, today)
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
                address=address(prop),
                role=p.PropertyRole(link.role),
                # A removed link is deleted (`unlink_contact`): every link still here is active.
                active=True,
            )
        )
    return [
        p.ContactLinks(contact_id=contact_id, leases=leases[contact_id], properties=properties[contact_id])
        for contact_id in contact_ids
    ]
