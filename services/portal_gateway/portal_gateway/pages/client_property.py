"""A landlord's, vendor's or applicant's page of one of their properties (Rezi): its viewings, with
what each applicant said where the visibility rules show it, its offers, the progress of its sale or
letting and, for a landlord, the tenancies of its units. An applicant sees only their own viewings
and offers.

The page asks the properties service as the contact of the membership the verified session holds;
the service answers NotFound unless that contact is linked to the property, and leaves viewing
feedback out unless the rules (read on every request) show it to that contact.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal_gateway.deps import PortalUser, ReadOnlyWhileViewingAs, Rpc
from portal_gateway.pages.portal import chosen_membership
from portal_gateway.pages.tenancy import DOCUMENT_KINDS, not_found, party_documents, theirs, to_login
from portal_gateway.rendering import render
from shared.contracts import properties as p

router = APIRouter(prefix="/portal", include_in_schema=False, dependencies=[ReadOnlyWhileViewingAs])

VIEWING_STATUSES = {
    p.ViewingStatus.BOOKED: "Booked",
    p.ViewingStatus.DONE: "Done",
    p.ViewingStatus.CANCELLED: "Cancelled",
}
INTEREST_LEVELS = {
    p.InterestLevel.NONE: "Not interested",
    p.InterestLevel.LOW: "Low",
    p.InterestLevel.MEDIUM: "Medium",
    p.InterestLevel.HIGH: "High",
}
MARKETING_KINDS = {p.MarketingKind.SALE: "Sale", p.MarketingKind.LETTING: "Letting"}
MARKETING_STAGES = {
    p.MarketingStage.INSTRUCTED: "Instructed",
    p.MarketingStage.ON_THE_MARKET: "On the market",
    p.MarketingStage.UNDER_OFFER: "Under offer",
    p.MarketingStage.SOLD_STC: "Sold subject to contract",
    p.MarketingStage.EXCHANGED: "Exchanged",
    p.MarketingStage.COMPLETED: "Completed",
    p.MarketingStage.LET_AGREED: "Let agreed",
    p.MarketingStage.REFERENCING: "Referencing",
    p.MarketingStage.TENANCY_STARTED: "Tenancy started",
    p.MarketingStage.WITHDRAWN: "Withdrawn",
}
TENANCY_STATES = {
    p.TenancyState.UPCOMING: "Upcoming",
    p.TenancyState.CURRENT: "Current",
    p.TenancyState.ENDED: "Ended",
}
OFFER_STATUSES = {
    p.OfferStatus.RECEIVED: "Received",
    p.OfferStatus.ACCEPTED: "Accepted",
    p.OfferStatus.REJECTED: "Rejected",
    p.OfferStatus.WITHDRAWN: "Withdrawn",
}


@router.get("/properties/{property_id}")
async def property_page(
    request: Request, property_id: UUID, rpc: Rpc, user: PortalUser, m: UUID | None = None
) -> Response:
    """The property's viewings (latest first, with feedback where shown), its offers, its sale or
    letting progress and, for its landlord, its tenancies: what the properties service answers for
    this contact, shown as it is."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    not_yours = "This property is not one of yours, or it does not exist."
    if membership is None:
        return not_found(request, not_yours)
    query = p.GetContactPropertyActivity(
        organization_id=membership.organization_id, contact_id=membership.contact_id, property_id=property_id
    )
    (activity, organization), documents = await asyncio.gather(
        theirs(rpc, membership, p.GET_CONTACT_PROPERTY_ACTIVITY, query),
        party_documents(rpc, membership, property_id=property_id),
    )
    if activity is None:
        return not_found(request, not_yours)
    return render(
        request,
        "portal/property.html",
        {
            "user": user,
            "membership": membership,
            "organization": organization,
            "activity": activity,
            "documents": documents,
            "document_kinds": DOCUMENT_KINDS,
            "section": "home",
            "viewing_statuses": VIEWING_STATUSES,
            "interest_levels": INTEREST_LEVELS,
            "offer_statuses": OFFER_STATUSES,
            "kind_labels": MARKETING_KINDS,
            "stage_labels": MARKETING_STAGES,
            "tenancy_states": TENANCY_STATES,
        },
    )
