"""/api/v1 defects staff record on a property (Uptick: sites usually have no lease), resolved when
fixed and reopened when the fix did not hold. The property's customers read them in the portal."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import properties as p
from shared.contracts.validation import parse

router = APIRouter(tags=["defects"])


class NewDefect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: p.DefectTitle
    description: p.DefectDescription
    severity: p.DefectSeverity
    found_on: date | None = None


class DefectStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: p.DefectStatus


@router.post(
    "/properties/{property_id}/defects",
    response_model=p.DefectView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def record_defect(property_id: UUID, body: NewDefect, staff: Staff, rpc: Rpc) -> p.DefectView:
    """Record a defect found on the property on `found_on` (today if not given; never in the
    future: 422). It starts open; the property need have no lease. Customers of the property's
    client group see it on the property's page in the portal."""
    command = parse(
        p.RecordDefect, {"actor": require_editor(staff), "property_id": property_id, **body.model_dump()}
    )
    return await rpc.call(p.RECORD_DEFECT, command)


@router.get("/properties/{property_id}/defects", response_model=p.DefectList)
async def list_property_defects(
    property_id: UUID, staff: Staff, rpc: Rpc, status: p.DefectStatus | None = None
) -> p.DefectList:
    """The property's defects, open first, then newest found first; or only those in `status`."""
    return await rpc.call(
        p.LIST_PROPERTY_DEFECTS,
        p.ListPropertyDefects(organization_id=staff.organization.id, property_id=property_id, status=status),
    )


@router.post("/defects/{defect_id}/status", response_model=p.DefectView, responses=WRITE_ERROR_RESPONSES)
async def set_defect_status(
    defect_id: UUID, body: DefectStatusChange, staff: Staff, rpc: Rpc
) -> p.DefectView:
    """Resolve an open defect (`resolved`) or reopen a resolved one (`open`). Any other move, such
    as resolving a resolved defect, is 409 `conflict` with `details.allowed`."""
    return await rpc.call(
        p.SET_DEFECT_STATUS,
        p.SetDefectStatus(actor=require_editor(staff), defect_id=defect_id, status=body.status),
    )
