"""Use cases of the contacts service: one function per command or question.

Each takes the worker's session and what else it needs; each command commits once, with its events
in the outbox of the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import (
    Contact,
    Organization,
    StaffApiToken,
    StaffMember,
    StaffSession,
    login_throttle,
    outbox,
)
from shared import throttle
from shared.contracts import contacts as c
from shared.contracts import events as e
from shared.contracts.common import ContactType, StaffActor, StaffRole
from shared.contracts.errors import (
    DuplicateContact,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    PasswordRejected,
    PermissionDenied,
)
from shared.outbox import record_event
from shared.passwords import Passwords, password_problems
from shared.tokens import digest, new_secret, normalize_email

# --- views ------------------------------------------------------------------------------------


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


# --- organizations and staff ------------------------------------------------------------------


def _check_password(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise PasswordRejected(" ".join(problems), {"errors": problems})


def create_organization(
    session: Session, passwords: Passwords, cmd: c.CreateOrganization
) -> c.OrganizationCreated:
    _check_password(cmd.admin_password, cmd.admin_email)
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


def _principal(session: Session, staff: StaffMember) -> c.StaffPrincipal:
    org = session.get(Organization, staff.organization_id)
    assert org is not None  # a foreign key guarantees it
    return c.StaffPrincipal(staff_member=staff_view(staff), organization=organization_view(org))


def _active_staff_or_none(session: Session, staff: StaffMember | None) -> StaffMember | None:
    if staff is None or not staff.active:
        return None
    org = session.get(Organization, staff.organization_id)
    return staff if org is not None and org.active else None


def authenticate_api_token(session: Session, token: str) -> c.StaffPrincipal:
    row = session.scalars(
        select(StaffApiToken).where(
            StaffApiToken.token_hash == digest(token), StaffApiToken.revoked_at.is_(None)
        )
    ).first()
    staff = _active_staff_or_none(session, session.get(StaffMember, row.staff_member_id) if row else None)
    if staff is None:
        raise InvalidCredentials("the API token is not valid")
    return _principal(session, staff)


def staff_login(
    session: Session, passwords: Passwords, cmd: c.StaffLogin, now: datetime
) -> c.StaffSessionIssued:
    key = digest("staff:" + normalize_email(cmd.email))
    throttle.refuse_while_locked(session, login_throttle, key, now)
    staff = _active_staff_or_none(
        session,
        session.scalars(
            select(StaffMember).where(StaffMember.email_normalized == normalize_email(cmd.email))
        ).first(),
    )
    if staff is not None and staff.password_hash:
        ok = passwords.verify(staff.password_hash, cmd.password)
    else:
        ok = passwords.verify_nothing(cmd.password)
    if not ok or staff is None:
        throttle.record_failure(
            session,
            login_throttle,
            key,
            now,
            max_failures=domain.MAX_FAILED_STAFF_LOGINS,
            lockout=domain.STAFF_LOCKOUT,
        )
        session.commit()
        raise InvalidCredentials("The email or password is not right.")
    throttle.clear(session, login_throttle, key)
    session_id = new_secret()
    session.add(
        StaffSession(
            id_hash=digest(session_id),
            staff_member_id=staff.id,
            expires_at=now + domain.STAFF_SESSION_LIFETIME,
        )
    )
    session.commit()
    return c.StaffSessionIssued(session_id=session_id, principal=_principal(session, staff))


def authenticate_staff_session(session: Session, session_id: str, now: datetime) -> c.StaffPrincipal:
    row = session.get(StaffSession, digest(session_id))
    valid = row is not None and row.ended_at is None and row.expires_at > now
    staff = _active_staff_or_none(
        session, session.get(StaffMember, row.staff_member_id) if row and valid else None
    )
    if staff is None:
        raise InvalidCredentials("the session has ended; sign in again")
    return _principal(session, staff)


def end_staff_session(session: Session, session_id: str, now: datetime) -> None:
    row = session.get(StaffSession, digest(session_id))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.commit()


def acting_staff(session: Session, actor: StaffActor) -> StaffMember:
    """The staff member behind a command, who must be active in an active organization."""
    staff = _active_staff_or_none(session, session.get(StaffMember, actor.staff_member_id))
    if staff is None or staff.organization_id != actor.organization_id:
        raise PermissionDenied("this staff member cannot act for this organization")
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
        _check_password(cmd.password, cmd.email)
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


# --- contacts ---------------------------------------------------------------------------------


def _editor(session: Session, actor: StaffActor) -> StaffMember:
    staff = acting_staff(session, actor)
    if not domain.can_edit_contacts(StaffRole(staff.role)):
        raise PermissionDenied("your role can read contacts but not change them")
    return staff


def _phone(phone: str | None, locale: str, field: str) -> str | None:
    if phone is None:
        return None
    try:
        return domain.normalize_phone(phone, locale)
    except domain.InvalidPhone as exc:
        raise InvalidInput(f"{field}: {exc}", {"errors": [{"field": field, "message": str(exc)}]}) from None


def _refuse_duplicate(
    session: Session, organization_id: UUID, email: str, except_id: UUID | None = None
) -> None:
    query = select(Contact).where(
        Contact.organization_id == organization_id,
        Contact.email_normalized == normalize_email(email),
        Contact.archived_at.is_(None),
    )
    if except_id is not None:
        query = query.where(Contact.id != except_id)
    existing = session.scalars(query).first()
    if existing is not None:
        name = domain.display_name(existing.first_name, existing.last_name)
        raise DuplicateContact(
            f"{name} ({existing.type}) already has the email {existing.email} in this organization",
            {
                "existing_contact_id": str(existing.id),
                "existing_contact_name": name,
                "existing_contact_type": existing.type,
            },
        )


@contextmanager
def _email_race_as_duplicate(
    session: Session, organization_id: UUID, email: str, except_id: UUID | None
) -> Iterator[None]:
    """Around a write that ends in a commit: a concurrent contact that took the email first (the
    unique index refuses the insert, at whichever flush sends it) becomes the same clear error."""
    try:
        yield
    except IntegrityError:
        session.rollback()
        _refuse_duplicate(session, organization_id, email, except_id)
        raise


def create_contact(session: Session, cmd: c.CreateContact, now: datetime) -> c.ContactView:
    _editor(session, cmd.actor)
    new = cmd.contact
    org_id = cmd.actor.organization_id
    phone = _phone(new.phone, new.locale, "contact.phone")
    _refuse_duplicate(session, org_id, new.email)
    contact = Contact(
        organization_id=org_id,
        type=new.type.value,
        first_name=new.first_name,
        last_name=new.last_name,
        email=new.email,
        email_normalized=normalize_email(new.email),
        phone=phone,
        locale=new.locale,
        created_at=now,
        updated_at=now,
    )
    with _email_race_as_duplicate(session, org_id, new.email, None):
        session.add(contact)
        session.flush()
        record_event(
            session, outbox, e.ContactCreated(organization_id=org_id, contact=contact_snapshot(contact))
        )
        session.commit()
    return contact_view(contact)


def _contact_in_org(
    session: Session, organization_id: UUID, contact_id: UUID, *, lock: bool = False
) -> Contact:
    query = select(Contact).where(Contact.id == contact_id, Contact.organization_id == organization_id)
    if lock:
        query = query.with_for_update()
    contact = session.scalars(query).first()
    if contact is None:
        raise NotFound("no such contact")
    return contact


def update_contact(session: Session, cmd: c.UpdateContact, now: datetime) -> c.ContactView:
    _editor(session, cmd.actor)
    org_id = cmd.actor.organization_id
    contact = _contact_in_org(session, org_id, cmd.contact_id, lock=True)
    if contact.archived_at is not None:
        raise InvalidInput("an archived contact cannot be changed")
    changes = cmd.changes.model_dump(exclude_unset=True, exclude={"schema_version"})
    old_email = contact.email
    if "phone" in changes:
        changes["phone"] = _phone(changes["phone"], changes.get("locale") or contact.locale, "changes.phone")
    if "email" in changes:
        _refuse_duplicate(session, org_id, changes["email"], except_id=contact.id)
        contact.email_normalized = normalize_email(changes["email"])
    changed = [name for name, value in changes.items() if getattr(contact, name) != value]
    for name in changed:
        setattr(contact, name, changes[name])
    if not changed:
        return contact_view(contact)
    contact.updated_at = now
    with _email_race_as_duplicate(session, org_id, contact.email, contact.id):
        session.flush()
        record_event(
            session,
            outbox,
            e.ContactUpdated(
                organization_id=org_id, contact=contact_snapshot(contact), changed_fields=changed
            ),
        )
        if "email" in changed and normalize_email(old_email) != contact.email_normalized:
            record_event(
                session,
                outbox,
                e.ContactEmailChanged(
                    organization_id=org_id,
                    contact_id=contact.id,
                    old_email=old_email,
                    new_email=contact.email,
                ),
            )
        session.commit()
    return contact_view(contact)


def archive_contact(session: Session, cmd: c.ArchiveContact, now: datetime) -> c.ContactView:
    _editor(session, cmd.actor)
    contact = _contact_in_org(session, cmd.actor.organization_id, cmd.contact_id, lock=True)
    if contact.archived_at is None:
        contact.archived_at = now
        contact.updated_at = now
        record_event(
            session, outbox, e.ContactArchived(organization_id=contact.organization_id, contact_id=contact.id)
        )
        session.commit()
    return contact_view(contact)


def get_contact(session: Session, q: c.GetContact) -> c.ContactView:
    return contact_view(_contact_in_org(session, q.organization_id, q.contact_id))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_contacts(session: Session, q: c.ListContacts) -> c.ContactPage:
    query = select(Contact).where(Contact.organization_id == q.organization_id)
    if q.type is not None:
        query = query.where(Contact.type == q.type.value)
    if not q.include_archived:
        query = query.where(Contact.archived_at.is_(None))
    if q.search:
        pattern = _like(q.search)
        full_name = Contact.first_name + " " + Contact.last_name
        query = query.where(
            or_(
                full_name.ilike(pattern, escape="\\"),
                Contact.last_name.ilike(pattern, escape="\\"),
                Contact.email.ilike(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Contact.last_name, Contact.first_name, Contact.id).limit(q.limit).offset(q.offset)
    ).all()
    return c.ContactPage(
        items=[contact_view(row) for row in rows], total=total, limit=q.limit, offset=q.offset
    )


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
    from contacts.client_groups import client_group_ids_of  # it builds on this module

    contact = _contact_in_org(session, q.organization_id, q.contact_id)
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
    from contacts.client_groups import client_group_ids_of  # it builds on this module

    return c.EligibilityFactsMany(
        organization=organization,
        staff_member=staff,
        contacts=[contact_view(x) for x in contacts],
        client_group_ids=client_group_ids_of(session, q.organization_id, [x.id for x in contacts]),
    )
