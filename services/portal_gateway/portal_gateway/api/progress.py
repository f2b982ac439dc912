"""/api/v1 progress of a property's sale or letting: the stage it has reached, and its history."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import properties as p
from shared.contracts.validation import parse

router = APIRouter(tags=["sale and letting progress"])


class NewStage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: p.MarketingKind
    stage: p.MarketingStage
    note: p.MarketingNote | None = None
    reached_on: date | None = None


@router.post(
    "/properties/{property_id}/progress",
    response_model=p.MarketingProgress,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def set_marketing_stage(
    property_id: UUID, body: NewStage, staff: Staff, rpc: Rpc
) -> p.MarketingProgress:
    """Record that the property's sale or letting reached `stage` on `reached_on` (today if not
    given; never in the future nor before the stage before it: 422). A sale goes instructed, on the
    market, under offer, sold subject to contract, exchanged, completed; a letting instructed, on the
    market, let agreed, referencing, tenancy started; steps may be skipped, never gone back, and
    either may be withdrawn before its last stage. Completed, tenancy started and withdrawn end it;
    then a new sale or letting may start. A stage that is not the kind's is 422; a move its progress
    does not allow is 409 `conflict` with `details.allowed` (by kind)."""
    command = parse(
        p.SetMarketingStage, {"actor": require_editor(staff), "property_id": property_id, **body.model_dump()}
    )
    return await rpc.call(p.SET_MARKETING_STAGE, command)


@router.get("/properties/{property_id}/progress", response_model=p.MarketingProgress)
async def get_marketing_progress(property_id: UUID, staff: Staff, rpc: Rpc) -> p.MarketingProgress:
    """Where the property's sale or letting stands, every stage it reached (oldest first) and the
    stages it may move to next."""
    return await rpc.call(
        p.GET_MARKETING_PROGRESS,
        p.GetMarketingProgress(organization_id=staff.organization.id, property_id=property_id),
    )
