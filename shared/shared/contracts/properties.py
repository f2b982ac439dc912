"""RPC contract of the properties service: properties, units, leases and who is linked to them,
what a tenant owes on a lease (charges, payments, the statement), maintenance requests, viewings
with their feedback and offers on a property, and who sees viewing feedback (visibility).

Money is an integer number of minor units (pence): never a float. One currency (GBP) for now.

Reads for the portal carry the contact the signed-in person is (from their verified membership):
the service answers NotFound unless that contact is a party of the lease asked about (or, for a
landlord or vendor, linked to the property asked about)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, model_validator

from shared.contracts.common import (
    ContactType,
    IdempotencyKey,
    Page,
    Request,
    RpcMethod,
    ShortText,
    StaffActor,
    View,
)

CURRENCY = "GBP"
# The largest single charge or payment: £1,000,000.00. Larger is a typing mistake, not a rent.
MAX_AMOUNT_MINOR = 100_000_000
AmountMinor = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        le=MAX_AMOUNT_MINOR,
        description="In minor units (pence): 125000 is £1,250.00. A whole number above 0.",
    ),
]
PaymentReference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

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


# --- what a tenant owes: charges, payments, the statement ------------------------------------


class AddCharge(Request):
    """Staff charge the lease's tenants: rent, a deposit, a repair they are liable for."""

    actor: StaffActor
    lease_id: UUID
    description: ShortText
    amount_minor: AmountMinor
    due_date: date
    idempotency_key: IdempotencyKey | None = None


class RecordPayment(Request):
    """Staff record money received from the lease's tenants."""

    actor: StaffActor
    lease_id: UUID
    amount_minor: AmountMinor
    paid_on: date
    reference: PaymentReference | None = None
    idempotency_key: IdempotencyKey | None = None


class ChargeView(View):
    id: UUID
    lease_id: UUID
    description: str
    amount_minor: int
    due_date: date
    created_at: datetime


class PaymentView(View):
    id: UUID
    lease_id: UUID
    amount_minor: int
    paid_on: date
    reference: str | None
    created_at: datetime


class StatementEntryKind(enum.StrEnum):
    CHARGE = "charge"
    PAYMENT = "payment"


class StatementLine(View):
    """One charge or payment, in date order, with the balance after it."""

    kind: StatementEntryKind
    id: UUID
    # A charge's due date, a payment's date.
    date: date
    description: str
    amount_minor: int
    reference: str | None = None
    running_balance_minor: int
    # A charge past its due date that payments (taken oldest charge first) have not covered.
    overdue: bool = False


class LeaseStatement(View):
    """A lease and what its tenants owe on it on `as_of`: total charged minus total paid is the
    balance due (negative: in credit); payments pay the oldest charges first, so what is overdue is
    whatever of the charges due before `as_of` they have not covered."""

    lease: LeaseLink
    as_of: date
    currency: str = CURRENCY
    lines: list[StatementLine]
    total_charged_minor: int
    total_paid_minor: int
    balance_due_minor: int
    overdue_minor: int


class GetLeaseStatement(Request):
    """Staff read a lease's statement."""

    organization_id: UUID
    lease_id: UUID


class GetPartyLeaseStatement(Request):
    """A portal user reads the statement of a lease they are a party of, as `contact_id` (from
    their verified membership)."""

    organization_id: UUID
    contact_id: UUID
    lease_id: UUID


# --- maintenance requests ---------------------------------------------------------------------


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


# --- viewings, viewing feedback and offers (Rezi) ----------------------------------------------


class ViewingStatus(enum.StrEnum):
    BOOKED = "booked"
    DONE = "done"
    CANCELLED = "cancelled"


class InterestLevel(enum.StrEnum):
    """How interested the applicant said they were after the viewing."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class OfferStatus(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


MAX_FEEDBACK_LENGTH = 2000
# The largest offer: £100,000,000.00. A property costs more than a rent, so not `AmountMinor`.
MAX_OFFER_MINOR = 10_000_000_000
OfferAmountMinor = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        le=MAX_OFFER_MINOR,
        description="In minor units (pence): 32500000 is £325,000.00. A whole number above 0.",
    ),
]


def _plausible_moment(value: datetime) -> datetime:
    # Far-off years are typing mistakes, and PostgreSQL keeps dates that Python cannot read back.
    if not 1900 <= value.year <= 2200:
        raise ValueError("must be between the years 1900 and 2200")
    return value


# A moment with its UTC offset ("2026-03-14T10:30:00Z"): a viewing's time means nothing without one.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible_moment)]
ViewingFeedbackText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_FEEDBACK_LENGTH)
]


class NewViewing(Request):
    scheduled_at: Moment
    applicant_name: ShortText
    status: ViewingStatus = ViewingStatus.BOOKED
    # The applicant contact who books it, if they have one: they see it on their portal.
    applicant_contact_id: UUID | None = None


class CreateViewing(Request):
    actor: StaffActor
    property_id: UUID
    viewing: NewViewing


class RecordViewingFeedback(Request):
    """Staff record what the applicant said after a viewing (a booked viewing is then done)."""

    actor: StaffActor
    viewing_id: UUID
    feedback: ViewingFeedbackText
    interest_level: InterestLevel | None = None


class UpdateViewingStatus(Request):
    """Staff mark a booked viewing done or cancelled."""

    actor: StaffActor
    viewing_id: UUID
    status: ViewingStatus


class ViewingView(View):
    """A viewing; `feedback` and `interest_level` are None when there is none, or when the person
    reading may not see viewing feedback."""

    id: UUID
    organization_id: UUID
    property_id: UUID
    scheduled_at: datetime
    applicant_name: str
    status: ViewingStatus
    feedback: str | None
    interest_level: InterestLevel | None
    feedback_at: datetime | None
    created_at: datetime
    applicant_contact_id: UUID | None = None


class ViewingList(View):
    items: list[ViewingView]


class NewOffer(Request):
    amount_minor: OfferAmountMinor
    offerer_name: ShortText
    received_at: Moment | None = None
    # The applicant contact who made it, if they have one: they see it on their portal.
    offerer_contact_id: UUID | None = None


class CreateOffer(Request):
    actor: StaffActor
    property_id: UUID
    offer: NewOffer


class UpdateOfferStatus(Request):
    actor: StaffActor
    offer_id: UUID
    status: OfferStatus


class OfferView(View):
    id: UUID
    organization_id: UUID
    property_id: UUID
    amount_minor: int
    currency: str = CURRENCY
    offerer_name: str
    status: OfferStatus
    received_at: datetime
    updated_at: datetime
    offerer_contact_id: UUID | None = None


class OfferList(View):
    items: list[OfferView]


class ListPropertyViewings(Request):
    """Staff list a property's viewings, newest first, with their feedback."""

    organization_id: UUID
    property_id: UUID


class ListPropertyOffers(Request):
    organization_id: UUID
    property_id: UUID


class GetContactPropertyActivity(Request):
    """A landlord or vendor reads a property they are linked to, as `contact_id` (from their
    verified membership): NotFound unless that contact is linked to it."""

    organization_id: UUID
    contact_id: UUID
    property_id: UUID


# --- sale and letting progress, tenancies for landlords ----------------------------------------


class MarketingKind(enum.StrEnum):
    SALE = "sale"
    LETTING = "letting"


class MarketingStage(enum.StrEnum):
    """Every stage of a sale or a letting; `STAGES_BY_KIND` says which belong to which, in order."""

    INSTRUCTED = "instructed"
    ON_THE_MARKET = "on_the_market"
    UNDER_OFFER = "under_offer"
    SOLD_STC = "sold_subject_to_contract"
    EXCHANGED = "exchanged"
    COMPLETED = "completed"
    LET_AGREED = "let_agreed"
    REFERENCING = "referencing"
    TENANCY_STARTED = "tenancy_started"
    WITHDRAWN = "withdrawn"


# The stages of each kind in the order a property moves through them; withdrawn is last and can be
# reached from any stage before the final one.
STAGES_BY_KIND: dict[MarketingKind, tuple[MarketingStage, ...]] = {
    MarketingKind.SALE: (
        MarketingStage.INSTRUCTED,
        MarketingStage.ON_THE_MARKET,
        MarketingStage.UNDER_OFFER,
        MarketingStage.SOLD_STC,
        MarketingStage.EXCHANGED,
        MarketingStage.COMPLETED,
        MarketingStage.WITHDRAWN,
    ),
    MarketingKind.LETTING: (
        MarketingStage.INSTRUCTED,
        MarketingStage.ON_THE_MARKET,
        MarketingStage.LET_AGREED,
        MarketingStage.REFERENCING,
        MarketingStage.TENANCY_STARTED,
        MarketingStage.WITHDRAWN,
    ),
}
MarketingNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class SetMarketingStage(Request):
    """Staff move a property's sale or letting to `stage`, reached on `reached_on` (today if not
    given). A stage that is not one of the kind's is refused here; a move the property's progress
    does not allow is refused by the service (Conflict with `allowed`)."""

    actor: StaffActor
    property_id: UUID
    kind: MarketingKind
    stage: MarketingStage
    note: MarketingNote | None = None
    reached_on: date | None = None

    @model_validator(mode="after")
    def _stage_of_kind(self) -> SetMarketingStage:
        if self.stage not in STAGES_BY_KIND[self.kind]:
            raise ValueError(f"{self.stage.value} is not a stage of a {self.kind.value}")
        return self


class GetMarketingProgress(Request):
    organization_id: UUID
    property_id: UUID


class MarketingStep(View):
    kind: MarketingKind
    stage: MarketingStage
    reached_on: date
    note: str | None
    recorded_at: datetime


class MarketingProgress(View):
    """A property's sale or letting: the current stage (None: never marketed) and every stage it
    reached, oldest first. `allowed` lists the stages it may move to next, by kind."""

    property_id: UUID
    kind: MarketingKind | None
    stage: MarketingStage | None
    history: list[MarketingStep]
    allowed: dict[MarketingKind, list[MarketingStage]] = Field(default_factory=dict)


class TenancyState(enum.StrEnum):
    UPCOMING = "upcoming"
    CURRENT = "current"
    ENDED = "ended"


class PropertyTenancy(View):
    """A lease of one of the property's units as its landlord sees it: no tenant's email, no
    statement. Leases carry no rent (charges are separate), so there is none to show."""

    lease_id: UUID
    unit_name: str
    start_date: date
    end_date: date | None
    state: TenancyState


class PropertyActivity(View):
    """What a landlord, vendor or applicant sees of the property: its viewings (with feedback only
    if `feedback_visible`) and its offers (an applicant: only their own), the progress of its sale
    or letting (landlords and vendors; None for an applicant), and the tenancies of its units
    (landlords only; empty for anyone else)."""

    property: PropertyLink
    feedback_visible: bool
    viewings: list[ViewingView]
    offers: list[OfferView]
    progress: MarketingProgress | None = None
    tenancies: list[PropertyTenancy] = Field(default_factory=list)


# --- visibility -------------------------------------------------------------------------------


class VisibilitySubject(enum.StrEnum):
    VIEWING_FEEDBACK = "viewing_feedback"


class VisibilityLevel(enum.StrEnum):
    """Where a rule in the chain comes from, most general first."""

    DEFAULT = "default"
    ORGANIZATION = "organization"
    PROPERTY = "property"
    CONTACT = "contact"


class SetVisibility(Request):
    """Set whether contacts see a subject: for every contact of a type in the organization
    (`contact_type`), for every contact of a type on one property (`contact_type` and
    `property_id`, which beats the organization's), or for one contact (`contact_id`, which beats
    both). `visible` null removes the setting: the level above decides again."""

    actor: StaffActor
    subject: VisibilitySubject
    contact_type: ContactType | None = None
    contact_id: UUID | None = None
    property_id: UUID | None = None
    visible: bool | None

    @model_validator(mode="after")
    def _one_target(self) -> SetVisibility:
        if (self.contact_type is None) == (self.contact_id is None):
            raise ValueError("give either contact_type or contact_id, not both")
        if self.property_id is not None and self.contact_type is None:
            raise ValueError("a property's setting is for a contact_type")
        return self


class VisibilitySettingView(View):
    """The setting as it now stands; `visible` null: none at this level (it was removed)."""

    organization_id: UUID
    subject: VisibilitySubject
    contact_type: ContactType | None
    contact_id: UUID | None
    property_id: UUID | None = None
    visible: bool | None
    updated_at: datetime


class ListVisibilitySettings(Request):
    organization_id: UUID
    subject: VisibilitySubject


class TypeVisibility(View):
    """For every contact of a type: the platform's default, the organization's setting (None: it
    has none) and what holds, before any contact's own setting."""

    contact_type: ContactType
    default: bool
    setting: bool | None
    visible: bool


class VisibilityByType(View):
    subject: VisibilitySubject
    items: list[TypeVisibility]


class ExplainVisibility(Request):
    """Staff ask why a contact can (or cannot) see a subject; on one property (`property_id`),
    the property's setting is in the chain too."""

    organization_id: UUID
    contact_id: UUID
    subject: VisibilitySubject
    property_id: UUID | None = None


class VisibilityRule(View):
    """One link of the chain: `setting` is None where that level says nothing; `decides` marks the
    rule whose setting holds (the last one that says something)."""

    level: VisibilityLevel
    setting: bool | None
    decides: bool
    explanation: str


class VisibilityExplanation(View):
    contact_id: UUID
    contact_type: ContactType
    subject: VisibilitySubject
    visible: bool
    chain: list[VisibilityRule]


CREATE_PROPERTY = RpcMethod("properties", "create_property", CreateProperty, PropertyView)
ADD_UNIT = RpcMethod("properties", "add_unit", AddUnit, UnitView)
CREATE_LEASE = RpcMethod("properties", "create_lease", CreateLease, LeaseView)
END_LEASE = RpcMethod("properties", "end_lease", EndLease, LeaseView)
LINK_CONTACT = RpcMethod("properties", "link_contact", LinkContact, PropertyView)
UNLINK_CONTACT = RpcMethod("properties", "unlink_contact", UnlinkContact, PropertyView)
GET_PROPERTY = RpcMethod("properties", "get_property", GetProperty, PropertyView)
LIST_PROPERTIES = RpcMethod("properties", "list_properties", ListProperties, PropertyPage)
GET_CONTACT_LINKS = RpcMethod("properties", "get_contact_links", GetContactLinks, ContactLinks)
GET_CONTACT_LINKS_MANY = RpcMethod(
    "properties", "get_contact_links_many", GetContactLinksMany, ContactLinksMany
)
ADD_CHARGE = RpcMethod("properties", "add_charge", AddCharge, ChargeView)
RECORD_PAYMENT = RpcMethod("properties", "record_payment", RecordPayment, PaymentView)
GET_LEASE_STATEMENT = RpcMethod("properties", "get_lease_statement", GetLeaseStatement, LeaseStatement)
GET_PARTY_LEASE_STATEMENT = RpcMethod(
    "properties", "get_party_lease_statement", GetPartyLeaseStatement, LeaseStatement
)
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
CREATE_VIEWING = RpcMethod("properties", "create_viewing", CreateViewing, ViewingView)
RECORD_VIEWING_FEEDBACK = RpcMethod(
    "properties", "record_viewing_feedback", RecordViewingFeedback, ViewingView
)
LIST_PROPERTY_VIEWINGS = RpcMethod("properties", "list_property_viewings", ListPropertyViewings, ViewingList)
CREATE_OFFER = RpcMethod("properties", "create_offer", CreateOffer, OfferView)
UPDATE_OFFER_STATUS = RpcMethod("properties", "update_offer_status", UpdateOfferStatus, OfferView)
LIST_PROPERTY_OFFERS = RpcMethod("properties", "list_property_offers", ListPropertyOffers, OfferList)
GET_CONTACT_PROPERTY_ACTIVITY = RpcMethod(
    "properties", "get_contact_property_activity", GetContactPropertyActivity, PropertyActivity
)
SET_VISIBILITY = RpcMethod("properties", "set_visibility", SetVisibility, VisibilitySettingView)
EXPLAIN_VISIBILITY = RpcMethod("properties", "explain_visibility", ExplainVisibility, VisibilityExplanation)
LIST_VISIBILITY_SETTINGS = RpcMethod(
    "properties", "list_visibility_settings", ListVisibilitySettings, VisibilityByType
)
UPDATE_VIEWING_STATUS = RpcMethod("properties", "update_viewing_status", UpdateViewingStatus, ViewingView)
SET_MARKETING_STAGE = RpcMethod("properties", "set_marketing_stage", SetMarketingStage, MarketingProgress)
GET_MARKETING_PROGRESS = RpcMethod(
    "properties", "get_marketing_progress", GetMarketingProgress, MarketingProgress
)


# --- documents and maintenance photos -----------------------------------------------------------


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    QUOTE = "quote"
    RECEIPT = "receipt"
    OTHER = "other"


class DocumentScope(enum.StrEnum):
    """What a document is about: one lease, one property, or one client group (an id of the
    contacts service)."""

    LEASE = "lease"
    PROPERTY = "property"
    CLIENT_GROUP = "client_group"


# The file types a document may have (a name for people), and those a maintenance photo may have.
DOCUMENT_CONTENT_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "text/plain": "plain text",
}
PHOTO_CONTENT_TYPES: dict[str, str] = {"image/jpeg": "JPEG image", "image/png": "PNG image"}
# The size limit is a setting of the properties service (MAX_DOCUMENT_BYTES, default 5 MiB); no
# setting may go above this ceiling, which bounds the base64 text any payload carries.
DEFAULT_MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DOCUMENT_BYTES_CEILING = 50 * 1024 * 1024
_MAX_BASE64_LENGTH = (MAX_DOCUMENT_BYTES_CEILING + 2) // 3 * 4


def _no_control_characters(value: str) -> str:
    # NUL cannot be stored; line breaks and other controls have no place in a name or title.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


FileName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_no_control_characters),
]
DocumentTitle = Annotated[ShortText, AfterValidator(_no_control_characters)]
ContentType = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=100)]
Base64Content = Annotated[str, StringConstraints(max_length=_MAX_BASE64_LENGTH)]


class FileUpload(Request):
    """A file as it travels in a payload: its bytes in standard base64. The properties service
    checks the type (against the allow-list and the bytes themselves), the size and that it is not
    empty: InvalidInput, with the field `file`, otherwise."""

    file_name: FileName
    content_type: ContentType
    content_base64: Base64Content


class UploadDocument(Request):
    """Staff store a document on exactly one of a lease, a property or a client group, shared with
    the contact types in `audiences` (None: the default for its kind and scope, see
    `properties/document_rules.py`; an empty list: staff only)."""

    actor: StaffActor
    kind: DocumentKind
    title: DocumentTitle
    lease_id: UUID | None = None
    property_id: UUID | None = None
    client_group_id: UUID | None = None
    audiences: list[ContactType] | None = Field(default=None, max_length=len(ContactType))
    file: FileUpload

    @model_validator(mode="after")
    def _one_scope(self) -> UploadDocument:
        if sum(scope is not None for scope in (self.lease_id, self.property_id, self.client_group_id)) != 1:
            raise ValueError("give exactly one of lease_id, property_id and client_group_id")
        if self.audiences is not None and len(set(self.audiences)) != len(self.audiences):
            raise ValueError("audiences lists a contact type twice")
        return self


class DocumentView(View):
    """A document without its bytes. `scope` says which of `lease_id`, `property_id` and
    `client_group_id` is set; `audiences` are the contact types it is shared with."""

    id: UUID
    organization_id: UUID
    kind: DocumentKind
    title: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    scope: DocumentScope
    lease_id: UUID | None
    property_id: UUID | None
    client_group_id: UUID | None
    audiences: list[ContactType]
    uploaded_by_staff_member_id: UUID
    created_at: datetime
    updated_at: datetime


class DocumentList(View):
    items: list[DocumentView]


class DocumentFile(View):
    """A document with its bytes, in standard base64."""

    document: DocumentView
    content_base64: str


class ListDocuments(Request):
    """Staff list the documents of one lease, property or client group, newest first. NotFound for
    one the organization does not have (a client group is asked of the contacts service)."""

    organization_id: UUID
    lease_id: UUID | None = None
    property_id: UUID | None = None
    client_group_id: UUID | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> ListDocuments:
        if sum(scope is not None for scope in (self.lease_id, self.property_id, self.client_group_id)) != 1:
            raise ValueError("give exactly one of lease_id, property_id and client_group_id")
        return self


class GetDocument(Request):
    organization_id: UUID
    document_id: UUID


class SetDocumentAudiences(Request):
    """Staff change who sees a document: the contact types in `audiences` (empty: staff only)."""

    actor: StaffActor
    document_id: UUID
    audiences: list[ContactType] = Field(max_length=len(ContactType))

    @model_validator(mode="after")
    def _each_once(self) -> SetDocumentAudiences:
        if len(set(self.audiences)) != len(self.audiences):
            raise ValueError("audiences lists a contact type twice")
        return self


class DeleteDocument(Request):
    actor: StaffActor
    document_id: UUID


class ListPartyDocuments(Request):
    """A portal user lists the documents they may see on one of their leases (`lease_id`: its own
    and its property's shared with tenants), one of their properties (`property_id`: as its
    landlord or vendor, or as a customer of its client group: its own, its leases' and its group's),
    or one of a customer's portfolios (`client_group_id`, a group they are an authorised account of:
    the documents of that group and of every group below it), as `contact_id` (from their verified
    membership). NotFound unless that contact is a party of the lease, linked to the property or
    authorised on a group it is in (or one above), or authorised on the group."""

    organization_id: UUID
    contact_id: UUID
    lease_id: UUID | None = None
    property_id: UUID | None = None
    client_group_id: UUID | None = None

    @model_validator(mode="after")
    def _one_place(self) -> ListPartyDocuments:
        if sum(place is not None for place in (self.lease_id, self.property_id, self.client_group_id)) != 1:
            raise ValueError("give exactly one of lease_id, property_id and client_group_id")
        return self


class GetPartyDocumentFile(Request):
    """A portal user downloads a document, as `contact_id`: NotFound unless the rules let that
    contact see it (read now: a change holds from the next request)."""

    organization_id: UUID
    contact_id: UUID
    document_id: UUID


class ExplainDocumentVisibility(Request):
    """Staff ask why a contact can (or cannot) see a document."""

    organization_id: UUID
    document_id: UUID
    contact_id: UUID


class DocumentRule(enum.StrEnum):
    """The links of the chain, in order: how the contact is linked to what the document is about,
    whether the document is shared with that kind of contact, and what follows."""

    SCOPE_LINK = "scope_link"
    AUDIENCE = "audience"
    RESULT = "result"


class DocumentVisibilityStep(View):
    rule: DocumentRule
    passed: bool
    explanation: str


class DocumentVisibilityExplanation(View):
    document_id: UUID
    contact_id: UUID
    contact_type: ContactType
    # The contact types through which the contact is linked to the document's lease, property or
    # client group (a tenant on the lease, the property's landlord, ...).
    linked_as: list[ContactType]
    audiences: list[ContactType]
    visible: bool
    chain: list[DocumentVisibilityStep]


class MaintenancePhotoView(View):
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str


class MaintenancePhotoFile(View):
    request_id: UUID
    photo: MaintenancePhotoView
    content_base64: str


class GetMaintenancePhoto(Request):
    """Staff read a request's photo."""

    organization_id: UUID
    request_id: UUID


class GetPartyMaintenancePhoto(Request):
    """A portal user reads the photo of a request on a lease they are a party of."""

    organization_id: UUID
    contact_id: UUID
    request_id: UUID


UPLOAD_DOCUMENT = RpcMethod("properties", "upload_document", UploadDocument, DocumentView)
LIST_DOCUMENTS = RpcMethod("properties", "list_documents", ListDocuments, DocumentList)
GET_DOCUMENT_FILE = RpcMethod("properties", "get_document_file", GetDocument, DocumentFile)
SET_DOCUMENT_AUDIENCES = RpcMethod("properties", "set_document_audiences", SetDocumentAudiences, DocumentView)
DELETE_DOCUMENT = RpcMethod("properties", "delete_document", DeleteDocument, DocumentView)
LIST_PARTY_DOCUMENTS = RpcMethod("properties", "list_party_documents", ListPartyDocuments, DocumentList)
GET_PARTY_DOCUMENT_FILE = RpcMethod(
    "properties", "get_party_document_file", GetPartyDocumentFile, DocumentFile
)
EXPLAIN_DOCUMENT_VISIBILITY = RpcMethod(
    "properties", "explain_document_visibility", ExplainDocumentVisibility, DocumentVisibilityExplanation
)
GET_MAINTENANCE_PHOTO = RpcMethod(
    "properties", "get_maintenance_photo", GetMaintenancePhoto, MaintenancePhotoFile
)
GET_PARTY_MAINTENANCE_PHOTO = RpcMethod(
    "properties", "get_party_maintenance_photo", GetPartyMaintenancePhoto, MaintenancePhotoFile
)
# Defined above the documents section, they name its models.
CreateMaintenanceRequest.model_rebuild()
MaintenanceRequestView.model_rebuild()


# --- customers' portfolios (Uptick) -------------------------------------------------------------


class AssignClientGroup(Request):
    """Staff put a property in a client group of the organization (a property is in at most one,
    so this moves it out of any other), or take it out of its group (`client_group_id` null)."""

    actor: StaffActor
    property_id: UUID
    client_group_id: UUID | None


class ListClientGroupProperties(Request):
    """Staff list the properties in one client group (not those of the groups below it). NotFound
    for a group the organization does not have (asked of the contacts service)."""

    organization_id: UUID
    client_group_id: UUID


class GetCustomerPortfolio(Request):
    """A customer reads one of their portfolios as `contact_id` (from their verified membership):
    the client group `client_group_id` they are an authorised account of (None: their first) with
    every group below it. NotFound for a group they are not authorised on."""

    organization_id: UUID
    contact_id: UUID
    client_group_id: UUID | None = None


class GetCustomerProperty(Request):
    """A customer reads one property of their portfolios, as `contact_id`: NotFound unless it is in
    a group they are authorised on or in a group below one."""

    organization_id: UUID
    contact_id: UUID
    property_id: UUID


class PortfolioGroup(View):
    client_group_id: UUID
    name: str
    parent_id: UUID | None


class PortfolioProperty(View):
    property_id: UUID
    property_name: str
    address: str
    client_group_id: UUID
    client_group_name: str
    # Maintenance requests on the property's leases not yet completed or cancelled.
    open_requests: int
    # Defects staff recorded on the property that are still open (`defects.py`).
    open_defects: int = 0


class StatusCount(View):
    status: MaintenanceStatus
    count: int


class MonthCount(View):
    # The first day of the month (UTC).
    month: date
    count: int


class CustomerPortfolio(View):
    """A customer's portfolio: its properties with their open maintenance requests, and the
    dashboard's figures. `portfolios` are every group the contact is authorised on (the switcher);
    `current` the one shown, None when there is none."""

    contact_id: UUID
    portfolios: list[PortfolioGroup]
    current: PortfolioGroup | None
    # The current group first, then every group below it.
    groups: list[PortfolioGroup]
    properties: list[PortfolioProperty]
    # Open requests by status, every open status in order (zeros too).
    open_by_status: list[StatusCount]
    # Requests made in each of the last 12 months (UTC), oldest first, this month last.
    requests_by_month: list[MonthCount]
    as_of: date


class CustomerProperty(View):
    """One property of a customer's portfolios and the maintenance requests on its leases, newest
    first (open and closed)."""

    property: PortfolioProperty
    requests: list[MaintenanceRequestSummary]
    # Defects staff recorded on the property: open ones (newest found first), then resolved ones
    # (latest resolved first).
    open_defects: list[CustomerDefect] = Field(default_factory=list)
    resolved_defects: list[CustomerDefect] = Field(default_factory=list)


ASSIGN_CLIENT_GROUP = RpcMethod("properties", "assign_client_group", AssignClientGroup, PropertyView)
LIST_CLIENT_GROUP_PROPERTIES = RpcMethod(
    "properties", "list_client_group_properties", ListClientGroupProperties, PropertyPage
)
GET_CUSTOMER_PORTFOLIO = RpcMethod(
    "properties", "get_customer_portfolio", GetCustomerPortfolio, CustomerPortfolio
)
GET_CUSTOMER_PROPERTY = RpcMethod(
    "properties", "get_customer_property", GetCustomerProperty, CustomerProperty
)


# --- defects staff record on a property (Uptick) ------------------------------------------------


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
# Defined above this section, it names its models.
CustomerProperty.model_rebuild()
