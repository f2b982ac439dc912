"""Properties, units, leases and the contacts linked to them (a tenant through a lease, a
landlord, vendor or applicant to the property as a whole)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.common import GATEWAY, Page, Request, RpcMethod, ShortText, StaffActor, View

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Postcode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class PropertyRole(enum.StrEnum):
    """How a contact is linked to a property as a whole (tenants are linked through leases)."""

    LANDLORD = "landlord"
    VENDOR = "vendor"
    # Someone looking to buy or rent the property: sees their own viewings and offers on it.
    APPLICANT = "applicant"


class UnitView(View):
    id: UUID
    property_id: UUID
    name: str


class PropertyContactView(View):
    contact_id: UUID
    role: PropertyRole
    linked_at: datetime


class PropertyView(View):
    id: UUID
    organization_id: UUID
    name: str
    address_line1: str
    address_line2: str | None
    city: str
    postcode: str
    country: str
    units: list[UnitView]
    contacts: list[PropertyContactView]
    created_at: datetime
    # The client group (of the contacts service) the property is in, if any: at most one.
    client_group_id: UUID | None = None


class PropertyPage(Page):
    items: list[PropertyView]


class NewProperty(Request):
    name: ShortText
    address_line1: ShortText
    address_line2: ShortText | None = None
    city: ShortText
    postcode: Postcode
    country: CountryCode = "GB"


class CreateProperty(Request):
    actor: StaffActor
    property: NewProperty


class AddUnit(Request):
    actor: StaffActor
    property_id: UUID
    name: ShortText


class LeaseView(View):
    id: UUID
    organization_id: UUID
    unit_id: UUID
    property_id: UUID
    start_date: date
    end_date: date | None
    tenant_contact_ids: list[UUID]
    created_at: datetime


class CreateLease(Request):
    actor: StaffActor
    unit_id: UUID
    start_date: date
    end_date: date | None = None
    tenant_contact_ids: list[UUID] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _dates_in_order(self) -> CreateLease:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if len(set(self.tenant_contact_ids)) != len(self.tenant_contact_ids):
            raise ValueError("tenant_contact_ids lists a contact twice")
        return self


class EndLease(Request):
    actor: StaffActor
    lease_id: UUID
    end_date: date


class LinkContact(Request):
    actor: StaffActor
    property_id: UUID
    contact_id: UUID
    role: PropertyRole


class UnlinkContact(Request):
    """Remove the contact's link to the property, whatever its role (a contact's type allows one).
    NotFound if there is no such link in the organization."""

    actor: StaffActor
    property_id: UUID
    contact_id: UUID


class GetProperty(Request):
    organization_id: UUID
    property_id: UUID


class ListProperties(Request):
    organization_id: UUID
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class GetContactLinks(Request):
    organization_id: UUID
    contact_id: UUID


class LeaseLink(View):
    lease_id: UUID
    unit_id: UUID
    unit_name: str
    property_id: UUID
    property_name: str
    address: str
    start_date: date
    end_date: date | None
    active: bool
    # What the tenant owes on the lease today (negative: in credit), and how much of it is past
    # its due date. See `LeaseStatement`.
    balance_due_minor: int = 0
    overdue_minor: int = 0


class PropertyLink(View):
    property_id: UUID
    property_name: str
    address: str
    role: PropertyRole
    active: bool


class ContactLinks(View):
    """What a contact is linked to today, and whether each link is active."""

    contact_id: UUID
    leases: list[LeaseLink]
    properties: list[PropertyLink]

    @property
    def has_active_lease(self) -> bool:
        return any(lease.active for lease in self.leases)

    @property
    def has_active_property_link(self) -> bool:
        return any(link.active for link in self.properties)


class GetContactLinksMany(Request):
    organization_id: UUID
    contact_ids: list[UUID] = Field(min_length=1, max_length=500)


class ContactLinksMany(View):
    items: list[ContactLinks]


CREATE_PROPERTY = RpcMethod("properties", "create_property", CreateProperty, PropertyView)
ADD_UNIT = RpcMethod("properties", "add_unit", AddUnit, UnitView)
CREATE_LEASE = RpcMethod("properties", "create_lease", CreateLease, LeaseView)
END_LEASE = RpcMethod("properties", "end_lease", EndLease, LeaseView)
LINK_CONTACT = RpcMethod("properties", "link_contact", LinkContact, PropertyView)
UNLINK_CONTACT = RpcMethod("properties", "unlink_contact", UnlinkContact, PropertyView)
GET_PROPERTY = RpcMethod("properties", "get_property", GetProperty, PropertyView)
LIST_PROPERTIES = RpcMethod("properties", "list_properties", ListProperties, PropertyPage)
GET_CONTACT_LINKS = RpcMethod(
    "properties", "get_contact_links", GetContactLinks, ContactLinks, (GATEWAY, "invitations")
)
GET_CONTACT_LINKS_MANY = RpcMethod(
    "properties", "get_contact_links_many", GetContactLinksMany, ContactLinksMany, (GATEWAY, "invitations")
)
