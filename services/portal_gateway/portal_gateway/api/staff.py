"""/api/v1/me and /api/v1/staff: who is calling, and adding staff members."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import contacts as c
from shared.contracts.common import Email, Name, Password, StaffRole

router = APIRouter(tags=["staff"])


class NewStaffMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: Name
    role: StaffRole = StaffRole.AGENT
    can_manage_portal_access: bool = False
    password: Password | None = None


@router.get("/me", response_model=c.StaffPrincipal)
async def me(staff: Staff) -> c.StaffPrincipal:
    return staff


@router.post("/staff", response_model=c.StaffMemberView, status_code=201, responses=WRITE_ERROR_RESPONSES)
async def add_staff_member(body: NewStaffMember, staff: Staff, rpc: Rpc) -> c.StaffMemberView:
    return await rpc.call(
        c.CREATE_STAFF_MEMBER,
        c.CreateStaffMember(actor=require_editor(staff), **body.model_dump(exclude_unset=True)),
    )
