"""Sale and letting progress (the marketing stages a property moves through), tenancies for
landlords, and what a contact sees of a property's activity."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.common import Request, RpcMethod, StaffActor, View
from shared.contracts.properties.property_records import PropertyLink
from shared.contracts.properties.viewings import OfferView, ViewingView


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


class GetContactPropertyActivity(Request):
    """A landlord or vendor reads a property they are linked to, as `contact_id` (from their
    verified membership): NotFound unless that contact is linked to it."""

    organization_id: UUID
    contact_id: UUID
    property_id: UUID


GET_CONTACT_PROPERTY_ACTIVITY = RpcMethod(
    "properties", "get_contact_property_activity", GetContactPropertyActivity, PropertyActivity
)
SET_MARKETING_STAGE = RpcMethod("properties", "set_marketing_stage", SetMarketingStage, MarketingProgress)
GET_MARKETING_PROGRESS = RpcMethod(
    "properties", "get_marketing_progress", GetMarketingProgress, MarketingProgress
)
