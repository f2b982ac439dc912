"""/api/v1/documents: invoices, quotes, receipts and other files on a lease, a property or a client
group, whom each is shared with on the portal, and why a contact can or cannot see one; and the
photo a tenant sent with a maintenance request."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.downloads import file_response
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.validation import parse

router = APIRouter(tags=["documents"])

# The one upload route, at a fixed path so the body guard can give it the larger limit.
UPLOAD_PATH = "/api/v1/documents"
NO_AUDIENCE = "none"


def _binary(types: dict[str, str], description: str) -> dict[int | str, dict[str, Any]]:
    schema = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {content_type: schema for content_type in types}}}


class NewDocument(BaseModel):
    """The upload form (multipart/form-data)."""

    model_config = ConfigDict(extra="forbid")
    kind: p.DocumentKind
    title: str = Field(max_length=1000, description="What people see in lists, e.g. `Invoice 1042`.")
    lease_id: UUID | None = None
    property_id: UUID | None = None
    client_group_id: UUID | None = None
    audiences: str | None = Field(
        default=None,
        max_length=200,
        description="Contact types who see it on the portal, comma-separated (`tenant,landlord`), or "
        "`none` (staff only). Left out: the default of its kind and scope (on a lease, its tenants; "
        "on a property, its landlord, and its vendor too for `other`; on a client group, customers).",
    )
    file: UploadFile = Field(description="PDF, PNG, JPEG or plain text, up to MAX_DOCUMENT_BYTES (5 MiB).")


class Audiences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audiences: list[ContactType] = Field(max_length=len(ContactType))


def _audience_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if text.strip().lower() == NO_AUDIENCE:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


@router.post(
    "/documents",
    response_model=p.DocumentView,
    status_code=201,
    responses=WRITE_ERROR_RESPONSES,
)
async def upload_document(form: Annotated[NewDocument, Form()], staff: Staff, rpc: Rpc) -> p.DocumentView:
    """Store a file on exactly one of `lease_id`, `property_id` or `client_group_id` of your
    organization (404 otherwise), shared with `audiences`. A file of another type, whose bytes are
    not of its type, empty, or over the limit is 422 `invalid_input` (field `file`) and nothing is
    stored."""
    actor = require_editor(staff)
    data = await form.file.read()
    content_type = (form.file.content_type or "").split(";")[0].strip()
    command = parse(
        p.UploadDocument,
        {
            "actor": actor,
            "kind": form.kind,
            "title": form.title,
            "lease_id": form.lease_id,
            "property_id": form.property_id,
            "client_group_id": form.client_group_id,
            "audiences": _audience_list(form.audiences),
            "file": {
                "file_name": form.file.filename or "document",
                "content_type": content_type,
                "content_base64": base64.b64encode(data).decode("ascii"),
            },
        },
    )
    return await rpc.call(p.UPLOAD_DOCUMENT, command)


@router.get("/leases/{lease_id}/documents", response_model=p.DocumentList)
async def list_lease_documents(lease_id: UUID, staff: Staff, rpc: Rpc) -> p.DocumentList:
    """The lease's documents, newest first (without their bytes)."""
    return await rpc.call(
        p.LIST_DOCUMENTS, p.ListDocuments(organization_id=staff.organization.id, lease_id=lease_id)
    )


@router.get("/properties/{property_id}/documents", response_model=p.DocumentList)
async def list_property_documents(property_id: UUID, staff: Staff, rpc: Rpc) -> p.DocumentList:
    """The property's own documents, newest first (those of its leases are listed per lease)."""
    return await rpc.call(
        p.LIST_DOCUMENTS, p.ListDocuments(organization_id=staff.organization.id, property_id=property_id)
    )


@router.get("/client-groups/{client_group_id}/documents", response_model=p.DocumentList)
async def list_client_group_documents(client_group_id: UUID, staff: Staff, rpc: Rpc) -> p.DocumentList:
    """The client group's documents, newest first; 404 for a group the organization does not have."""
    return await rpc.call(
        p.LIST_DOCUMENTS,
        p.ListDocuments(organization_id=staff.organization.id, client_group_id=client_group_id),
    )


@router.get(
    "/documents/{document_id}/file",
    response_class=Response,
    responses=_binary(p.DOCUMENT_CONTENT_TYPES, "The file, as an attachment, with its stored type."),
)
async def download_document(document_id: UUID, staff: Staff, rpc: Rpc) -> Response:
    """The document's bytes (`Content-Disposition: attachment`)."""
    found = await rpc.call(
        p.GET_DOCUMENT_FILE, p.GetDocument(organization_id=staff.organization.id, document_id=document_id)
    )
    return file_response(found.content_base64, found.document.content_type, found.document.file_name)


@router.put(
    "/documents/{document_id}/audiences", response_model=p.DocumentView, responses=WRITE_ERROR_RESPONSES
)
async def set_document_audiences(
    document_id: UUID, body: Audiences, staff: Staff, rpc: Rpc
) -> p.DocumentView:
    """Share the document with exactly these contact types (empty: staff only). It holds from the
    person's next page load."""
    command = parse(
        p.SetDocumentAudiences,
        {"actor": require_editor(staff), "document_id": document_id, "audiences": body.audiences},
    )
    return await rpc.call(p.SET_DOCUMENT_AUDIENCES, command)


@router.delete(
    "/documents/{document_id}", status_code=204, response_class=Response, responses=WRITE_ERROR_RESPONSES
)
async def delete_document(document_id: UUID, staff: Staff, rpc: Rpc) -> Response:
    """Delete the document and its file: nobody sees it any more."""
    await rpc.call(p.DELETE_DOCUMENT, p.DeleteDocument(actor=require_editor(staff), document_id=document_id))
    return Response(status_code=204)


@router.get("/documents/{document_id}/visibility", response_model=p.DocumentVisibilityExplanation)
async def explain_document_visibility(
    document_id: UUID, contact_id: UUID, staff: Staff, rpc: Rpc
) -> p.DocumentVisibilityExplanation:
    """Why this contact can or cannot see the document, as a chain: how they are linked to its
    lease, property or client group (`scope_link`), whether it is shared with that kind of contact
    (`audience`), and what follows (`result`)."""
    return await rpc.call(
        p.EXPLAIN_DOCUMENT_VISIBILITY,
        p.ExplainDocumentVisibility(
            organization_id=staff.organization.id, document_id=document_id, contact_id=contact_id
        ),
    )


@router.get(
    "/maintenance-requests/{request_id}/photo",
    response_class=Response,
    responses=_binary(p.PHOTO_CONTENT_TYPES, "The photo the tenant sent with the request."),
    tags=["maintenance requests"],
)
async def maintenance_photo(request_id: UUID, staff: Staff, rpc: Rpc) -> Response:
    """The photo sent with the request (404 if it has none)."""
    found = await rpc.call(
        p.GET_MAINTENANCE_PHOTO,
        p.GetMaintenancePhoto(organization_id=staff.organization.id, request_id=request_id),
    )
    return file_response(found.content_base64, found.photo.content_type, found.photo.file_name, inline=True)
