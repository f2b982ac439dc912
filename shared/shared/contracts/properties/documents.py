"""Documents on a property, a unit or a lease with the audiences that see them, and maintenance
photos."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from shared.contracts.common import ContactType, Request, RpcMethod, ShortText, StaffActor, View


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
    `properties/rules/documents.py`; an empty list: staff only)."""

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
