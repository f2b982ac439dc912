"""Use cases of client groups (Uptick): groups of a customer's properties, inside parent groups, and
the customer contacts authorised on each (the group's authorised accounts).

An authorised account sees the properties of the group and of every group below it (properties
themselves belong to the properties service, which asks `get_contact_client_groups`). Every query is
scoped by the organization: another organization's group or contact is NotFound. Changes to where
groups sit are judged under one lock per organization, so two moves at once cannot make a cycle.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import ClientGroup, ClientGroupMember, Contact
from contacts.staff import contact_editor
from shared.contracts import contacts as c
from shared.contracts.common import ContactType
from shared.contracts.errors import Conflict, InvalidInput, NotFound


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, {"errors": [{"field": field, "message": message}]})


def _ref(group: ClientGroup) -> c.ClientGroupRef:
    return c.ClientGroupRef(id=group.id, name=group.name, parent_id=group.parent_id)


def _lock_tree(session: Session, organization_id: UUID) -> None:
    """One organization's groups change place one change at a time (until the commit)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"client-groups:{organization_id}"},
    )


def _groups_of(session: Session, organization_id: UUID) -> dict[UUID, ClientGroup]:
    rows = session.scalars(select(ClientGroup).where(ClientGroup.organization_id == organization_id))
    return {group.id: group for group in rows}


def _group_in_org(
    session: Session, organization_id: UUID, group_id: UUID, field: str | None = None
) -> ClientGroup:
    group = session.scalars(
        select(ClientGroup).where(ClientGroup.id == group_id, ClientGroup.organization_id == organization_id)
    ).first()
    if group is None:
        details = {"field": field, "client_group_id": str(group_id)} if field else None
        raise NotFound("no such client group in this organization", details)
    return group


def _group_view(session: Session, group: ClientGroup) -> c.ClientGroupView:
    groups = _groups_of(session, group.organization_id)
    parents = {group_id: row.parent_id for group_id, row in groups.items()}
    above = domain.group_chain(parents, group.id)[1:]
    children = sorted(
        (row for row in groups.values() if row.parent_id == group.id),
        key=lambda row: (row.name.lower(), row.id),
    )
    members = session.execute(
        select(ClientGroupMember, Contact)
        .join(Contact, Contact.id == ClientGroupMember.contact_id)
        .where(ClientGroupMember.client_group_id == group.id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
    ).all()
    return c.ClientGroupView(
        id=group.id,
        organization_id=group.organization_id,
        name=group.name,
        parent=_ref(groups[group.parent_id]) if group.parent_id else None,
        ancestors=[_ref(groups[group_id]) for group_id in reversed(above)],
        children=[_ref(child) for child in children],
        members=[
            c.ClientGroupMemberView(
                contact_id=contact.id,
                display_name=domain.display_name(contact.first_name, contact.last_name),
                email=contact.email,
                archived=contact.archived_at is not None,
                added_at=member.added_at,
            )
            for member, contact in members
        ],
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


def _refuse_parent(session: Session, organization_id: UUID, group_id: UUID | None, parent_id: UUID) -> None:
    """NotFound for a parent that is not a group of the organization; Conflict for a cycle or a
    tree too deep. Call under `_lock_tree`."""
    _group_in_org(session, organization_id, parent_id, field="parent_id")
    parents = {gid: row.parent_id for gid, row in _groups_of(session, organization_id).items()}
    problem = domain.parent_problem(parents, group_id, parent_id, c.MAX_CLIENT_GROUP_DEPTH)
    if problem:
        raise Conflict(problem[0].upper() + problem[1:] + ".", {"field": "parent_id"})


def _commit_name(session: Session, name: str) -> None:
    """Commit; a group of that name made meanwhile (the unique index) is the same clear error."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _duplicate_name(name) from None


def _duplicate_name(name: str) -> InvalidInput:
    return _invalid("name", f"this organization already has a client group named {name!r}")


def _refuse_duplicate_name(
    session: Session, organization_id: UUID, name: str, except_id: UUID | None
) -> None:
    query = select(ClientGroup.id).where(
        ClientGroup.organization_id == organization_id, func.lower(ClientGroup.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(ClientGroup.id != except_id)
    if session.scalar(query) is not None:
        raise _duplicate_name(name)


def create_client_group(session: Session, cmd: c.CreateClientGroup, now: datetime) -> c.ClientGroupView:
    contact_editor(session, cmd.actor)
    org_id = cmd.actor.organization_id
    _refuse_duplicate_name(session, org_id, cmd.name, None)
    if cmd.parent_id is not None:
        _lock_tree(session, org_id)
        _refuse_parent(session, org_id, None, cmd.parent_id)
    group = ClientGroup(
        organization_id=org_id, name=cmd.name, parent_id=cmd.parent_id, created_at=now, updated_at=now
    )
    session.add(group)
    _commit_name(session, cmd.name)
    return _group_view(session, group)


def update_client_group(session: Session, cmd: c.UpdateClientGroup, now: datetime) -> c.ClientGroupView:
    """Rename the group, or move it under another group of the organization (or to the top), taking
    the groups below it along."""
    contact_editor(session, cmd.actor)
    org_id = cmd.actor.organization_id
    changes = cmd.changes.model_dump(exclude_unset=True, exclude={"schema_version"})
    if "parent_id" in changes:
        _lock_tree(session, org_id)
    group = _group_in_org(session, org_id, cmd.client_group_id)
    if "name" in changes and changes["name"] != group.name:
        _refuse_duplicate_name(session, org_id, changes["name"], group.id)
        group.name = changes["name"]
        group.updated_at = now
    if "parent_id" in changes and changes["parent_id"] != group.parent_id:
        if changes["parent_id"] is not None:
            _refuse_parent(session, org_id, group.id, changes["parent_id"])
        group.parent_id = changes["parent_id"]
        group.updated_at = now
    _commit_name(session, group.name)
    return _group_view(session, group)


def get_client_group(session: Session, q: c.GetClientGroup) -> c.ClientGroupView:
    return _group_view(session, _group_in_org(session, q.organization_id, q.client_group_id))


def list_client_groups(session: Session, q: c.ListClientGroups) -> c.ClientGroupPage:
    """The organization's groups by name, each with how many accounts and child groups it has."""
    members = (
        select(func.count())
        .where(ClientGroupMember.client_group_id == ClientGroup.id)
        .correlate(ClientGroup)
        .scalar_subquery()
    )
    child = ClientGroup.__table__.alias("child")
    children = (
        select(func.count())
        .where(child.c.parent_id == ClientGroup.id)
        .correlate(ClientGroup)
        .scalar_subquery()
    )
    query = select(ClientGroup, members, children).where(ClientGroup.organization_id == q.organization_id)
    total = session.scalar(
        select(func.count()).select_from(ClientGroup).where(ClientGroup.organization_id == q.organization_id)
    )
    rows = session.execute(
        query.order_by(func.lower(ClientGroup.name), ClientGroup.id).limit(q.limit).offset(q.offset)
    ).all()
    return c.ClientGroupPage(
        items=[
            c.ClientGroupSummary(
                id=group.id,
                organization_id=group.organization_id,
                name=group.name,
                parent_id=group.parent_id,
                member_count=member_count,
                child_count=child_count,
            )
            for group, member_count, child_count in rows
        ],
        total=total or 0,
        limit=q.limit,
        offset=q.offset,
    )


def add_client_group_member(session: Session, cmd: c.ClientGroupMembership) -> c.ClientGroupView:
    """Authorise a customer contact of the organization on the group (again: no change)."""
    contact_editor(session, cmd.actor)
    org_id = cmd.actor.organization_id
    group = _group_in_org(session, org_id, cmd.client_group_id)
    contact = session.scalars(
        select(Contact).where(Contact.id == cmd.contact_id, Contact.organization_id == org_id)
    ).first()
    if contact is None:
        raise NotFound(
            f"no contact {cmd.contact_id} in this organization", {"contact_id": str(cmd.contact_id)}
        )
    name = domain.display_name(contact.first_name, contact.last_name)
    if contact.archived_at is not None:
        raise _invalid("contact_id", f"{name} is archived and cannot be an authorised account")
    if contact.type != ContactType.CUSTOMER.value:
        raise _invalid(
            "contact_id",
            f"{name} is a {contact.type}; only a customer can be an authorised account of a group",
        )
    session.execute(
        pg_insert(ClientGroupMember)
        .values(
            client_group_id=group.id,
            contact_id=contact.id,
            added_by_staff_member_id=cmd.actor.staff_member_id,
        )
        .on_conflict_do_nothing()  # added already, or by a concurrent worker: the same outcome
    )
    session.commit()
    return _group_view(session, group)


def remove_client_group_member(session: Session, cmd: c.ClientGroupMembership) -> c.ClientGroupView:
    """The contact is no longer authorised on the group (not one of its accounts: no change). Their
    portal access itself is not ended here: staff revoke it, as for anyone."""
    contact_editor(session, cmd.actor)
    group = _group_in_org(session, cmd.actor.organization_id, cmd.client_group_id)
    row = session.get(ClientGroupMember, (group.id, cmd.contact_id))
    if row is not None:
        session.delete(row)
        session.commit()
    return _group_view(session, group)


def client_group_ids_of(
    session: Session, organization_id: UUID, contact_ids: list[UUID]
) -> dict[UUID, list[UUID]]:
    """Contact id -> the organization's groups it is authorised on (contacts on none are absent)."""
    rows = session.execute(
        select(ClientGroupMember.contact_id, ClientGroupMember.client_group_id)
        .join(ClientGroup, ClientGroup.id == ClientGroupMember.client_group_id)
        .where(ClientGroupMember.contact_id.in_(contact_ids), ClientGroup.organization_id == organization_id)
        .order_by(ClientGroupMember.client_group_id)
    ).all()
    found: dict[UUID, list[UUID]] = {}
    for contact_id, group_id in rows:
        found.setdefault(contact_id, []).append(group_id)
    return found


def get_contact_client_groups(session: Session, q: c.GetContactClientGroups) -> c.ContactClientGroups:
    """The contact's portfolios: each group they are authorised on with every group below it."""
    authorised = client_group_ids_of(session, q.organization_id, [q.contact_id]).get(q.contact_id, [])
    if not authorised:
        return c.ContactClientGroups(contact_id=q.contact_id, portfolios=[])
    groups = _groups_of(session, q.organization_id)
    children = domain.children_of({group_id: row.parent_id for group_id, row in groups.items()})
    portfolios = [
        c.Portfolio(
            group=_ref(groups[group_id]),
            groups=[_ref(groups[x]) for x in domain.group_and_descendants(children, group_id)],
        )
        for group_id in authorised
    ]
    portfolios.sort(key=lambda portfolio: (portfolio.group.name.lower(), portfolio.group.id))
    return c.ContactClientGroups(contact_id=q.contact_id, portfolios=portfolios)
