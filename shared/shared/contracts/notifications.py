"""RPC contract of the notifications service: what staff may ask about emails."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from pydantic import Field

from shared.contracts.common import Page, Request, RpcMethod, View


class DeliveryPurpose(enum.StrEnum):
    """What an email is for, and so what its `subject_id` names: an invitation, a portal account
    (a password reset), or a maintenance request. Events carry it as a plain string, so that a
    consumer that does not know a newer purpose still reads the event."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    MAINTENANCE_UPDATE = "maintenance_update"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class DeliveryView(View):
    id: UUID
    organization_id: UUID | None
    purpose: str
    subject_id: UUID
    recipient: str
    status: DeliveryStatus
    attempts: int
    last_smtp_code: int | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class ListDeliveries(Request):
    organization_id: UUID
    subject_id: UUID | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class DeliveryPage(Page):
    items: list[DeliveryView]


LIST_DELIVERIES = RpcMethod("notifications", "list_deliveries", ListDeliveries, DeliveryPage)
