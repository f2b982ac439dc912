"""Maintenance requests: what a tenant reports (with photos), and staff moving them through their
statuses."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from shared.contracts.common import IdempotencyKey, Page, Request, RpcMethod, StaffActor, View
from shared.contracts.properties.documents import FileUpload, MaintenancePhotoView


class MaintenanceCategory(enum.StrEnum):
    PLUMBING = "plumbing"
    ELECTRICAL = "electrical"
    HEATING = "heating"
    APPLIANCES = "appliances"
    STRUCTURAL = "structural"
    PESTS = "pests"
    OTHER = "other"


class MaintenancePriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class MaintenanceStatus(enum.StrEnum):
    """In the order a request moves through them; cancelled can come from any open status."""

    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


MAX_DESCRIPTION_LENGTH = 2000
MAX_NOTE_LENGTH = 1000
MaintenanceDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION_LENGTH)
]
StatusNote = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_LENGTH)
]


class CreateMaintenanceRequest(Request):
    """A tenant reports a problem on a lease they are a party of, as `contact_id` (from their
    verified membership)."""

    organization_id: UUID
    contact_id: UUID
    lease_id: UUID
    category: MaintenanceCategory
    priority: MaintenancePriority = MaintenancePriority.NORMAL
    description: MaintenanceDescription
    # The form's own key: the same form sent twice (a double click) makes one request.
    idempotency_key: IdempotencyKey | None = None
    # A photo of the problem (JPEG or PNG), stored with the request.
    photo: FileUpload | None = None


class UpdateMaintenanceStatus(Request):
    """Staff move a request on (forward only, or cancel it), with a note for the tenant."""

    actor: StaffActor
    request_id: UUID
    status: MaintenanceStatus
    note: StatusNote | None = None


class MaintenanceStatusChange(View):
    """One step of a request's history; the first is its submission (no previous status)."""

    previous_status: MaintenanceStatus | None
    status: MaintenanceStatus
    note: str | None
    # Who: the tenant who submitted it, or a staff member.
    changed_by_contact_id: UUID | None
    changed_by_staff_member_id: UUID | None
    changed_at: datetime


class MaintenanceRequestSummary(View):
    id: UUID
    organization_id: UUID
    lease_id: UUID
    unit_name: str
    property_name: str
    category: MaintenanceCategory
    priority: MaintenancePriority
    description: str
    status: MaintenanceStatus
    submitted_by_contact_id: UUID
    created_at: datetime
    updated_at: datetime


class MaintenanceRequestView(MaintenanceRequestSummary):
    """A request with its status history, newest first."""

    history: list[MaintenanceStatusChange]
    # The photo sent with it, without its bytes (GET_[PARTY_]MAINTENANCE_PHOTO has them).
    photo: MaintenancePhotoView | None = None


class MaintenanceRequestPage(Page):
    items: list[MaintenanceRequestSummary]


class ListMaintenanceRequests(Request):
    """Staff list the organization's requests, newest first, optionally of one lease or status."""

    organization_id: UUID
    lease_id: UUID | None = None
    status: MaintenanceStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class GetMaintenanceRequest(Request):
    organization_id: UUID
    request_id: UUID


class ListPartyMaintenanceRequests(Request):
    """A portal user lists the requests on every lease they are a party of (a co-tenant's too),
    newest first."""

    organization_id: UUID
    contact_id: UUID
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class GetPartyMaintenanceRequest(Request):
    organization_id: UUID
    contact_id: UUID
    request_id: UUID


CREATE_MAINTENANCE_REQUEST = RpcMethod(
    "properties", "create_maintenance_request", CreateMaintenanceRequest, MaintenanceRequestView
)
UPDATE_MAINTENANCE_STATUS = RpcMethod(
    "properties", "update_maintenance_status", UpdateMaintenanceStatus, MaintenanceRequestView
)
LIST_MAINTENANCE_REQUESTS = RpcMethod(
    "properties", "list_maintenance_requests", ListMaintenanceRequests, MaintenanceRequestPage
)
GET_MAINTENANCE_REQUEST = RpcMethod(
    "properties", "get_maintenance_request", GetMaintenanceRequest, MaintenanceRequestView
)
LIST_PARTY_MAINTENANCE_REQUESTS = RpcMethod(
    "properties", "list_party_maintenance_requests", ListPartyMaintenanceRequests, MaintenanceRequestPage
)
GET_PARTY_MAINTENANCE_REQUEST = RpcMethod(
    "properties", "get_party_maintenance_request", GetPartyMaintenanceRequest, MaintenanceRequestView
)
