"""RPC contract of the contacts service: organizations, staff members, contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.common import (
    GATEWAY,
    ClientAddress,
    ContactType,
    Email,
    Empty,
    Locale,
    Name,
    Page,
    Password,
    Request,
    RpcMethod,
    Secret,
    ShortText,
    StaffActor,
    StaffRole,
    View,
)

Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# --- organizations and staff ------------------------------------------------------------------


class OrganizationView(View):
    id: UUID
    name: str
    active: bool
    created_at: datetime


class StaffMemberView(View):
    id: UUID
    organization_id: UUID
    email: str
    name: str
    role: StaffRole
    can_manage_portal_access: bool
    active: bool


class StaffPrincipal(View):
    """An authenticated staff member, as the gateway sees them."""

    staff_member: StaffMemberView
    organization: OrganizationView


class CreateOrganization(Request):
    name: ShortText
    admin_email: Email
    admin_name: Name
    admin_password: Password


class OrganizationCreated(View):
    organization: OrganizationView
    admin: StaffMemberView
    api_token: str


class GetOrganization(Request):
    organization_id: UUID


class CreateStaffMember(Request):
    actor: StaffActor
    email: Email
    name: Name
    role: StaffRole = StaffRole.AGENT
    can_manage_portal_access: bool = False
    password: Password | None = None


class ListStaffMembers(Request):
    """The organization's staff members, by name (who did what, in the console's audit)."""

    organization_id: UUID
    limit: int = Field(default=200, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class StaffMemberPage(Page):
    items: list[StaffMemberView]


class AuthenticateApiToken(Request):
    token: Secret


class StaffLogin(Request):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Password
    # The address the attempt came from, for the credential throttle (shared/shared/throttle.py).
    client: ClientAddress | None = None


class StaffSessionIssued(View):
    session_id: str
    principal: StaffPrincipal


class AuthenticateStaffSession(Request):
    session_id: Secret


class EndStaffSession(Request):
    session_id: Secret


# --- contacts ---------------------------------------------------------------------------------


class ContactView(View):
    id: UUID
    organization_id: UUID
    type: ContactType
    first_name: str
    last_name: str
    display_name: str
    email: str
    phone: str | None
    locale: str
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class NewContact(Request):
    type: ContactType
    first_name: Name
    last_name: Name
    email: Email
    phone: Phone | None = None
    locale: Locale = "en-GB"


class ContactChanges(Request):
    """Only the fields given change (send only those); `type` is fixed once a contact exists."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> ContactChanges:
        given = self.model_fields_set - {"schema_version"}
        if not given:
            raise ValueError("give at least one field to change")
        for name in sorted(given - {"phone"}):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed, only changed (phone can be set to null)")
        return self


class CreateContact(Request):
    actor: StaffActor
    contact: NewContact


class UpdateContact(Request):
    actor: StaffActor
    contact_id: UUID
    changes: ContactChanges


class ArchiveContact(Request):
    actor: StaffActor
    contact_id: UUID


class GetContact(Request):
    organization_id: UUID
    contact_id: UUID


class ListContacts(Request):
    organization_id: UUID
    type: ContactType | None = None
    search: SearchText | None = None
    include_archived: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class ContactPage(Page):
    items: list[ContactView]


class GetEligibilityFacts(Request):
    organization_id: UUID
    contact_id: UUID
    staff_member_id: UUID


class EligibilityFacts(View):
    """What contacts knows that decides whether a portal invitation may go out."""

    contact: ContactView
    organization: OrganizationView
    staff_member: StaffMemberView | None
    # The client groups the contact is an authorised account of (a customer needs one).
    client_group_ids: list[UUID] = Field(default_factory=list)


class GetEligibilityFactsMany(Request):
    organization_id: UUID
    contact_ids: list[UUID] = Field(min_length=1, max_length=500)
    staff_member_id: UUID


class EligibilityFactsMany(View):
    """The facts of each contact of the organization that exists; others are left out."""

    organization: OrganizationView
    staff_member: StaffMemberView | None
    contacts: list[ContactView]
    # Contact id -> the client groups it is an authorised account of; absent: none.
    client_group_ids: dict[UUID, list[UUID]] = Field(default_factory=dict)


# --- client groups (Uptick) -------------------------------------------------------------------

# A top group and at most four levels of groups below it.
MAX_CLIENT_GROUP_DEPTH = 5


class ClientGroupRef(View):
    id: UUID
    name: str
    parent_id: UUID | None


class ClientGroupSummary(ClientGroupRef):
    organization_id: UUID
    member_count: int
    child_count: int


class ClientGroupMemberView(View):
    """A customer contact authorised on the group: they see its properties and those below it."""

    contact_id: UUID
    display_name: str
    email: str
    archived: bool
    added_at: datetime


class ClientGroupView(View):
    id: UUID
    organization_id: UUID
    name: str
    parent: ClientGroupRef | None
    # From the top group down to the parent: where the group sits.
    ancestors: list[ClientGroupRef]
    children: list[ClientGroupRef]
    members: list[ClientGroupMemberView]
    created_at: datetime
    updated_at: datetime


class ClientGroupPage(Page):
    items: list[ClientGroupSummary]


class CreateClientGroup(Request):
    actor: StaffActor
    name: ShortText
    parent_id: UUID | None = None


class ClientGroupChanges(Request):
    """Only the fields given change; `parent_id` null moves the group to the top."""

    name: ShortText | None = None
    parent_id: UUID | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> ClientGroupChanges:
        given = self.model_fields_set - {"schema_version"}
        if not given:
            raise ValueError("give at least one field to change")
        if "name" in given and self.name is None:
            raise ValueError("name cannot be removed, only changed")
        return self


class UpdateClientGroup(Request):
    actor: StaffActor
    client_group_id: UUID
    changes: ClientGroupChanges


class GetClientGroup(Request):
    organization_id: UUID
    client_group_id: UUID


class ListClientGroups(Request):
    organization_id: UUID
    limit: int = Field(default=200, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class ClientGroupMembership(Request):
    """Add or remove a customer contact as an authorised account of a group."""

    actor: StaffActor
    client_group_id: UUID
    contact_id: UUID


class GetContactClientGroups(Request):
    organization_id: UUID
    contact_id: UUID


class Portfolio(View):
    """One group a contact is authorised on, with every group below it: what they may see."""

    group: ClientGroupRef
    # The group itself first, then every group below it, each once.
    groups: list[ClientGroupRef]


class ContactClientGroups(View):
    """A contact's portfolios, one per group they are authorised on (by name); none for a contact
    of another organization or on no group."""

    contact_id: UUID
    portfolios: list[Portfolio]


CREATE_ORGANIZATION = RpcMethod("contacts", "create_organization", CreateOrganization, OrganizationCreated)
GET_ORGANIZATION = RpcMethod("contacts", "get_organization", GetOrganization, OrganizationView)
CREATE_STAFF_MEMBER = RpcMethod("contacts", "create_staff_member", CreateStaffMember, StaffMemberView)
LIST_STAFF_MEMBERS = RpcMethod("contacts", "list_staff_members", ListStaffMembers, StaffMemberPage)
AUTHENTICATE_API_TOKEN = RpcMethod("contacts", "authenticate_api_token", AuthenticateApiToken, StaffPrincipal)
STAFF_LOGIN = RpcMethod("contacts", "staff_login", StaffLogin, StaffSessionIssued)
AUTHENTICATE_STAFF_SESSION = RpcMethod(
    "contacts", "authenticate_staff_session", AuthenticateStaffSession, StaffPrincipal
)
END_STAFF_SESSION = RpcMethod("contacts", "end_staff_session", EndStaffSession, Empty)
CREATE_CONTACT = RpcMethod("contacts", "create_contact", CreateContact, ContactView)
UPDATE_CONTACT = RpcMethod("contacts", "update_contact", UpdateContact, ContactView)
ARCHIVE_CONTACT = RpcMethod("contacts", "archive_contact", ArchiveContact, ContactView)
GET_CONTACT = RpcMethod("contacts", "get_contact", GetContact, ContactView, (GATEWAY, "properties"))
LIST_CONTACTS = RpcMethod("contacts", "list_contacts", ListContacts, ContactPage)
GET_ELIGIBILITY_FACTS = RpcMethod(
    "contacts", "get_eligibility_facts", GetEligibilityFacts, EligibilityFacts, (GATEWAY, "invitations")
)
GET_ELIGIBILITY_FACTS_MANY = RpcMethod(
    "contacts",
    "get_eligibility_facts_many",
    GetEligibilityFactsMany,
    EligibilityFactsMany,
    (GATEWAY, "invitations", "notifications"),
)
CREATE_CLIENT_GROUP = RpcMethod("contacts", "create_client_group", CreateClientGroup, ClientGroupView)
UPDATE_CLIENT_GROUP = RpcMethod("contacts", "update_client_group", UpdateClientGroup, ClientGroupView)
GET_CLIENT_GROUP = RpcMethod(
    "contacts", "get_client_group", GetClientGroup, ClientGroupView, (GATEWAY, "properties")
)
LIST_CLIENT_GROUPS = RpcMethod("contacts", "list_client_groups", ListClientGroups, ClientGroupPage)
ADD_CLIENT_GROUP_MEMBER = RpcMethod(
    "contacts", "add_client_group_member", ClientGroupMembership, ClientGroupView
)
REMOVE_CLIENT_GROUP_MEMBER = RpcMethod(
    "contacts", "remove_client_group_member", ClientGroupMembership, ClientGroupView
)
GET_CONTACT_CLIENT_GROUPS = RpcMethod(
    "contacts",
    "get_contact_client_groups",
    GetContactClientGroups,
    ContactClientGroups,
    (GATEWAY, "properties"),
)
