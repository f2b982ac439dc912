"""A customer's pages of the portal (Uptick): the dashboard of one portfolio (its properties with
their open maintenance requests, a pie chart of open requests by status and a bar chart of requests
per month, drawn on the server, and the documents of its client groups) and the page of one property
(the defects staff recorded on it, open then resolved, its maintenance requests, and its documents
with its client group's). Which defects are open or resolved is the properties service's answer.

Each page asks the properties service as the contact of the membership the verified session holds;
the service asks contacts which client groups that contact is authorised on and answers NotFound
for anything outside them, and lists only the documents shared with customers. Switching portfolio
(`g`) and organization (`m`) are plain links; documents download at `/portal/documents/{id}`.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from portal_gateway import charts
from portal_gateway.deps import PortalUser, ReadOnlyWhileViewingAs, Rpc
from portal_gateway.pages.portal import chosen_membership, organization_of
from portal_gateway.pages.tenancy import (
    DOCUMENT_KINDS,
    LABELS,
    STATUSES,
    not_found,
    party_documents,
    to_login,
)
from portal_gateway.rendering import render
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import NotFound

router = APIRouter(prefix="/portal", include_in_schema=False, dependencies=[ReadOnlyWhileViewingAs])

SEVERITIES = {
    p.DefectSeverity.LOW: "Low",
    p.DefectSeverity.MEDIUM: "Medium",
    p.DefectSeverity.HIGH: "High",
    p.DefectSeverity.CRITICAL: "Critical",
}


def is_customer(membership: i.Membership | None) -> bool:
    return membership is not None and membership.contact_type == ContactType.CUSTOMER


def dashboard_link(membership: i.Membership) -> str:
    return f"/portal/customer?m={membership.grant_id}"


async def _names(rpc: Any, user: i.PortalSession) -> dict[UUID, str]:
    """The name of each organization the person has a membership in, for the switcher."""
    ids = sorted({x.organization_id for x in user.memberships})
    found = await asyncio.gather(*(organization_of(rpc, org_id) for org_id in ids))
    return {org.id: org.name for org in found}


async def _theirs(rpc: Any, user: i.PortalSession, method: Any, query: Any) -> tuple[Any, dict[UUID, str]]:
    """The customer's own thing (None when the service answers NotFound) and the organizations'
    names, asked at once."""
    answer: Any
    names: Any
    answer, names = await asyncio.gather(rpc.call(method, query), _names(rpc, user), return_exceptions=True)
    if isinstance(answer, NotFound):
        return None, {}
    for result in (answer, names):
        if isinstance(result, BaseException):
            raise result
    return answer, names


def _month(first: Any) -> tuple[str, str]:
    return first.strftime("%b"), first.strftime("%B %Y")


def _document_places(documents: list[p.DocumentView], group_names: dict[UUID, str]) -> dict[UUID, str]:
    """Where each document belongs, said to the customer: its client group by name, or the property."""
    return {
        d.id: group_names.get(d.client_group_id, "Client group") if d.client_group_id else "This property"
        for d in documents
    }


@router.get("/customer")
async def customer_dashboard(
    request: Request, rpc: Rpc, user: PortalUser, m: UUID | None = None, g: UUID | None = None
) -> Response:
    """One portfolio (`g`, the first by default): its properties and the two charts."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    if membership is None:
        return not_found(request, "You have no portal access right now.")
    if not is_customer(membership):
        return RedirectResponse(f"/portal?m={membership.grant_id}", status_code=303)
    query = p.GetCustomerPortfolio(
        organization_id=membership.organization_id, contact_id=membership.contact_id, client_group_id=g
    )
    portfolio, names = await _theirs(rpc, user, p.GET_CUSTOMER_PORTFOLIO, query)
    if portfolio is None:
        return not_found(request, "This portfolio is not one of yours, or it does not exist.")
    documents: list[p.DocumentView] = []
    if portfolio.current is not None:
        # Which portfolio is current is known only now (the first one when `g` is not given).
        documents = await party_documents(rpc, membership, client_group_id=portfolio.current.client_group_id)
    pie = charts.pie([(STATUSES[x.status], x.count) for x in portfolio.open_by_status])
    bars = charts.bars([(*_month(x.month), x.count) for x in portfolio.requests_by_month])
    busiest = max(portfolio.requests_by_month, key=lambda x: (x.count, x.month))
    return render(
        request,
        "portal/customer.html",
        {
            "user": user,
            "membership": membership,
            "organization": {"name": names[membership.organization_id]},
            "names": names,
            "portfolio": portfolio,
            "pie": pie,
            "open_total": sum(x.count for x in portfolio.open_by_status),
            "bars": bars,
            "busiest": busiest if busiest.count else None,
            "documents": documents,
            "document_places": _document_places(
                documents, {g.client_group_id: g.name for g in portfolio.groups}
            ),
            "document_kinds": DOCUMENT_KINDS,
            "section": "home",
        },
    )


@router.get("/customer/properties/{property_id}")
async def customer_property_page(
    request: Request, property_id: UUID, rpc: Rpc, user: PortalUser, m: UUID | None = None
) -> Response:
    """One property of the customer's portfolios: its open defects, its open maintenance requests,
    then the closed, the resolved defects, and the documents of the property and of its client
    group shared with customers."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    not_yours = "This property is not one of yours, or it does not exist."
    if not is_customer(membership):
        return not_found(request, not_yours)
    assert membership is not None
    query = p.GetCustomerProperty(
        organization_id=membership.organization_id, contact_id=membership.contact_id, property_id=property_id
    )
    (found, names), documents = await asyncio.gather(
        _theirs(rpc, user, p.GET_CUSTOMER_PROPERTY, query),
        party_documents(rpc, membership, property_id=property_id),
    )
    if found is None:
        return not_found(request, not_yours)
    closed = {p.MaintenanceStatus.COMPLETED, p.MaintenanceStatus.CANCELLED}
    return render(
        request,
        "portal/customer_property.html",
        {
            "user": user,
            "membership": membership,
            "organization": {"name": names[membership.organization_id]},
            "item": found,
            "open_requests": [x for x in found.requests if x.status not in closed],
            "closed_requests": [x for x in found.requests if x.status in closed],
            "documents": documents,
            "document_places": _document_places(
                documents, {found.property.client_group_id: found.property.client_group_name}
            ),
            "document_kinds": DOCUMENT_KINDS,
            "severities": SEVERITIES,
            "section": "home",
            **LABELS,
        },
    )
