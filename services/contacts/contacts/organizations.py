"""Use cases of organizations: a new one with its first admin (and the admin's API token), and
reading one."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import Organization, StaffApiToken, StaffMember
from contacts.rows import organization_view, staff_view
from contacts.staff import check_password
from shared.contracts import contacts as c
from shared.contracts.common import StaffRole, normalize_email
from shared.contracts.errors import InvalidInput, NotFound
from shared.passwords import Passwords
from shared.tokens import digest


def create_organization(
    session: Session, passwords: Passwords, cmd: c.CreateOrganization
) -> c.OrganizationCreated:
    check_password(cmd.admin_password, cmd.admin_email)
    email_normalized = normalize_email(cmd.admin_email)
    if session.scalars(select(StaffMember).where(StaffMember.email_normalized == email_normalized)).first():
        raise InvalidInput(
            f"{cmd.admin_email} is already a staff member of an organization",
            {"errors": [{"field": "admin_email", "message": "already a staff member"}]},
        )
    password_hash = passwords.hash(cmd.admin_password)
    org = Organization(name=cmd.name, active=True)
    session.add(org)
    session.flush()
    admin = StaffMember(
        organization_id=org.id,
        email=cmd.admin_email,
        email_normalized=email_normalized,
        name=cmd.admin_name,
        role=StaffRole.ADMIN.value,
        can_manage_portal_access=True,
        password_hash=password_hash,
        active=True,
    )
    session.add(admin)
    session.flush()
    token = domain.new_api_token()
    session.add(StaffApiToken(staff_member_id=admin.id, token_hash=digest(token)))
    session.commit()
    return c.OrganizationCreated(
        organization=organization_view(org), admin=staff_view(admin), api_token=token
    )


def get_organization(session: Session, organization_id: UUID) -> c.OrganizationView:
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("no such organization")
    return organization_view(org)
