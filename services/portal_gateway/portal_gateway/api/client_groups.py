"""/api/v1/client-groups (Uptick): groups of a customer's properties inside parent groups, the
customer contacts authorised on each, and which group a property is in."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StrictInt

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ShortText

router = APIRouter(tags=["client groups"])


class NewClientGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    parent_id: UUID | None = None


class ClientGroupChanges(c.ClientGroupChanges):
    schema_version: StrictInt = 1


class NewMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: UUID


class PropertyGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_group_id: UUID | None


@router.post(
    "/client-groups", response_model=c.ClientGroupView, status_code=201, responses=WRITE_ERROR_RESPONSES
)
async def create_client_group(body: NewClientGroup, staff: Staff, rpc: Rpc) -> c.ClientGroupView:
    """A group, at the top or inside `parent_id` (a group of your organization, else 404). Names are
    unique in the organization whatever their case (422); groups go at most
    5 levels deep (409)."""
    return await rpc.call(
        c.CREATE_CLIENT_GROUP,
        c.CreateClientGroup(actor=require_editor(staff), name=body.name, parent_id=body.parent_id),
    )


@router.get("/client-groups", response_model=c.ClientGroupPage)
async def list_client_groups(
    staff: Staff,
    rpc: Rpc,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> c.ClientGroupPage:
    """The organization's groups by name, with how many authorised accounts and child groups each has."""
    return await rpc.call(
        c.LIST_CLIENT_GROUPS,
        c.ListClientGroups(organization_id=staff.organization.id, limit=limit, offset=offset),
    )


@router.get("/client-groups/{client_group_id}", response_model=c.ClientGroupView)
async def get_client_group(client_group_id: UUID, staff: Staff, rpc: Rpc) -> c.ClientGroupView:
    """The group with its parent (and the groups above), child groups and authorised accounts."""
    return await rpc.call(
        c.GET_CLIENT_GROUP,
        c.GetClientGroup(organization_id=staff.organization.id, client_group_id=client_group_id),
    )


@router.patch(
    "/client-groups/{client_group_id}", response_model=c.ClientGroupView, responses=WRITE_ERROR_RESPONSES
)
async def update_client_group(
    client_group_id: UUID, body: ClientGroupChanges, staff: Staff, rpc: Rpc
) -> c.ClientGroupView:
    """Rename the group, or move it (with the groups below it) under `parent_id`, or to the top
    with `parent_id` null. A group never goes inside itself or a group below it (409)."""
    return await rpc.call(
        c.UPDATE_CLIENT_GROUP,
        c.UpdateClientGroup(actor=require_editor(staff), client_group_id=client_group_id, changes=body),
    )


@router.post(
    "/client-groups/{client_group_id}/members",
    response_model=c.ClientGroupView,
    responses=WRITE_ERROR_RESPONSES,
)
async def add_member(client_group_id: UUID, body: NewMember, staff: Staff, rpc: Rpc) -> c.ClientGroupView:
    """Authorise a customer contact on the group (idempotent): they see its properties and those of
    every group below it, once invited to the portal. Any other type of contact is 422."""
    return await rpc.call(
        c.ADD_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(
            actor=require_editor(staff), client_group_id=client_group_id, contact_id=body.contact_id
        ),
    )


@router.delete(
    "/client-groups/{client_group_id}/members/{contact_id}",
    response_model=c.ClientGroupView,
    responses=WRITE_ERROR_RESPONSES,
)
async def remove_member(client_group_id: UUID, contact_id: UUID, staff: Staff, rpc: Rpc) -> c.ClientGroupView:
    """The contact no longer sees the group's properties (idempotent). Their portal access itself
    stays until revoked."""
    return await rpc.call(
        c.REMOVE_CLIENT_GROUP_MEMBER,
        c.ClientGroupMembership(
            actor=require_editor(staff), client_group_id=client_group_id, contact_id=contact_id
        ),
    )


@router.get("/client-groups/{client_group_id}/properties", response_model=p.PropertyPage)
async def client_group_properties(client_group_id: UUID, staff: Staff, rpc: Rpc) -> p.PropertyPage:
    """The properties in the group itself (not those of the groups below it)."""
    return await rpc.call(
        p.LIST_CLIENT_GROUP_PROPERTIES,
        p.ListClientGroupProperties(organization_id=staff.organization.id, client_group_id=client_group_id),
    )


@router.put(
    "/properties/{property_id}/client-group", response_model=p.PropertyView, responses=WRITE_ERROR_RESPONSES
)
async def assign_client_group(
    property_id: UUID, body: PropertyGroup, staff: Staff, rpc: Rpc
) -> p.PropertyView:
    """Put the property in a group of your organization (a property is in at most one: this moves it
    out of any other), or out of its group with `client_group_id` null."""
    return await rpc.call(
        p.ASSIGN_CLIENT_GROUP,
        p.AssignClientGroup(
            actor=require_editor(staff), property_id=property_id, client_group_id=body.client_group_id
        ),
    )


@router.get("/contacts/{contact_id}/client-groups", response_model=c.ContactClientGroups)
async def contact_client_groups(contact_id: UUID, staff: Staff, rpc: Rpc) -> c.ContactClientGroups:
    """The contact's portfolios: each group they are authorised on, with every group below it."""
    org_id = staff.organization.id
    await rpc.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=contact_id))
    return await rpc.call(
        c.GET_CONTACT_CLIENT_GROUPS, c.GetContactClientGroups(organization_id=org_id, contact_id=contact_id)
    )
