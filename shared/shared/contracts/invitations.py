"""RPC contract of the invitations service: invitations, portal accounts, sessions, access."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from shared.contracts.common import (
    GATEWAY,
    ClientAddress,
    ContactType,
    Empty,
    IdempotencyKey,
    InvitationState,
    Page,
    Password,
    Problem,
    Request,
    RpcMethod,
    Secret,
    StaffActor,
    View,
)
from shared.contracts.contacts import StaffMemberView
from shared.contracts.errors import PermissionDenied

LooseEmail = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

# The most contacts one bulk invitation takes (the gateway refuses more before asking).
MAX_BULK_CONTACTS = 10_000

# --- staff side -------------------------------------------------------------------------------


def may_manage_portal_access(staff: StaffMemberView | None) -> bool:
    """Whether the staff member may invite, resend and revoke portal access (one contact or in
    bulk): active, with the permission. The contacts service folds the role into
    `can_manage_portal_access` (an admin always has it, a viewer never)."""
    return staff is not None and staff.active and staff.can_manage_portal_access


def refuse_unless_may_manage_portal_access(staff: StaffMemberView | None) -> None:
    if not may_manage_portal_access(staff):
        raise PermissionDenied("You do not have permission to manage portal access.")


class CheckEligibility(Request):
    actor: StaffActor
    contact_id: UUID


class Eligibility(View):
    contact_id: UUID
    eligible: bool
    reasons: list[Problem]


class SendInvitation(Request):
    actor: StaffActor
    contact_id: UUID
    # The same key from the same staff member again returns the invitation it made, sending nothing.
    idempotency_key: IdempotencyKey | None = None


class RevokeAccess(Request):
    actor: StaffActor
    contact_id: UUID
    reason: Reason = "revoked by staff"


class InvitationStateChange(View):
    state: InvitationState
    at: datetime
    detail: str | None


class InvitationView(View):
    id: UUID
    organization_id: UUID
    contact_id: UUID
    email: str
    state: InvitationState
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    sent_by_staff_member_id: UUID
    history: list[InvitationStateChange]


class RevokeResult(View):
    contact_id: UUID
    revoked_invitations: int
    revoked_grants: int
    ended_sessions: int


class ListInvitations(Request):
    organization_id: UUID
    contact_id: UUID | None = None
    state: InvitationState | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class GetInvitation(Request):
    organization_id: UUID
    invitation_id: UUID


class InvitationPage(Page):
    items: list[InvitationView]


class PortalStatus(enum.StrEnum):
    """What staff see in a contact's portal status column."""

    NOT_INVITED = "not_invited"
    INVITED = "invited"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        """The words staff read for it."""
        return _PORTAL_STATUS_LABELS[self]

    @property
    def access_on(self) -> bool:
        """Whether the contact's portal access is on (the console's toggle): an invitation on
        its way, or access granted. Off, an invitation may be sent; on, it may be revoked."""
        return self in _ACCESS_ON


_PORTAL_STATUS_LABELS = {
    PortalStatus.NOT_INVITED: "Not invited",
    PortalStatus.INVITED: "Invited",
    PortalStatus.DELIVERED: "Delivered",
    PortalStatus.BOUNCED: "Bounced",
    PortalStatus.ACTIVE: "Active",
    PortalStatus.EXPIRED: "Expired",
    PortalStatus.REVOKED: "Revoked",
}
_ACCESS_ON = frozenset(
    {PortalStatus.INVITED, PortalStatus.DELIVERED, PortalStatus.BOUNCED, PortalStatus.ACTIVE}
)


class GetPortalAccess(Request):
    organization_id: UUID
    contact_ids: list[UUID] = Field(min_length=1, max_length=200)


class PortalAccessView(View):
    contact_id: UUID
    status: PortalStatus
    latest_invitation: InvitationView | None


class PortalAccessList(View):
    items: list[PortalAccessView]


class ListAccessAudit(Request):
    organization_id: UUID
    contact_id: UUID
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class AccessAuditEntry(View):
    """One change to a contact's portal access, or a View As of it: who (a staff member, the
    person's own account, or the platform when both are None), what, when."""

    action: str
    at: datetime
    staff_member_id: UUID | None
    account_id: UUID | None
    detail: str | None


class AccessAuditPage(Page):
    items: list[AccessAuditEntry]


class StartBulkInvitation(Request):
    """Invite many contacts at once; each is checked and sent like a single invitation."""

    actor: StaffActor
    contact_ids: list[UUID] = Field(min_length=1, max_length=MAX_BULK_CONTACTS)


class GetBulkInvitation(Request):
    organization_id: UUID
    job_id: UUID


class BulkInvitationView(View):
    """A bulk invitation and how far it has got: contacts checked, invitations sent, and what
    became of their emails."""

    id: UUID
    organization_id: UUID
    created_by_staff_member_id: UUID
    created_at: datetime
    finished_at: datetime | None
    total: int
    processed: int
    invited: int
    skipped: int
    skipped_reasons: dict[str, int]
    delivered: int
    bounced: int
    accepted: int


# --- portal side (the person, not yet or already signed in) -----------------------------------


class LinkStatus(enum.StrEnum):
    USABLE = "usable"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    USED = "used"
    UNKNOWN = "unknown"


class OpenInvitation(Request):
    token: Secret


class InvitationLanding(View):
    status: LinkStatus
    email: str | None = None
    recipient_name: str | None = None
    organization_name: str | None = None
    account_exists: bool = False


class AcceptInvitation(Request):
    """Create a new portal account from an invitation."""

    token: Secret
    password: Password
    password_confirmation: Password
    client: ClientAddress | None = None


class AcceptInvitationAsAccount(Request):
    """Join the invitation's access to the portal account that already has its email."""

    token: Secret
    password: Password
    client: ClientAddress | None = None


class SessionIssued(View):
    session_id: str
    account_id: UUID
    expires_at: datetime


class Login(Request):
    email: LooseEmail
    password: Password
    # The address the attempt came from; the credential throttle counts per client and per
    # (email, client) (shared/shared/throttle.py).
    client: ClientAddress | None = None


class SessionRef(Request):
    session_id: Secret


class Membership(View):
    grant_id: UUID
    organization_id: UUID
    contact_id: UUID
    contact_type: ContactType
    granted_at: datetime


class ViewingAs(View):
    """Whose view a View As session shows, and whose session it is."""

    staff_member_id: UUID
    contact_name: str
    expires_at: datetime


class PortalSession(View):
    # None for a View As session: it belongs to a staff member, not to a portal account.
    account_id: UUID | None
    email: str
    expires_at: datetime
    memberships: list[Membership]
    # Set when staff view the portal as this contact: every write is refused.
    view_as: ViewingAs | None = None


class StartViewAs(Request):
    """Staff open the portal as the contact sees it (whether or not the contact has an account)."""

    actor: StaffActor
    contact_id: UUID


class ViewAsIssued(View):
    session_id: str
    contact_id: UUID
    expires_at: datetime


class RequestPasswordReset(Request):
    email: LooseEmail
    client: ClientAddress | None = None


class OpenPasswordReset(Request):
    token: Secret


class ResetLanding(View):
    status: LinkStatus


class ResetPassword(Request):
    token: Secret
    password: Password
    password_confirmation: Password
    client: ClientAddress | None = None


CHECK_ELIGIBILITY = RpcMethod("invitations", "check_eligibility", CheckEligibility, Eligibility)
SEND_INVITATION = RpcMethod("invitations", "send_invitation", SendInvitation, InvitationView)
RESEND_INVITATION = RpcMethod("invitations", "resend_invitation", SendInvitation, InvitationView)
REVOKE_ACCESS = RpcMethod("invitations", "revoke_access", RevokeAccess, RevokeResult)
GET_INVITATION = RpcMethod("invitations", "get_invitation", GetInvitation, InvitationView)
LIST_INVITATIONS = RpcMethod("invitations", "list_invitations", ListInvitations, InvitationPage)
GET_PORTAL_ACCESS = RpcMethod(
    "invitations", "get_portal_access", GetPortalAccess, PortalAccessList, (GATEWAY, "notifications")
)
LIST_ACCESS_AUDIT = RpcMethod("invitations", "list_access_audit", ListAccessAudit, AccessAuditPage)
START_BULK_INVITATION = RpcMethod(
    "invitations", "start_bulk_invitation", StartBulkInvitation, BulkInvitationView
)
GET_BULK_INVITATION = RpcMethod("invitations", "get_bulk_invitation", GetBulkInvitation, BulkInvitationView)
OPEN_INVITATION = RpcMethod("invitations", "open_invitation", OpenInvitation, InvitationLanding)
ACCEPT_INVITATION = RpcMethod("invitations", "accept_invitation", AcceptInvitation, SessionIssued)
ACCEPT_INVITATION_AS_ACCOUNT = RpcMethod(
    "invitations", "accept_invitation_as_account", AcceptInvitationAsAccount, SessionIssued
)
LOGIN = RpcMethod("invitations", "login", Login, SessionIssued)
LOGOUT = RpcMethod("invitations", "logout", SessionRef, Empty)
CHECK_SESSION = RpcMethod("invitations", "check_session", SessionRef, PortalSession)
START_VIEW_AS = RpcMethod("invitations", "start_view_as", StartViewAs, ViewAsIssued)
# The portal as the View As session's contact sees it: one membership, `view_as` set.
CHECK_VIEW_AS = RpcMethod("invitations", "check_view_as", SessionRef, PortalSession)
END_VIEW_AS = RpcMethod("invitations", "end_view_as", SessionRef, Empty)
REQUEST_PASSWORD_RESET = RpcMethod("invitations", "request_password_reset", RequestPasswordReset, Empty)
OPEN_PASSWORD_RESET = RpcMethod("invitations", "open_password_reset", OpenPasswordReset, ResetLanding)
RESET_PASSWORD = RpcMethod("invitations", "reset_password", ResetPassword, SessionIssued)
