"""Every event the platform publishes: one pydantic model each, imported by producer and consumer.

An event travels as the JSON of its model, to the topic exchange `<source>.events` with its
`event_type` as routing key (nameko's convention), and with `message_id` = `event_id`.
Consumers ignore fields they do not know, so a field can be added without a new event name;
anything else that changes meaning is a new event name. `docs/events.md` documents each one.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import ContactType, utc_now


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source: ClassVar[str]
    event_type: ClassVar[str]

    schema_version: int = 1
    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utc_now)


class ContactSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    organization_id: UUID
    type: ContactType
    first_name: str
    last_name: str
    email: str
    phone: str | None
    locale: str
    archived: bool


# --- contacts ---------------------------------------------------------------------------------


class ContactCreated(Event):
    source = "contacts"
    event_type = "contact_created"
    organization_id: UUID
    contact: ContactSnapshot


class ContactUpdated(Event):
    source = "contacts"
    event_type = "contact_updated"
    organization_id: UUID
    contact: ContactSnapshot
    changed_fields: list[str]


class ContactEmailChanged(Event):
    source = "contacts"
    event_type = "contact_email_changed"
    organization_id: UUID
    contact_id: UUID
    old_email: str
    new_email: str


class ContactArchived(Event):
    source = "contacts"
    event_type = "contact_archived"
    organization_id: UUID
    contact_id: UUID


# --- invitations ------------------------------------------------------------------------------


class InvitationSent(Event):
    """Staff sent (or resent) a portal invitation. `sealed_link` is the invitation link encrypted
    for the notifications service (`shared.sealing`); no other subscriber can read it."""

    source = "invitations"
    event_type = "invitation_sent"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID
    contact_type: ContactType
    email: str
    recipient_name: str
    organization_name: str
    locale: str
    expires_at: datetime
    sent_by_staff_member_id: UUID
    is_resend: bool
    sealed_link: str


class InvitationAccepted(Event):
    source = "invitations"
    event_type = "invitation_accepted"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID
    account_id: UUID


class InvitationRevoked(Event):
    source = "invitations"
    event_type = "invitation_revoked"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID
    revoked_by_staff_member_id: UUID | None
    reason: str


class InvitationExpired(Event):
    source = "invitations"
    event_type = "invitation_expired"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID


class AccessGranted(Event):
    source = "invitations"
    event_type = "access_granted"
    organization_id: UUID
    grant_id: UUID
    account_id: UUID
    contact_id: UUID
    contact_type: ContactType


class AccessRevoked(Event):
    source = "invitations"
    event_type = "access_revoked"
    organization_id: UUID
    grant_id: UUID
    account_id: UUID
    contact_id: UUID
    reason: str


class PasswordResetRequested(Event):
    """A portal account asked for a password reset. `sealed_link` as in InvitationSent."""

    source = "invitations"
    event_type = "password_reset_requested"
    account_id: UUID
    email: str
    recipient_name: str
    locale: str
    expires_at: datetime
    sealed_link: str


# --- notifications ----------------------------------------------------------------------------


class DeliveryQueued(Event):
    source = "notifications"
    event_type = "delivery_queued"
    organization_id: UUID | None
    delivery_id: UUID
    purpose: str
    subject_id: UUID


class DeliverySucceeded(Event):
    source = "notifications"
    event_type = "delivery_succeeded"
    organization_id: UUID | None
    delivery_id: UUID
    purpose: str
    subject_id: UUID
    smtp_reply: str


class DeliveryFailed(Event):
    source = "notifications"
    event_type = "delivery_failed"
    organization_id: UUID | None
    delivery_id: UUID
    purpose: str
    subject_id: UUID
    smtp_code: int | None
    reason: str


ALL_EVENTS: tuple[type[Event], ...] = (
    ContactCreated,
    ContactUpdated,
    ContactEmailChanged,
    ContactArchived,
    InvitationSent,
    InvitationAccepted,
    InvitationRevoked,
    InvitationExpired,
    AccessGranted,
    AccessRevoked,
    PasswordResetRequested,
    DeliveryQueued,
    DeliverySucceeded,
    DeliveryFailed,
)
