"""Files on the portal: a document shared with the person, and the photo sent with a maintenance
request on their lease.

The properties service decides on every request, as the contact of the membership the verified
session holds, whether that contact may see the file; anything else is "not found", the same as a
file that does not exist. View As may read them (they are GETs).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal_gateway.deps import PortalUser, ReadOnlyWhileViewingAs, Rpc
from portal_gateway.downloads import file_response
from portal_gateway.pages.portal import chosen_membership
from portal_gateway.pages.tenancy import not_found, to_login
from shared.contracts import properties as p
from shared.contracts.errors import NotFound

router = APIRouter(prefix="/portal", include_in_schema=False, dependencies=[ReadOnlyWhileViewingAs])


@router.get("/documents/{document_id}")
async def download_document(
    request: Request, document_id: UUID, rpc: Rpc, user: PortalUser, m: UUID | None = None
) -> Response:
    """The document as an attachment, with its stored type, never sniffed."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    not_yours = "This document is not shared with you, or it does not exist."
    if membership is None:
        return not_found(request, not_yours)
    query = p.GetPartyDocumentFile(
        organization_id=membership.organization_id, contact_id=membership.contact_id, document_id=document_id
    )
    try:
        found = await rpc.call(p.GET_PARTY_DOCUMENT_FILE, query)
    except NotFound:
        return not_found(request, not_yours)
    return file_response(found.content_base64, found.document.content_type, found.document.file_name)


@router.get("/maintenance/{request_id}/photo")
async def maintenance_photo(
    request: Request, request_id: UUID, rpc: Rpc, user: PortalUser, m: UUID | None = None
) -> Response:
    """The photo sent with a request on one of the person's leases, shown in the page."""
    if user is None:
        return to_login()
    membership = chosen_membership(user, m)
    not_yours = "This photo is not one of yours, or it does not exist."
    if membership is None:
        return not_found(request, not_yours)
    query = p.GetPartyMaintenancePhoto(
        organization_id=membership.organization_id, contact_id=membership.contact_id, request_id=request_id
    )
    try:
        found = await rpc.call(p.GET_PARTY_MAINTENANCE_PHOTO, query)
    except NotFound:
        return not_found(request, not_yours)
    return file_response(found.content_base64, found.photo.content_type, found.photo.file_name, inline=True)
