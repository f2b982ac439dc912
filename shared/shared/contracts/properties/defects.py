"""Defects staff record on a property (Uptick)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints

from shared.contracts.common import Request, RpcMethod, StaffActor, View


class DefectSeverity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class DefectStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


DefectTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DefectDescription = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RecordDefect(Request):
    """Staff record a defect found on a property on `found_on` (today if not given; never in the
    future). It starts open. The property need have no lease."""

    actor: StaffActor
    property_id: UUID
    title: DefectTitle
    description: DefectDescription
    severity: DefectSeverity
    found_on: date | None = None


class SetDefectStatus(Request):
    """Staff resolve an open defect, or reopen a resolved one; any other move is Conflict with
    `allowed`."""

    actor: StaffActor
    defect_id: UUID
    status: DefectStatus


class ListPropertyDefects(Request):
    """Staff list a property's defects, open first, then by when found (newest first)."""

    organization_id: UUID
    property_id: UUID
    status: DefectStatus | None = None


class DefectView(View):
    id: UUID
    property_id: UUID
    title: str
    description: str
    severity: DefectSeverity
    status: DefectStatus
    found_on: date
    resolved_at: datetime | None
    created_at: datetime
    created_by_staff_member_id: UUID
    updated_at: datetime
    updated_by_staff_member_id: UUID


class DefectList(View):
    items: list[DefectView]


class CustomerDefect(View):
    """A defect as a customer reads it: no staff ids."""

    id: UUID
    title: str
    description: str
    severity: DefectSeverity
    status: DefectStatus
    found_on: date
    resolved_at: datetime | None


RECORD_DEFECT = RpcMethod("properties", "record_defect", RecordDefect, DefectView)
SET_DEFECT_STATUS = RpcMethod("properties", "set_defect_status", SetDefectStatus, DefectView)
LIST_PROPERTY_DEFECTS = RpcMethod("properties", "list_property_defects", ListPropertyDefects, DefectList)
