"""What other services need to judge whether a contact may be given portal access: the contact (or
several), their organization, the staff member asking, and the client groups each contact is
authorised on. Facts only: the judging is theirs."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from contacts.client_groups import client_group_ids_of
from contacts.contact_records import contact_in_org
from contacts.models import Contact, Organization, StaffMember
from contacts.rows import contact_view, organization_view, staff_view
from shared.contracts import contacts as c
from shared.contracts.errors import NotFound


def _organization_and_staff(
    session: Session, organization_id: UUID, staff_member_id: UUID
) -> tuple[c.OrganizationView, c.StaffMemberView | None]:
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("no such organization")
    staff = session.get(StaffMember, staff_member_id)
    in_org = staff is not None and staff.organization_id == organization_id
    return organization_view(org), staff_view(staff) if staff is not None and in_org else None


def get_eligibility_facts(session: Session, q: c.GetEligibilityFacts) -> c.EligibilityFacts:
    contact = contact_in_org(session, q.organization_id, q.contact_id)
    organization, staff = _organization_and_staff(session, q.organization_id, q.staff_member_id)
    return c.EligibilityFacts(
        contact=contact_view(contact),
        organization=organization,
        staff_member=staff,
        client_group_ids=client_group_ids_of(session, q.organization_id, [contact.id]).get(contact.id, []),
    )


def get_eligibility_facts_many(session: Session, q: c.GetEligibilityFactsMany) -> c.EligibilityFactsMany:
    organization, staff = _organization_and_staff(session, q.organization_id, q.staff_member_id)
    contacts = session.scalars(
        select(Contact).where(Contact.organization_id == q.organization_id, Contact.id.in_(q.contact_ids))
    ).all()
    return c.EligibilityFactsMany(
        organization=organization,
        staff_member=staff,
        contacts=[contact_view(x) for x in contacts],
        client_group_ids=client_group_ids_of(session, q.organization_id, [x.id for x in contacts]),
    )
