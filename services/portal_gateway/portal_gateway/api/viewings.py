"""/api/v1 viewings of a property with their feedback, offers on a property, and who sees viewing
feedback on the portal (visibility settings, and why a contact can or cannot see it)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import properties as p
from shared.contracts.common import ContactType, ShortText
from shared.contracts.validation import parse

router = APIRouter(tags=["viewings, offers and visibility"])


class NewViewing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheduled_at: p.Moment
    applicant_name: ShortText
    status: p.ViewingStatus = p.ViewingStatus.BOOKED
    applicant_contact_id: UUID | None = None


class ViewingFeedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feedback: p.ViewingFeedbackText
    interest_level: p.InterestLevel | None = None


class ViewingStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: p.ViewingStatus


class NewOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_minor: p.OfferAmountMinor
    offerer_name: ShortText
    received_at: p.Moment | None = None
    offerer_contact_id: UUID | None = None


class OfferStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: p.OfferStatus


class FeedbackVisibility(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_type: ContactType | None = None
    contact_id: UUID | None = None
    property_id: UUID | None = None
    visible: bool | None


@router.post(
    "/properties/{property_id}/viewings",
    response_model=p.ViewingView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def create_viewing(property_id: UUID, body: NewViewing, staff: Staff, rpc: Rpc) -> p.ViewingView:
    """A viewing of the property by an applicant (named as free text), booked unless said. With
    `applicant_contact_id` (an applicant contact of the organization: 404 for any other, 422 for
    another type or an archived one), that applicant sees it on the portal once linked to the
    property as `applicant`."""
    viewing = p.NewViewing(**body.model_dump())
    return await rpc.call(
        p.CREATE_VIEWING,
        p.CreateViewing(actor=require_editor(staff), property_id=property_id, viewing=viewing),
    )


@router.get("/properties/{property_id}/viewings", response_model=p.ViewingList)
async def list_viewings(property_id: UUID, staff: Staff, rpc: Rpc) -> p.ViewingList:
    """The property's viewings, latest first, with their feedback."""
    return await rpc.call(
        p.LIST_PROPERTY_VIEWINGS,
        p.ListPropertyViewings(organization_id=staff.organization.id, property_id=property_id),
    )


@router.post("/viewings/{viewing_id}/feedback", response_model=p.ViewingView, responses=WRITE_ERROR_RESPONSES)
async def record_viewing_feedback(
    viewing_id: UUID, body: ViewingFeedback, staff: Staff, rpc: Rpc
) -> p.ViewingView:
    """What the applicant said after the viewing (replacing any earlier feedback); a booked viewing
    is then done. A cancelled viewing takes none (409)."""
    return await rpc.call(
        p.RECORD_VIEWING_FEEDBACK,
        p.RecordViewingFeedback(actor=require_editor(staff), viewing_id=viewing_id, **body.model_dump()),
    )


@router.post("/viewings/{viewing_id}/status", response_model=p.ViewingView, responses=WRITE_ERROR_RESPONSES)
async def change_viewing_status(
    viewing_id: UUID, body: ViewingStatusChange, staff: Staff, rpc: Rpc
) -> p.ViewingView:
    """Mark a booked viewing done or cancelled; a done or cancelled viewing stays so (409)."""
    return await rpc.call(
        p.UPDATE_VIEWING_STATUS,
        p.UpdateViewingStatus(actor=require_editor(staff), viewing_id=viewing_id, status=body.status),
    )


@router.post(
    "/properties/{property_id}/offers",
    response_model=p.OfferView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def create_offer(property_id: UUID, body: NewOffer, staff: Staff, rpc: Rpc) -> p.OfferView:
    """An offer of `amount_minor` pence on the property, received now unless `received_at` says.
    With `offerer_contact_id` (an applicant contact, as for a viewing), that applicant sees it on the
    portal once linked to the property as `applicant`."""
    offer = p.NewOffer(**body.model_dump())
    return await rpc.call(
        p.CREATE_OFFER, p.CreateOffer(actor=require_editor(staff), property_id=property_id, offer=offer)
    )


@router.get("/properties/{property_id}/offers", response_model=p.OfferList)
async def list_offers(property_id: UUID, staff: Staff, rpc: Rpc) -> p.OfferList:
    """The property's offers, latest received first."""
    return await rpc.call(
        p.LIST_PROPERTY_OFFERS,
        p.ListPropertyOffers(organization_id=staff.organization.id, property_id=property_id),
    )


@router.post("/offers/{offer_id}/status", response_model=p.OfferView, responses=WRITE_ERROR_RESPONSES)
async def change_offer_status(offer_id: UUID, body: OfferStatusChange, staff: Staff, rpc: Rpc) -> p.OfferView:
    """Accept, reject or withdraw a received offer, or withdraw an accepted one; anything else is
    409 `conflict` with `details.allowed`."""
    return await rpc.call(
        p.UPDATE_OFFER_STATUS,
        p.UpdateOfferStatus(actor=require_editor(staff), offer_id=offer_id, status=body.status),
    )


@router.put(
    "/visibility/viewing-feedback", response_model=p.VisibilitySettingView, responses=WRITE_ERROR_RESPONSES
)
async def set_feedback_visibility(
    body: FeedbackVisibility, staff: Staff, rpc: Rpc
) -> p.VisibilitySettingView:
    """Show or hide viewing feedback on the portal for every contact of a type (`contact_type`),
    for every contact of a type on one property (`contact_type` and `property_id`, which beats
    the organization's), or for one contact (`contact_id`, which beats both); give a type or a
    contact (422 otherwise). Without settings, landlords see feedback and vendors do not. `visible: null`
    removes the setting, so the level above decides again. It holds from the person's next page
    load."""
    command = parse(
        p.SetVisibility,
        {
            "actor": require_editor(staff),
            "subject": p.VisibilitySubject.VIEWING_FEEDBACK,
            **body.model_dump(),
        },
    )
    return await rpc.call(p.SET_VISIBILITY, command)


@router.get("/visibility/viewing-feedback", response_model=p.VisibilityByType)
async def feedback_visibility_by_type(staff: Staff, rpc: Rpc) -> p.VisibilityByType:
    """For each contact type: the default, the organization's setting and what holds for a
    contact of that type who has no setting of their own."""
    return await rpc.call(
        p.LIST_VISIBILITY_SETTINGS,
        p.ListVisibilitySettings(
            organization_id=staff.organization.id, subject=p.VisibilitySubject.VIEWING_FEEDBACK
        ),
    )


@router.get("/contacts/{contact_id}/visibility/viewing-feedback", response_model=p.VisibilityExplanation)
async def explain_feedback_visibility(
    contact_id: UUID, staff: Staff, rpc: Rpc, property_id: UUID | None = None
) -> p.VisibilityExplanation:
    """Why this contact can or cannot see viewing feedback: the default for their type, the
    organization's setting for the type, the property's setting for the type (with
    `property_id`), their own setting; the last one set decides."""
    return await rpc.call(
        p.EXPLAIN_VISIBILITY,
        p.ExplainVisibility(
            organization_id=staff.organization.id,
            contact_id=contact_id,
            subject=p.VisibilitySubject.VIEWING_FEEDBACK,
            property_id=property_id,
        ),
    )
