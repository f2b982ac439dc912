"""Use cases of visibility settings: staff show or hide a subject (viewing feedback) for a contact
type of the organization or of one of its properties, or for one contact, and ask why a contact
sees it or not; `visibility_of` decides it for a read, with no cache (a change holds from the next
read). Its pure rules are `rules/visibility.py` (rules live in `rules/`, one module per sub-domain
named like the use-case module that applies it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from properties.models import Property, VisibilitySetting
from properties.rules import visibility as rules
from properties.scoping import ContactsRpc, require_editor
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import NotFound


def visibility_of(
    session: Session,
    organization_id: UUID,
    subject: p.VisibilitySubject,
    contact_type: ContactType,
    contact_id: UUID,
    prop: Property | None = None,
) -> rules.VisibilityDecision:
    """The organization's setting for the type, the property's for the type (for an item of
    `prop`) and the contact's own, in one query, judged by `rules.decide_visibility`."""
    rows = session.execute(
        select(
            VisibilitySetting.contact_type,
            VisibilitySetting.property_id,
            VisibilitySetting.contact_id,
            VisibilitySetting.visible,
        ).where(
            VisibilitySetting.organization_id == organization_id,
            VisibilitySetting.subject == subject.value,
            (VisibilitySetting.contact_type == contact_type.value)
            | (VisibilitySetting.contact_id == contact_id),
        )
    ).all()
    by_type = next((row.visible for row in rows if row.contact_type and row.property_id is None), None)
    by_contact = next((row.visible for row in rows if row.contact_id is not None), None)
    if prop is None:
        return rules.decide_visibility(subject, contact_type, by_type, by_contact)
    by_property = next((row.visible for row in rows if row.property_id == prop.id), None)
    return rules.decide_visibility(subject, contact_type, by_type, by_contact, by_property, prop.name)


def set_visibility(
    session: Session, contacts: ContactsRpc, cmd: p.SetVisibility, now: datetime
) -> p.VisibilitySettingView:
    """Set a subject shown or hidden for a contact type of the organization or of one of its
    properties, or for one of its contacts (NotFound if it has no such contact or property);
    `visible` None removes the setting."""
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    if cmd.contact_id is not None:
        try:
            contacts.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=cmd.contact_id))
        except NotFound:
            raise NotFound("no such contact", {"contact_id": str(cmd.contact_id)}) from None
        key: list[Any] = [VisibilitySetting.contact_id]
        where = text("contact_id IS NOT NULL")
    elif cmd.property_id is not None:
        prop = session.get(Property, cmd.property_id)
        if prop is None or prop.organization_id != org_id:
            raise NotFound("no such property", {"property_id": str(cmd.property_id)})
        key = [VisibilitySetting.property_id, VisibilitySetting.contact_type]
        where = text("property_id IS NOT NULL")
    else:
        key = [VisibilitySetting.contact_type]
        where = text("contact_type IS NOT NULL AND property_id IS NULL")
    values = {
        "organization_id": org_id,
        "subject": cmd.subject.value,
        "contact_type": cmd.contact_type.value if cmd.contact_type else None,
        "contact_id": cmd.contact_id,
        "property_id": cmd.property_id,
        "visible": cmd.visible,
        "updated_by_staff_member_id": cmd.actor.staff_member_id,
        "updated_at": now,
    }
    if cmd.visible is None:
        session.execute(
            delete(VisibilitySetting).where(
                VisibilitySetting.organization_id == org_id,
                VisibilitySetting.subject == cmd.subject.value,
                VisibilitySetting.contact_id.is_(None)
                if cmd.contact_id is None
                else VisibilitySetting.contact_id == cmd.contact_id,
                VisibilitySetting.contact_type.is_(None)
                if cmd.contact_type is None
                else VisibilitySetting.contact_type == cmd.contact_type.value,
                VisibilitySetting.property_id.is_(None)
                if cmd.property_id is None
                else VisibilitySetting.property_id == cmd.property_id,
            )
        )
    else:
        insert = pg_insert(VisibilitySetting).values(**values)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[VisibilitySetting.organization_id, VisibilitySetting.subject, *key],
                index_where=where,
                set_={
                    "visible": insert.excluded.visible,
                    "updated_by_staff_member_id": insert.excluded.updated_by_staff_member_id,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )
    session.commit()
    return p.VisibilitySettingView(
        organization_id=org_id,
        subject=cmd.subject,
        contact_type=cmd.contact_type,
        contact_id=cmd.contact_id,
        property_id=cmd.property_id,
        visible=cmd.visible,
        updated_at=now,
    )


def list_visibility_settings(session: Session, q: p.ListVisibilitySettings) -> p.VisibilityByType:
    """The organization's setting of a subject for each contact type, beside the default."""
    settings = dict(
        session.execute(
            select(VisibilitySetting.contact_type, VisibilitySetting.visible).where(
                VisibilitySetting.organization_id == q.organization_id,
                VisibilitySetting.subject == q.subject.value,
                VisibilitySetting.contact_type.is_not(None),
                VisibilitySetting.property_id.is_(None),
            )
        ).all()
    )
    items = []
    for contact_type in ContactType:
        default = rules.DEFAULT_VISIBILITY.get((q.subject, contact_type), False)
        setting = settings.get(contact_type.value)
        items.append(
            p.TypeVisibility(
                contact_type=contact_type,
                default=default,
                setting=setting,
                visible=default if setting is None else setting,
            )
        )
    return p.VisibilityByType(subject=q.subject, items=items)


def explain_visibility(
    session: Session, contacts: ContactsRpc, q: p.ExplainVisibility
) -> p.VisibilityExplanation:
    """Why a contact can or cannot see a subject: the chain from the default for their type, through
    the organization's setting (and the property's, when asked about one), to their own."""
    prop = None
    if q.property_id is not None:
        prop = session.get(Property, q.property_id)
        if prop is None or prop.organization_id != q.organization_id:
            raise NotFound("no such property", {"property_id": str(q.property_id)})
    try:
        contact: c.ContactView = contacts.call(
            c.GET_CONTACT, c.GetContact(organization_id=q.organization_id, contact_id=q.contact_id)
        )
    except NotFound:
        raise NotFound("no such contact", {"contact_id": str(q.contact_id)}) from None
    decision = visibility_of(session, q.organization_id, q.subject, contact.type, contact.id, prop)
    return p.VisibilityExplanation(
        contact_id=contact.id,
        contact_type=contact.type,
        subject=q.subject,
        visible=decision.visible,
        chain=decision.chain,
    )
