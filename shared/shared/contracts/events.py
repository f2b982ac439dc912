"""Every event the platform publishes: one pydantic model each, imported by producer and consumer.

An event travels as the JSON of its model, to the topic exchange `<source>.events` with its
`event_type` as routing key (nameko's convention), and with `message_id` = `event_id`.
Consumers ignore fields they do not know, so a field can be added without a new event name;
anything else that changes meaning is a new event name. `docs/events.md` documents each one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import ContactType, Locale, utc_now

# Bounded as the consumers' tables are: a longer value breaks the contract and is parked at once,
# rather than failing in a consumer's database on every retry.
EmailText = Annotated[str, StringConstraints(max_length=254)]
PersonName = Annotated[str, StringConstraints(max_length=201)]
OrganizationName = Annotated[str, StringConstraints(max_length=200)]
PlaceName = Annotated[str, StringConstraints(max_length=200)]
Keyword = Annotated[str, StringConstraints(max_length=20)]
StatusNoteText = Annotated[str, StringConstraints(max_length=1000)]


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
    """A contact was created."""

    source = "contacts"
    event_type = "contact_created"
    organization_id: UUID
    contact: ContactSnapshot


class ContactUpdated(Event):
    """A contact's fields changed; `changed_fields` names them and `contact` is the new state."""

    source = "contacts"
    event_type = "contact_updated"
    organization_id: UUID
    contact: ContactSnapshot
    changed_fields: list[str]


class ContactEmailChanged(Event):
    """A contact's email address changed (also announced as contact_updated)."""

    source = "contacts"
    event_type = "contact_email_changed"
    organization_id: UUID
    contact_id: UUID
    old_email: str
    new_email: str


class ContactArchived(Event):
    """A contact was archived: it no longer counts for de-duplication or lists."""

    source = "contacts"
    event_type = "contact_archived"
    organization_id: UUID
    contact_id: UUID


# --- invitations ------------------------------------------------------------------------------


class InvitationSent(Event):
    """Staff sent (or resent) a portal invitation. `sealed_link` is the invitation link encrypted
    for the notifications service (`shared.sealing`); no other subscriber can read it. It names its
    recipient (`email`), its purpose, the invitation and its expiry, and is sent to no one else."""

    source = "invitations"
    event_type = "invitation_sent"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID
    contact_type: ContactType
    email: EmailText
    recipient_name: PersonName
    organization_name: OrganizationName
    locale: Locale
    expires_at: datetime
    sent_by_staff_member_id: UUID
    is_resend: bool
    sealed_link: str


class InvitationAccepted(Event):
    """The invited person created their account, or added the access to their existing account."""

    source = "invitations"
    event_type = "invitation_accepted"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID
    account_id: UUID


class InvitationRevoked(Event):
    """Staff withdrew a live invitation; its link no longer works."""

    source = "invitations"
    event_type = "invitation_revoked"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID
    revoked_by_staff_member_id: UUID | None
    reason: str


class InvitationExpired(Event):
    """An invitation's link passed its expiry without being used."""

    source = "invitations"
    event_type = "invitation_expired"
    organization_id: UUID
    invitation_id: UUID
    contact_id: UUID


class AccessGranted(Event):
    """A portal account may now see the portal as this contact (a membership)."""

    source = "invitations"
    event_type = "access_granted"
    organization_id: UUID
    grant_id: UUID
    account_id: UUID
    contact_id: UUID
    contact_type: ContactType


class AccessRevoked(Event):
    """A membership ended: staff revoked it, or the lease, property link or email it rested on
    ended (`reason` says which). The account's sessions ended with it, except, when no staff member
    revoked it, those of an account that still has another membership (they no longer show it)."""

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
    email: EmailText
    recipient_name: PersonName
    locale: Locale
    expires_at: datetime
    sealed_link: str


# --- properties -------------------------------------------------------------------------------


class MaintenanceRequestUpdated(Event):
    """A tenant submitted a maintenance request (`previous_status` null, `status` submitted), or
    staff changed its status (with an optional note for the tenant). `tenant_contact_ids` are the
    lease's parties, who all see the request. Statuses: submitted, acknowledged, scheduled,
    in_progress, completed, cancelled; categories and priorities as in the properties contract."""

    source = "properties"
    event_type = "maintenance_request_updated"
    organization_id: UUID
    request_id: UUID
    lease_id: UUID
    unit_name: PlaceName
    property_name: PlaceName
    tenant_contact_ids: list[UUID] = Field(max_length=20)
    submitted_by_contact_id: UUID
    category: Keyword
    priority: Keyword
    previous_status: Keyword | None
    status: Keyword
    note: StatusNoteText | None
    changed_by_staff_member_id: UUID | None


class LeaseEnded(Event):
    """A lease has ended: the day after its end date, or at once when staff end it on a day that has
    already passed. `tenant_contact_ids` are its parties. Announced once per lease and end date:
    the same lease and end date always carry the same `event_id`, so a repeat is a duplicate."""

    source = "properties"
    event_type = "lease_ended"
    organization_id: UUID
    lease_id: UUID
    property_id: UUID
    unit_id: UUID
    tenant_contact_ids: list[UUID] = Field(max_length=20)
    end_date: date


class PropertyContactUnlinked(Event):
    """Staff removed a landlord's or vendor's link to a property (`role`: landlord or vendor)."""

    source = "properties"
    event_type = "property_contact_unlinked"
    organization_id: UUID
    property_id: UUID
    contact_id: UUID
    role: Keyword


# --- notifications ----------------------------------------------------------------------------


class DeliveryQueued(Event):
    """The notifications service has an email to send for `subject_id` (an invitation, an account, or
    a maintenance request: `purpose` says which)."""

    source = "notifications"
    event_type = "delivery_queued"
    organization_id: UUID | None
    delivery_id: UUID
    purpose: str
    subject_id: UUID


class DeliverySucceeded(Event):
    """The mail server accepted the email (SMTP 250)."""

    source = "notifications"
    event_type = "delivery_succeeded"
    organization_id: UUID | None
    delivery_id: UUID
    purpose: str
    subject_id: UUID
    smtp_reply: str


class DeliveryFailed(Event):
    """The email will not be delivered: a permanent refusal, too many attempts, or a suppressed
    address. `link_refused` is true when nothing was sent because its sealed link names another
    recipient, purpose or subject, has expired or cannot be opened (`reason` says which): an
    event republished with another address, say. Such a failure says nothing about the email of
    that invitation or account that did go out."""

    source = "notifications"
    event_type = "delivery_failed"
    schema_version: int = 2  # 2: link_refused
    organization_id: UUID | None
    delivery_id: UUID
    purpose: str
    subject_id: UUID
    smtp_code: int | None
    reason: str
    link_refused: bool = False


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
    MaintenanceRequestUpdated,
    LeaseEnded,
    PropertyContactUnlinked,
    DeliveryQueued,
    DeliverySucceeded,
    DeliveryFailed,
)
