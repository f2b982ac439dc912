"""/api/v1/maintenance-requests: what tenants reported from the portal, and staff moving each one on
(forward only, or cancelled) with a note the tenant reads."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import properties as p

router = APIRouter(tags=["maintenance requests"])


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: p.MaintenanceStatus
    note: p.StatusNote | None = None


@router.get("/maintenance-requests", response_model=p.MaintenanceRequestPage)
async def list_maintenance_requests(
    staff: Staff,
    rpc: Rpc,
    lease_id: UUID | None = None,
    status: p.MaintenanceStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> p.MaintenanceRequestPage:
    """The organization's requests, newest first; of one lease, in one status, or both."""
    return await rpc.call(
        p.LIST_MAINTENANCE_REQUESTS,
        p.ListMaintenanceRequests(
            organization_id=staff.organization.id,
            lease_id=lease_id,
            status=status,
            limit=limit,
            offset=offset,
        ),
    )


@router.get("/maintenance-requests/{request_id}", response_model=p.MaintenanceRequestView)
async def get_maintenance_request(request_id: UUID, staff: Staff, rpc: Rpc) -> p.MaintenanceRequestView:
    """A request with its status history, newest first."""
    return await rpc.call(
        p.GET_MAINTENANCE_REQUEST,
        p.GetMaintenanceRequest(organization_id=staff.organization.id, request_id=request_id),
    )


@router.post(
    "/maintenance-requests/{request_id}/status",
    response_model=p.MaintenanceRequestView,
    responses=WRITE_ERROR_RESPONSES,
)
async def change_maintenance_status(
    request_id: UUID, body: StatusChange, staff: Staff, rpc: Rpc
) -> p.MaintenanceRequestView:
    """Move the request on: only forward (submitted, acknowledged, scheduled, in_progress,
    completed; steps may be skipped) or to cancelled, never out of completed or cancelled (409
    `conflict`, with `details.status` and `details.allowed`). The note, if any, is shown to the
    tenant in the request's history."""
    return await rpc.call(
        p.UPDATE_MAINTENANCE_STATUS,
        p.UpdateMaintenanceStatus(
            actor=require_editor(staff), request_id=request_id, status=body.status, note=body.note
        ),
    )
