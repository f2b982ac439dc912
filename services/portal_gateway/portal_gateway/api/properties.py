"""/api/v1/properties and /api/v1/leases."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.deps import Rpc, Staff, require_editor
from shared.contracts import properties as p
from shared.contracts.common import ShortText

router = APIRouter(tags=["properties"])


class NewUnit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText


class PropertyContact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: UUID
    role: p.PropertyRole


class NewLease(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: UUID
    start_date: date
    end_date: date | None = None
    tenant_contact_ids: list[UUID] = Field(min_length=1, max_length=20)


class LeaseEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end_date: date


@router.post("/properties", response_model=p.PropertyView, status_code=201)
async def create_property(body: p.NewProperty, staff: Staff, rpc: Rpc) -> p.PropertyView:
    return await rpc.call(p.CREATE_PROPERTY, p.CreateProperty(actor=require_editor(staff), property=body))


@router.get("/properties", response_model=p.PropertyPage)
async def list_properties(
    staff: Staff,
    rpc: Rpc,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> p.PropertyPage:
    return await rpc.call(
        p.LIST_PROPERTIES, p.ListProperties(organization_id=staff.organization.id, limit=limit, offset=offset)
    )


@router.get("/properties/{property_id}", response_model=p.PropertyView)
async def get_property(property_id: UUID, staff: Staff, rpc: Rpc) -> p.PropertyView:
    return await rpc.call(
        p.GET_PROPERTY, p.GetProperty(organization_id=staff.organization.id, property_id=property_id)
    )


@router.post("/properties/{property_id}/units", response_model=p.UnitView, status_code=201)
async def add_unit(property_id: UUID, body: NewUnit, staff: Staff, rpc: Rpc) -> p.UnitView:
    return await rpc.call(
        p.ADD_UNIT, p.AddUnit(actor=require_editor(staff), property_id=property_id, name=body.name)
    )


@router.post("/properties/{property_id}/contacts", response_model=p.PropertyView)
async def link_contact(property_id: UUID, body: PropertyContact, staff: Staff, rpc: Rpc) -> p.PropertyView:
    """Link a landlord or vendor to the property (idempotent)."""
    return await rpc.call(
        p.LINK_CONTACT,
        p.LinkContact(
            actor=require_editor(staff), property_id=property_id, contact_id=body.contact_id, role=body.role
        ),
    )


@router.post("/leases", response_model=p.LeaseView, status_code=201)
async def create_lease(body: NewLease, staff: Staff, rpc: Rpc) -> p.LeaseView:
    return await rpc.call(p.CREATE_LEASE, p.CreateLease(actor=require_editor(staff), **body.model_dump()))


@router.post("/leases/{lease_id}/end", response_model=p.LeaseView)
async def end_lease(lease_id: UUID, body: LeaseEnd, staff: Staff, rpc: Rpc) -> p.LeaseView:
    return await rpc.call(
        p.END_LEASE, p.EndLease(actor=require_editor(staff), lease_id=lease_id, end_date=body.end_date)
    )
