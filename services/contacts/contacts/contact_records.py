"""Use cases of contacts: creating, changing and archiving them (each with its event in the outbox of
the same transaction), reading and listing them. An email is held by one live contact per
organization: a second is a DuplicateContact naming the first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import Contact, outbox
from contacts.rows import contact_snapshot, contact_view
from contacts.staff import contact_editor
from shared.contracts import contacts as c
from shared.contracts import events as e
from shared.contracts.common import normalize_email
from shared.contracts.errors import DuplicateContact, InvalidInput, NotFound
from shared.outbox import record_event


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
    contact_editor(session, cmd.actor)
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


def contact_in_org(
    session: Session, organization_id: UUID, contact_id: UUID, *, lock: bool = False
) -> Contact:
    """The organization's contact (locked FOR UPDATE if asked); another organization's is NotFound."""
    query = select(Contact).where(Contact.id == contact_id, Contact.organization_id == organization_id)
    if lock:
        query = query.with_for_update()
    contact = session.scalars(query).first()
    if contact is None:
        raise NotFound("no such contact")
    return contact


def update_contact(session: Session, cmd: c.UpdateContact, now: datetime) -> c.ContactView:
    contact_editor(session, cmd.actor)
    org_id = cmd.actor.organization_id
    contact = contact_in_org(session, org_id, cmd.contact_id, lock=True)
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
    contact_editor(session, cmd.actor)
    contact = contact_in_org(session, cmd.actor.organization_id, cmd.contact_id, lock=True)
    if contact.archived_at is None:
        contact.archived_at = now
        contact.updated_at = now
        record_event(
            session, outbox, e.ContactArchived(organization_id=contact.organization_id, contact_id=contact.id)
        )
        session.commit()
    return contact_view(contact)


def get_contact(session: Session, q: c.GetContact) -> c.ContactView:
    return contact_view(contact_in_org(session, q.organization_id, q.contact_id))


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
