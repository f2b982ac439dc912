"""The staff console's client group pages (Uptick): the organization's groups as a tree with a form
to make one, and a group's page with its parent, child groups, properties and authorised accounts
(each with their portal status, Send Portal Invitation and View As), with forms to set the parent,
add a property and add an authorised account.

Another organization's group is 404 (the contacts service answers NotFound). A refused change
(a cycle, a tree too deep, a name taken, a contact that is not a customer) shows the page again
with what was wrong, and changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway.deps import ConsoleStaff, Csrf, Rpc, actor, require_editor
from portal_gateway.rendering import render
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import (
    Conflict,
    InvalidInput,
    NotEligible,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from shared.contracts.validation import parse

router = APIRouter(prefix="/console", include_in_schema=False)

FormText = Annotated[str, Form(max_length=1024)]
# What `request_key()` puts in a console form (portal_gateway/rendering.py).
_REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")
NOTICES = {
    "created": "Client group created.",
    "parent": "Parent group saved.",
    "property": "Property added to the group.",
    "member": "Authorised account added. Send them a portal invitation when ready.",
    "invited": "Portal invitation sent.",
}


def _to_login() -> Response:
    return RedirectResponse("/console/login", status_code=303)


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _tree(groups: list[c.ClientGroupSummary]) -> list[tuple[c.ClientGroupSummary, int]]:
    """The groups in tree order (each under its parent, by name), with their depth from 0."""
    children: dict[UUID | None, list[c.ClientGroupSummary]] = {}
    known = {group.id for group in groups}
    for group in groups:
        parent = group.parent_id if group.parent_id in known else None
        children.setdefault(parent, []).append(group)
    ordered: list[tuple[c.ClientGroupSummary, int]] = []

    def walk(parent: UUID | None, depth: int) -> None:
        for group in children.get(parent, []):
            ordered.append((group, depth))
            walk(group.id, depth + 1)

    walk(None, 0)
    return ordered


def _problem_text(exc: Exception) -> str:
    if isinstance(exc, PermissionDenied):
        return "Your role can read but not change anything."
    message = getattr(exc, "message", str(exc))
    return message[0].upper() + message[1:] if message else "That could not be done."


# --- the list ---------------------------------------------------------------------------------


async def _list_page(
    request: Request,
    rpc: Any,
    staff: c.StaffPrincipal,
    problem: str | None = None,
    name: str = "",
    status: int = 200,
) -> Response:
    groups = await rpc.call(c.LIST_CLIENT_GROUPS, c.ListClientGroups(organization_id=staff.organization.id))
    return render(
        request,
        "console/client_groups.html",
        {
            "staff": staff,
            "section": "client_groups",
            "tree": _tree(groups.items),
            "total": groups.total,
            "problem": problem,
            "name": name,
        },
        status=status,
    )


@router.get("/client-groups")
async def client_groups_page(request: Request, rpc: Rpc, staff: ConsoleStaff) -> Response:
    if staff is None:
        return _to_login()
    return await _list_page(request, rpc, staff)


@router.post("/client-groups", dependencies=[Csrf])
async def create_client_group(
    request: Request, rpc: Rpc, staff: ConsoleStaff, name: FormText = "", parent_id: FormText = ""
) -> Response:
    if staff is None:
        return _to_login()
    try:
        command = parse(
            c.CreateClientGroup, {"actor": actor(staff), "name": name, "parent_id": parent_id or None}
        )
        created = await rpc.call(c.CREATE_CLIENT_GROUP, command)
    except InvalidInput as exc:
        problem = "Give the group a name." if not name.strip() else _problem_text(exc)
        return await _list_page(request, rpc, staff, problem, name[:200], status=422)
    except (Conflict, PermissionDenied) as exc:
        status = 403 if isinstance(exc, PermissionDenied) else 409
        return await _list_page(request, rpc, staff, _problem_text(exc), name[:200], status=status)
    return RedirectResponse(f"/console/client-groups/{created.id}?notice=created", status_code=303)


# --- one group --------------------------------------------------------------------------------


async def _group_page(
    request: Request,
    rpc: Any,
    staff: c.StaffPrincipal,
    group_id: UUID,
    notice: str | None = None,
    problem: str | None = None,
    reasons: list[Any] | None = None,
    status: int = 200,
) -> Response:
    org_id = staff.organization.id
    group, in_group, groups, customers, properties = await asyncio.gather(
        rpc.call(c.GET_CLIENT_GROUP, c.GetClientGroup(organization_id=org_id, client_group_id=group_id)),
        rpc.call(
            p.LIST_CLIENT_GROUP_PROPERTIES,
            p.ListClientGroupProperties(organization_id=org_id, client_group_id=group_id),
        ),
        rpc.call(c.LIST_CLIENT_GROUPS, c.ListClientGroups(organization_id=org_id)),
        rpc.call(
            c.LIST_CONTACTS, c.ListContacts(organization_id=org_id, type=ContactType.CUSTOMER, limit=200)
        ),
        rpc.call(p.LIST_PROPERTIES, p.ListProperties(organization_id=org_id, limit=200)),
    )
    access: dict[UUID, Any] = {}
    if group.members:
        answer = await rpc.call(
            i.GET_PORTAL_ACCESS,
            i.GetPortalAccess(organization_id=org_id, contact_ids=[x.contact_id for x in group.members]),
        )
        access = {item.contact_id: item for item in answer.items}
    members = {x.contact_id for x in group.members}
    # A group can go under any group but itself and those below it (the service checks again).
    below = {group.id}
    for summary, _ in _tree(groups.items):
        if summary.parent_id in below:
            below.add(summary.id)
    return render(
        request,
        "console/client_group.html",
        {
            "staff": staff,
            "section": "client_groups",
            "group": group,
            "properties": in_group.items,
            "parent_choices": [(g, depth) for g, depth in _tree(groups.items) if g.id not in below],
            "customer_choices": [x for x in customers.items if x.id not in members],
            "property_choices": [x for x in properties.items if x.client_group_id != group.id],
            "access_by_contact": access,
            "portal_status": i.PortalStatus,
            "notice": NOTICES.get(notice or ""),
            "problem": problem,
            "reasons": reasons or [],
        },
        status=status,
    )


def _back(group_id: UUID, notice: str) -> Response:
    return RedirectResponse(
        f"/console/client-groups/{group_id}?{urlencode({'notice': notice})}", status_code=303
    )


@router.get("/client-groups/{group_id}")
async def client_group_page(
    request: Request, group_id: UUID, rpc: Rpc, staff: ConsoleStaff, notice: str | None = None
) -> Response:
    if staff is None:
        return _to_login()
    return await _group_page(request, rpc, staff, group_id, notice=notice)


async def _change(
    request: Request,
    rpc: Any,
    staff: c.StaffPrincipal,
    group_id: UUID,
    method: Any,
    command: Any,
    notice: str,
) -> Response:
    """Send one change; on a refusal, the group's page again with what was wrong."""
    try:
        await rpc.call(method, command)
    except InvalidInput as exc:
        return await _group_page(request, rpc, staff, group_id, problem=_problem_text(exc), status=422)
    except (Conflict, PermissionDenied) as exc:
        status = 403 if isinstance(exc, PermissionDenied) else 409
        return await _group_page(request, rpc, staff, group_id, problem=_problem_text(exc), status=status)
    return _back(group_id, notice)


@router.post("/client-groups/{group_id}/parent", dependencies=[Csrf])
async def set_parent(
    request: Request, group_id: UUID, rpc: Rpc, staff: ConsoleStaff, parent_id: FormText = ""
) -> Response:
    if staff is None:
        return _to_login()
    parent = _uuid(parent_id) if parent_id else None
    if parent_id and parent is None:
        return await _group_page(request, rpc, staff, group_id, problem="Choose a parent group.", status=422)
    command = c.UpdateClientGroup(
        actor=actor(staff), client_group_id=group_id, changes=c.ClientGroupChanges(parent_id=parent)
    )
    return await _change(request, rpc, staff, group_id, c.UPDATE_CLIENT_GROUP, command, "parent")


@router.post("/client-groups/{group_id}/properties", dependencies=[Csrf])
async def add_property(
    request: Request, group_id: UUID, rpc: Rpc, staff: ConsoleStaff, property_id: FormText = ""
) -> Response:
    if staff is None:
        return _to_login()
    chosen = _uuid(property_id)
    if chosen is None:
        return await _group_page(request, rpc, staff, group_id, problem="Choose a property.", status=422)
    try:
        editor = require_editor(staff)
    except PermissionDenied as exc:
        return await _group_page(request, rpc, staff, group_id, problem=_problem_text(exc), status=403)
    # The group must be this organization's (NotFound otherwise), as the properties service checks.
    command = p.AssignClientGroup(actor=editor, property_id=chosen, client_group_id=group_id)
    return await _change(request, rpc, staff, group_id, p.ASSIGN_CLIENT_GROUP, command, "property")


@router.post("/client-groups/{group_id}/members", dependencies=[Csrf])
async def add_member(
    request: Request, group_id: UUID, rpc: Rpc, staff: ConsoleStaff, contact_id: FormText = ""
) -> Response:
    if staff is None:
        return _to_login()
    chosen = _uuid(contact_id)
    if chosen is None:
        return await _group_page(request, rpc, staff, group_id, problem="Choose a customer.", status=422)
    command = c.ClientGroupMembership(actor=actor(staff), client_group_id=group_id, contact_id=chosen)
    return await _change(request, rpc, staff, group_id, c.ADD_CLIENT_GROUP_MEMBER, command, "member")


@router.post("/client-groups/{group_id}/members/{contact_id}/invite", dependencies=[Csrf])
async def invite_member(
    request: Request,
    group_id: UUID,
    contact_id: UUID,
    rpc: Rpc,
    staff: ConsoleStaff,
    request_key: FormText = "",
) -> Response:
    """Send Portal Invitation to one of the group's authorised accounts."""
    if staff is None:
        return _to_login()
    group = await rpc.call(
        c.GET_CLIENT_GROUP, c.GetClientGroup(organization_id=staff.organization.id, client_group_id=group_id)
    )
    if contact_id not in {x.contact_id for x in group.members}:
        raise NotFound("This contact is not an authorised account of the group.")
    key = request_key if _REQUEST_KEY.match(request_key) else None
    try:
        await rpc.call(
            i.SEND_INVITATION,
            i.SendInvitation(actor=actor(staff), contact_id=contact_id, idempotency_key=key),
        )
    except NotEligible as exc:
        return await _group_page(
            request,
            rpc,
            staff,
            group_id,
            problem="The invitation was not sent:",
            reasons=exc.details.get("reasons", []),
            status=409,
        )
    except RateLimited:
        problem = "An invitation went out moments ago. Try again in a minute."
        return await _group_page(request, rpc, staff, group_id, problem=problem, status=429)
    except PermissionDenied:
        problem = "You do not have permission to manage portal access."
        return await _group_page(request, rpc, staff, group_id, problem=problem, status=403)
    return _back(group_id, "invited")
