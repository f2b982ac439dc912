"""Use cases of staff members (listing, adding), and who may act for an organization: the staff
member behind a command must be active in an active organization, and an editor to change contacts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import Organization, StaffMember
from contacts.rows import staff_view
from shared.contracts import contacts as c
from shared.contracts.common import StaffActor, StaffRole, normalize_email
from shared.contracts.errors import InvalidInput, PasswordRejected, PermissionDenied
from shared.passwords import Passwords, password_problems


def check_password(password: str, email: str) -> None:
    """PasswordRejected, with every problem, for a password a staff member may not have."""
    problems = password_problems(password, email)
    if problems:
        raise PasswordRejected(" ".join(problems), {"errors": problems})


def active_staff_or_none(session: Session, staff: StaffMember | None) -> StaffMember | None:
    """The staff member if they and their organization are active, else None."""
    if staff is None or not staff.active:
        return None
    org = session.get(Organization, staff.organization_id)
    return staff if org is not None and org.active else None


def acting_staff(session: Session, actor: StaffActor) -> StaffMember:
    """The staff member behind a command, who must be active in an active organization."""
    staff = active_staff_or_none(session, session.get(StaffMember, actor.staff_member_id))
    if staff is None or staff.organization_id != actor.organization_id:
        raise PermissionDenied("this staff member cannot act for this organization")
    return staff


def contact_editor(session: Session, actor: StaffActor) -> StaffMember:
    """The staff member behind a command that changes contacts or client groups: their role must
    allow it."""
    staff = acting_staff(session, actor)
    if not domain.can_edit_contacts(StaffRole(staff.role)):
        raise PermissionDenied("your role can read contacts but not change them")
    return staff


def list_staff_members(session: Session, q: c.ListStaffMembers) -> c.StaffMemberPage:
    query = select(StaffMember).where(StaffMember.organization_id == q.organization_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(StaffMember.name, StaffMember.id).limit(q.limit).offset(q.offset))
    items = [staff_view(row) for row in rows]
    return c.StaffMemberPage(items=items, total=total, limit=q.limit, offset=q.offset)


def create_staff_member(
    session: Session, passwords: Passwords, cmd: c.CreateStaffMember
) -> c.StaffMemberView:
    admin = acting_staff(session, cmd.actor)
    if admin.role != StaffRole.ADMIN.value:
        raise PermissionDenied("only an admin can add staff members")
    email_normalized = normalize_email(cmd.email)
    if session.scalars(select(StaffMember).where(StaffMember.email_normalized == email_normalized)).first():
        raise InvalidInput(
            f"{cmd.email} is already a staff member",
            {"errors": [{"field": "email", "message": "already a staff member"}]},
        )
    password_hash = None
    if cmd.password is not None:
        check_password(cmd.password, cmd.email)
        password_hash = passwords.hash(cmd.password)
    staff = StaffMember(
        organization_id=admin.organization_id,
        email=cmd.email,
        email_normalized=email_normalized,
        name=cmd.name,
        role=cmd.role.value,
        can_manage_portal_access=cmd.can_manage_portal_access,
        password_hash=password_hash,
        active=True,
    )
    session.add(staff)
    session.commit()
    return staff_view(staff)
