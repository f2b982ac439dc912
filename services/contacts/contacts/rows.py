"""Rows of the contacts service as their contract views and event snapshots, shared by its use cases."""

from __future__ import annotations

from contacts import domain
from contacts.models import Contact, Organization, StaffMember
from shared.contracts import contacts as c
from shared.contracts import events as e
from shared.contracts.common import ContactType, StaffRole


def organization_view(org: Organization) -> c.OrganizationView:
    return c.OrganizationView(id=org.id, name=org.name, active=org.active, created_at=org.created_at)


def staff_view(staff: StaffMember) -> c.StaffMemberView:
    return c.StaffMemberView(
        id=staff.id,
        organization_id=staff.organization_id,
        email=staff.email,
        name=staff.name,
        role=StaffRole(staff.role),
        can_manage_portal_access=domain.can_manage_portal_access(
            StaffRole(staff.role), staff.can_manage_portal_access
        ),
        active=staff.active,
    )


def contact_view(contact: Contact) -> c.ContactView:
    return c.ContactView(
        id=contact.id,
        organization_id=contact.organization_id,
        type=ContactType(contact.type),
        first_name=contact.first_name,
        last_name=contact.last_name,
        display_name=domain.display_name(contact.first_name, contact.last_name),
        email=contact.email,
        phone=contact.phone,
        locale=contact.locale,
        archived_at=contact.archived_at,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def contact_snapshot(contact: Contact) -> e.ContactSnapshot:
    return e.ContactSnapshot(
        id=contact.id,
        organization_id=contact.organization_id,
        type=ContactType(contact.type),
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        phone=contact.phone,
        locale=contact.locale,
        archived=contact.archived_at is not None,
    )
