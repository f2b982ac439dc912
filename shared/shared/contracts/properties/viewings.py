"""Viewings of a property, the feedback on them, and offers on it (Rezi)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from shared.contracts.common import Request, RpcMethod, ShortText, StaffActor, View
from shared.contracts.properties.statements import CURRENCY


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


CREATE_VIEWING = RpcMethod("properties", "create_viewing", CreateViewing, ViewingView)
RECORD_VIEWING_FEEDBACK = RpcMethod(
    "properties", "record_viewing_feedback", RecordViewingFeedback, ViewingView
)
LIST_PROPERTY_VIEWINGS = RpcMethod("properties", "list_property_viewings", ListPropertyViewings, ViewingList)
CREATE_OFFER = RpcMethod("properties", "create_offer", CreateOffer, OfferView)
UPDATE_OFFER_STATUS = RpcMethod("properties", "update_offer_status", UpdateOfferStatus, OfferView)
LIST_PROPERTY_OFFERS = RpcMethod("properties", "list_property_offers", ListPropertyOffers, OfferList)
UPDATE_VIEWING_STATUS = RpcMethod("properties", "update_viewing_status", UpdateViewingStatus, ViewingView)
