"""/api/v1/properties and /api/v1/leases, with what the tenants of a lease owe (charges, payments,
the statement)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.api import bodies
from portal_gateway.deps import IdempotencyKeyHeader, Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import properties as p
from shared.contracts.common import ShortText
from shared.contracts.validation import parse

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


class NewCharge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: ShortText
    amount_minor: p.AmountMinor
    due_date: date


class NewPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_minor: p.AmountMinor
    paid_on: date
    reference: p.PaymentReference | None = None


@router.post("/properties", response_model=p.PropertyView, status_code=201, responses=WRITE_ERROR_RESPONSES)
async def create_property(body: bodies.NewProperty, staff: Staff, rpc: Rpc) -> p.PropertyView:
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


@router.post(
    "/properties/{property_id}/units",
    response_model=p.UnitView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def add_unit(property_id: UUID, body: NewUnit, staff: Staff, rpc: Rpc) -> p.UnitView:
    return await rpc.call(
        p.ADD_UNIT, p.AddUnit(actor=require_editor(staff), property_id=property_id, name=body.name)
    )


@router.post(
    "/properties/{property_id}/contacts", response_model=p.PropertyView, responses=WRITE_ERROR_RESPONSES
)
async def link_contact(property_id: UUID, body: PropertyContact, staff: Staff, rpc: Rpc) -> p.PropertyView:
    """Link a landlord, vendor or applicant to the property (idempotent); the contact's type must
    be the role's."""
    return await rpc.call(
        p.LINK_CONTACT,
        p.LinkContact(
            actor=require_editor(staff), property_id=property_id, contact_id=body.contact_id, role=body.role
        ),
    )


@router.delete(
    "/properties/{property_id}/contacts/{contact_id}",
    response_model=p.PropertyView,
    responses=WRITE_ERROR_RESPONSES,
)
async def unlink_contact(property_id: UUID, contact_id: UUID, staff: Staff, rpc: Rpc) -> p.PropertyView:
    """Remove the landlord's or vendor's link to the property (404 if the contact is not linked to
    it). Portal access that rested on it alone ends (`property_contact_unlinked`)."""
    return await rpc.call(
        p.UNLINK_CONTACT,
        p.UnlinkContact(actor=require_editor(staff), property_id=property_id, contact_id=contact_id),
    )


@router.post("/leases", response_model=p.LeaseView, status_code=201, responses=WRITE_ERROR_RESPONSES)
async def create_lease(body: NewLease, staff: Staff, rpc: Rpc) -> p.LeaseView:
    """A lease of one unit to one or more tenants (each once), ending on or after it starts."""
    # The contract checks what the body's shape cannot say (dates in order, no tenant twice): 422.
    command = parse(p.CreateLease, {"actor": require_editor(staff), **body.model_dump()})
    return await rpc.call(p.CREATE_LEASE, command)


@router.post("/leases/{lease_id}/end", response_model=p.LeaseView, responses=WRITE_ERROR_RESPONSES)
async def end_lease(lease_id: UUID, body: LeaseEnd, staff: Staff, rpc: Rpc) -> p.LeaseView:
    return await rpc.call(
        p.END_LEASE, p.EndLease(actor=require_editor(staff), lease_id=lease_id, end_date=body.end_date)
    )


@router.post(
    "/leases/{lease_id}/charges",
    response_model=p.ChargeView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def add_charge(
    lease_id: UUID, body: NewCharge, staff: Staff, rpc: Rpc, idempotency_key: IdempotencyKeyHeader = None
) -> p.ChargeView:
    """Charge the lease's tenants `amount_minor` pence, due on `due_date` (an ended lease too: a
    final bill). Sent again with the same `Idempotency-Key`, it answers the charge the first request
    made (409 if that key made a different charge on this lease)."""
    return await rpc.call(
        p.ADD_CHARGE,
        p.AddCharge(
            actor=require_editor(staff),
            lease_id=lease_id,
            idempotency_key=idempotency_key,
            **body.model_dump(),
        ),
    )


@router.post(
    "/leases/{lease_id}/payments",
    response_model=p.PaymentView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def record_payment(
    lease_id: UUID, body: NewPayment, staff: Staff, rpc: Rpc, idempotency_key: IdempotencyKeyHeader = None
) -> p.PaymentView:
    """Record `amount_minor` pence received from the lease's tenants on `paid_on` (not a future
    date: 422). `Idempotency-Key` as for charges."""
    return await rpc.call(
        p.RECORD_PAYMENT,
        p.RecordPayment(
            actor=require_editor(staff),
            lease_id=lease_id,
            idempotency_key=idempotency_key,
            **body.model_dump(),
        ),
    )


@router.get("/leases/{lease_id}/statement", response_model=p.LeaseStatement)
async def lease_statement(lease_id: UUID, staff: Staff, rpc: Rpc) -> p.LeaseStatement:
    """Every charge and payment in date order with the running balance, the balance due (negative:
    in credit) and what is overdue (payments pay the oldest charges first)."""
    return await rpc.call(
        p.GET_LEASE_STATEMENT, p.GetLeaseStatement(organization_id=staff.organization.id, lease_id=lease_id)
    )
