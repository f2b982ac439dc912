"""Use cases of documents (invoices, quotes, receipts, other files on a lease, a property or a client
group) and of maintenance request photos.

Staff store, list, share, unshare and delete documents of their organization (another
organization's is NotFound). A portal read names the contact the person is (from their verified
membership); the service works out how that contact is linked to what each document is about (a
tenant on the lease, the property's landlord or vendor, a customer authorised on the client group,
or on the group of the property, or on a group above either) and shows a document only if it is
shared with one of those contact types (`rules.documents.decide_document_visibility`), read on every
request with no cache: a change holds from the next page load. Anything else is NotFound, exactly
like a document that does not exist. The same rule answers staff asking why a contact sees a
document.

Which client groups a customer is authorised on belongs to the contacts service: a read asks it as
the customer pages do (`portfolio.customer_portfolios`), once per read and only when a document
shared with customers is about a client group or a property in one (`CustomerGroups`). Its pure
rules are `rules/documents.py` (rules live in `rules/`, one module per sub-domain named like the
use-case module that applies it).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, selectinload, undefer

from properties import maintenance, portfolio
from properties.models import (
    Document,
    DocumentAudience,
    DocumentContent,
    Lease,
    LeaseParty,
    MaintenancePhoto,
    MaintenanceRequest,
    Property,
    PropertyContact,
    Unit,
)
from properties.rules import documents as rules
from properties.scoping import ContactsRpc, lease_in_org, lease_with_place, property_id_in_org, require_editor
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType
from shared.contracts.errors import InvalidInput, NotFound

# --- views ------------------------------------------------------------------------------------


def _scope(document: Document) -> p.DocumentScope:
    if document.lease_id is not None:
        return p.DocumentScope.LEASE
    if document.property_id is not None:
        return p.DocumentScope.PROPERTY
    return p.DocumentScope.CLIENT_GROUP


def _audiences(document: Document) -> list[ContactType]:
    present = {audience.contact_type for audience in document.audiences}
    return [contact_type for contact_type in ContactType if contact_type.value in present]


def document_view(document: Document) -> p.DocumentView:
    return p.DocumentView(
        id=document.id,
        organization_id=document.organization_id,
        kind=p.DocumentKind(document.kind),
        title=document.title,
        file_name=document.file_name,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        scope=_scope(document),
        lease_id=document.lease_id,
        property_id=document.property_id,
        client_group_id=document.client_group_id,
        audiences=_audiences(document),
        uploaded_by_staff_member_id=document.uploaded_by_staff_member_id,
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


def _checked_file(upload: p.FileUpload, field: str, allowed: dict[str, str], max_bytes: int) -> bytes:
    """The upload's bytes, or InvalidInput naming `field` and what is wrong with the file."""
    data = rules.decode_base64(upload.content_base64)
    problem = rules.file_problem(upload.content_type, data, allowed, max_bytes)
    if problem or data is None:
        message = problem or "the file is not standard base64"
        raise InvalidInput(
            message[0].upper() + message[1:] + ".", {"errors": [{"field": field, "message": message}]}
        )
    return data


# --- lookups, always inside the organization --------------------------------------------------


def _documents_in_org(organization_id: UUID) -> Any:
    return (
        select(Document)
        .where(Document.organization_id == organization_id)
        .options(selectinload(Document.audiences))
    )


def _document_in_org(
    session: Session, organization_id: UUID, document_id: UUID, lock: bool = False
) -> Document:
    query = _documents_in_org(organization_id).where(Document.id == document_id)
    if lock:
        query = query.with_for_update(of=Document)
    document = session.scalars(query).first()
    if document is None:
        raise NotFound("no such document")
    return document


def _newest_first(query: Any) -> Any:
    return query.order_by(Document.created_at.desc(), Document.id.desc())


def _content(session: Session, document: Document) -> str:
    data = session.scalar(select(DocumentContent.content).where(DocumentContent.document_id == document.id))
    return base64.b64encode(data or b"").decode("ascii")


# --- staff ------------------------------------------------------------------------------------


def upload_document(
    session: Session, contacts: ContactsRpc, cmd: p.UploadDocument, max_bytes: int, now: datetime
) -> p.DocumentView:
    """Store a document on a lease, property or client group of the organization (NotFound
    otherwise; a client group is asked of the contacts service), with its audiences (the default
    of its kind and scope unless given). A bad file is InvalidInput and nothing is stored."""
    require_editor(cmd.actor)
    org_id = cmd.actor.organization_id
    data = _checked_file(cmd.file, "file", p.DOCUMENT_CONTENT_TYPES, max_bytes)
    if cmd.lease_id is not None:
        lease_in_org(session, org_id, cmd.lease_id)
        scope = p.DocumentScope.LEASE
    elif cmd.property_id is not None:
        property_id_in_org(session, org_id, cmd.property_id)
        scope = p.DocumentScope.PROPERTY
    else:
        assert cmd.client_group_id is not None  # exactly one scope: UploadDocument's validator
        portfolio.client_group_in_org(contacts, org_id, cmd.client_group_id)
        scope = p.DocumentScope.CLIENT_GROUP
    audiences = cmd.audiences if cmd.audiences is not None else rules.default_audiences(scope, cmd.kind)
    document = Document(
        organization_id=org_id,
        kind=cmd.kind.value,
        title=cmd.title,
        file_name=rules.safe_file_name(cmd.file.file_name),
        content_type=cmd.file.content_type,
        size_bytes=len(data),
        sha256=rules.sha256_hex(data),
        lease_id=cmd.lease_id,
        property_id=cmd.property_id,
        client_group_id=cmd.client_group_id,
        uploaded_by_staff_member_id=cmd.actor.staff_member_id,
        created_at=now,
        updated_at=now,
        audiences=[DocumentAudience(contact_type=audience.value) for audience in audiences],
    )
    session.add(document)
    session.flush()
    session.add(DocumentContent(document_id=document.id, content=data))
    session.commit()
    return document_view(document)


def list_documents(session: Session, contacts: ContactsRpc, q: p.ListDocuments) -> p.DocumentList:
    """The documents of a lease, property or client group of the organization, newest first
    (NotFound otherwise; a client group is asked of the contacts service, as for an upload)."""
    query = _documents_in_org(q.organization_id)
    if q.lease_id is not None:
        lease_in_org(session, q.organization_id, q.lease_id)
        query = query.where(Document.lease_id == q.lease_id)
    elif q.property_id is not None:
        property_id_in_org(session, q.organization_id, q.property_id)
        query = query.where(Document.property_id == q.property_id)
    else:
        assert q.client_group_id is not None  # exactly one scope: ListDocuments's validator
        portfolio.client_group_in_org(contacts, q.organization_id, q.client_group_id)
        query = query.where(Document.client_group_id == q.client_group_id)
    return p.DocumentList(items=[document_view(d) for d in session.scalars(_newest_first(query)).all()])


def get_document_file(session: Session, q: p.GetDocument) -> p.DocumentFile:
    document = _document_in_org(session, q.organization_id, q.document_id)
    return p.DocumentFile(document=document_view(document), content_base64=_content(session, document))


def set_document_audiences(session: Session, cmd: p.SetDocumentAudiences, now: datetime) -> p.DocumentView:
    """Share the document with exactly the contact types given, under its row lock."""
    require_editor(cmd.actor)
    document = _document_in_org(session, cmd.actor.organization_id, cmd.document_id, lock=True)
    document.audiences = [DocumentAudience(contact_type=audience.value) for audience in cmd.audiences]
    document.updated_at = now
    session.commit()
    return document_view(document)


def delete_document(session: Session, cmd: p.DeleteDocument) -> p.DocumentView:
    """Delete the document with its bytes and audiences; the answer is what was deleted."""
    require_editor(cmd.actor)
    document = _document_in_org(session, cmd.actor.organization_id, cmd.document_id, lock=True)
    view = document_view(document)
    session.execute(delete(Document).where(Document.id == document.id))
    session.commit()
    return view


# --- who is linked to what a document is about ------------------------------------------------


@dataclass(frozen=True)
class GroupLink:
    """A client group a customer may see: its name, and the name of the group they are an
    authorised account of that holds it (the group itself, or one above it)."""

    name: str
    authorised_on: str


class CustomerGroups:
    """The client groups a contact may see as a customer: each group they are an authorised account
    of, with every group below it. Asked of the contacts service exactly as the customer pages ask
    (`portfolio.customer_portfolios`), at most once per read and only when something needs it, so a tenant's
    or a landlord's read costs no call to contacts unless a document shared with customers is in
    it. Anyone but a customer is on no group: contacts only authorises customers."""

    def __init__(self, contacts: ContactsRpc, organization_id: UUID, contact_id: UUID) -> None:
        self._contacts = contacts
        self._organization_id = organization_id
        self._contact_id = contact_id
        self._portfolios: list[c.Portfolio] | None = None

    def portfolios(self) -> list[c.Portfolio]:
        if self._portfolios is None:
            self._portfolios = portfolio.customer_portfolios(
                self._contacts, self._organization_id, self._contact_id
            )
        return self._portfolios

    def link(self, group_id: UUID) -> GroupLink | None:
        """How the contact reaches the group: through itself if they are authorised on it, otherwise
        through the first of their portfolios (by name) that holds it; None if none does."""
        found: GroupLink | None = None
        for held in self.portfolios():
            for group in held.groups:
                if group.id != group_id:
                    continue
                if held.group.id == group_id:
                    return GroupLink(name=group.name, authorised_on=group.name)
                found = found or GroupLink(name=group.name, authorised_on=held.group.name)
        return found


def _customer_link(
    groups: CustomerGroups | None, group_id: UUID | None, scope: p.DocumentScope
) -> tuple[GroupLink | None, str | None]:
    """The customer's link to the group `group_id` (None: not looked for, or none) and its words."""
    if groups is None or group_id is None:
        return None, None
    link = groups.link(group_id)
    if link is None:
        return None, None
    return link, rules.customer_link_words(scope, link.name, link.authorised_on)


def _lease_place(session: Session, organization_id: UUID, lease_id: UUID) -> tuple[UUID, str]:
    """The lease's property id and how staff would name the lease."""
    row = session.execute(
        select(Unit.property_id, Unit.name, Property.name)
        .join(Lease, Lease.unit_id == Unit.id)
        .join(Property, Property.id == Unit.property_id)
        .where(Lease.id == lease_id, Lease.organization_id == organization_id)
    ).one()
    return row[0], f"the lease of {row[1]}, {row[2]}"


def _roles_on(
    session: Session, organization_id: UUID, property_id: UUID, contact_id: UUID
) -> set[ContactType]:
    roles = session.scalars(
        select(PropertyContact.role)
        .join(Property, Property.id == PropertyContact.property_id)
        .where(
            PropertyContact.property_id == property_id,
            PropertyContact.contact_id == contact_id,
            Property.organization_id == organization_id,
        )
    ).all()
    # The contact's type is the one its role needs: `link_contact` refuses any other.
    return {ContactType(role) for role in roles}


def _links(
    session: Session,
    organization_id: UUID,
    contact_id: UUID,
    document: Document,
    groups: CustomerGroups | None,
) -> tuple[set[ContactType], str, str | None]:
    """How `contact_id` is linked to what the document is about (each link as the contact type it
    needs: a lease party is a tenant, `create_lease` refuses any other; an authorised account of a
    client group is a customer), its name for staff, and the words naming a customer's group link.
    `groups` None: a customer's link is not looked for."""
    linked: set[ContactType] = set()
    if document.lease_id is not None:
        property_id, about = _lease_place(session, organization_id, document.lease_id)
        party = session.scalar(
            select(LeaseParty.contact_id).where(
                LeaseParty.lease_id == document.lease_id, LeaseParty.contact_id == contact_id
            )
        )
        if party is not None:
            linked.add(ContactType.TENANT)
        return linked | _roles_on(session, organization_id, property_id, contact_id), about, None
    if document.property_id is not None:
        name, group_id = session.execute(
            select(Property.name, Property.client_group_id).where(Property.id == document.property_id)
        ).one()
        tenant = session.scalar(
            select(LeaseParty.contact_id)
            .join(Lease, Lease.id == LeaseParty.lease_id)
            .join(Unit, Unit.id == Lease.unit_id)
            .where(
                Unit.property_id == document.property_id,
                Lease.organization_id == organization_id,
                LeaseParty.contact_id == contact_id,
            )
            .limit(1)
        )
        if tenant is not None:
            linked.add(ContactType.TENANT)
        link, customer_words = _customer_link(groups, group_id, p.DocumentScope.PROPERTY)
        if link is not None:
            linked.add(ContactType.CUSTOMER)
        roles = _roles_on(session, organization_id, document.property_id, contact_id)
        return linked | roles, f"the property {name}", customer_words
    link, customer_words = _customer_link(groups, document.client_group_id, p.DocumentScope.CLIENT_GROUP)
    if link is None:
        # The group's name is the contacts service's; it is known here only through a customer's link.
        return linked, "a client group", None
    linked.add(ContactType.CUSTOMER)
    return linked, f"the client group {link.name}", customer_words


def _decide(
    session: Session,
    organization_id: UUID,
    contact_id: UUID,
    document: Document,
    groups: CustomerGroups,
    cache: dict[Any, Any] | None = None,
) -> rules.DocumentDecision:
    audiences = _audiences(document)
    # A customer's link can only matter to a document shared with customers: for any other, contacts
    # is not asked (the decision is the same).
    asked = groups if ContactType.CUSTOMER in audiences else None
    key = (document.lease_id, document.property_id, document.client_group_id, asked is not None)
    if cache is not None and key in cache:
        linked, about, customer_words = cache[key]
    else:
        linked, about, customer_words = _links(session, organization_id, contact_id, document, asked)
        if cache is not None:
            cache[key] = (linked, about, customer_words)
    return rules.decide_document_visibility(_scope(document), about, linked, audiences, customer_words)


def _visible(
    session: Session,
    organization_id: UUID,
    contact_id: UUID,
    documents: Iterable[Document],
    groups: CustomerGroups,
) -> list[Document]:
    cache: dict[Any, Any] = {}
    return [d for d in documents if _decide(session, organization_id, contact_id, d, groups, cache).visible]


# --- the portal -------------------------------------------------------------------------------


def list_party_documents(session: Session, contacts: ContactsRpc, q: p.ListPartyDocuments) -> p.DocumentList:
    """What the contact may see on one of their leases (its documents and its property's), one of
    their properties (its documents, those of its leases and those of its client group), or one of a
    customer's portfolios (the documents of the group and of every group below it): NotFound unless
    the contact is a party of the lease, linked to the property or authorised on its group (or on a
    group above), or authorised on the portfolio's group."""
    org_id = q.organization_id
    groups = CustomerGroups(contacts, org_id, q.contact_id)
    query = _documents_in_org(org_id)
    if q.lease_id is not None:
        _, _, prop = lease_with_place(session, org_id, q.lease_id, q.contact_id)
        query = query.where(or_(Document.lease_id == q.lease_id, Document.property_id == prop.id))
    elif q.property_id is not None:
        group_id = session.scalar(
            select(Property.client_group_id).where(
                Property.id == q.property_id, Property.organization_id == org_id
            )
        )
        if not _roles_on(session, org_id, q.property_id, q.contact_id) and (
            group_id is None or groups.link(group_id) is None
        ):
            raise NotFound("no such property")
        leases = (
            select(Lease.id).join(Unit, Unit.id == Lease.unit_id).where(Unit.property_id == q.property_id)
        )
        places = [Document.property_id == q.property_id, Document.lease_id.in_(leases)]
        if group_id is not None:
            places.append(Document.client_group_id == group_id)
        query = query.where(or_(*places))
    else:
        chosen = next((x for x in groups.portfolios() if x.group.id == q.client_group_id), None)
        if chosen is None:
            raise NotFound("no such portfolio")
        query = query.where(Document.client_group_id.in_([group.id for group in chosen.groups]))
    documents = session.scalars(_newest_first(query)).all()
    return p.DocumentList(
        items=[document_view(d) for d in _visible(session, org_id, q.contact_id, documents, groups)]
    )


def get_party_document_file(
    session: Session, contacts: ContactsRpc, q: p.GetPartyDocumentFile
) -> p.DocumentFile:
    try:
        document = _document_in_org(session, q.organization_id, q.document_id)
    except NotFound:
        raise NotFound("no such document") from None
    groups = CustomerGroups(contacts, q.organization_id, q.contact_id)
    if not _decide(session, q.organization_id, q.contact_id, document, groups).visible:
        raise NotFound("no such document")
    return p.DocumentFile(document=document_view(document), content_base64=_content(session, document))


def explain_document_visibility(
    session: Session, contacts: ContactsRpc, q: p.ExplainDocumentVisibility
) -> p.DocumentVisibilityExplanation:
    """Why a contact can or cannot see a document: how they are linked to what it is about, whom
    it is shared with, and what follows; the same rule the portal reads apply."""
    document = _document_in_org(session, q.organization_id, q.document_id)
    try:
        contact: c.ContactView = contacts.call(
            c.GET_CONTACT, c.GetContact(organization_id=q.organization_id, contact_id=q.contact_id)
        )
    except NotFound:
        raise NotFound("no such contact", {"contact_id": str(q.contact_id)}) from None
    groups = CustomerGroups(contacts, q.organization_id, contact.id)
    linked, about, customer_words = _links(session, q.organization_id, contact.id, document, groups)
    audiences = _audiences(document)
    decision = rules.decide_document_visibility(_scope(document), about, linked, audiences, customer_words)
    return p.DocumentVisibilityExplanation(
        document_id=document.id,
        contact_id=contact.id,
        contact_type=contact.type,
        linked_as=[t for t in ContactType if t in linked],
        audiences=audiences,
        visible=decision.visible,
        chain=decision.chain,
    )


# --- maintenance request photos ---------------------------------------------------------------


def _photo_view(session: Session, request_id: UUID) -> p.MaintenancePhotoView | None:
    photo = session.scalars(select(MaintenancePhoto).where(MaintenancePhoto.request_id == request_id)).first()
    if photo is None:
        return None
    return p.MaintenancePhotoView(
        file_name=photo.file_name,
        content_type=photo.content_type,
        size_bytes=photo.size_bytes,
        sha256=photo.sha256,
    )


def with_photo(session: Session, view: p.MaintenanceRequestView) -> p.MaintenanceRequestView:
    """The request's view with its photo's description (not its bytes), if it has one."""
    return view.model_copy(update={"photo": _photo_view(session, view.id)})


def create_maintenance_request(
    session: Session, cmd: p.CreateMaintenanceRequest, now: datetime, max_bytes: int
) -> p.MaintenanceRequestView:
    """A tenant's new request (`maintenance.create_maintenance_request`) with its photo, if any. The
    photo is checked before anything is made (InvalidInput, field `photo`); it is stored just after
    the request, and the same form sent again (its key) adds a photo the first attempt lost."""
    data = _checked_file(cmd.photo, "photo", p.PHOTO_CONTENT_TYPES, max_bytes) if cmd.photo else None
    view = maintenance.create_maintenance_request(session, cmd, now)
    if cmd.photo is not None and data is not None:
        session.execute(
            pg_insert(MaintenancePhoto)
            .values(
                request_id=view.id,
                file_name=rules.safe_file_name(cmd.photo.file_name, fallback="photo"),
                content_type=cmd.photo.content_type,
                size_bytes=len(data),
                sha256=rules.sha256_hex(data),
                content=data,
                created_at=now,
            )
            .on_conflict_do_nothing()  # the same form again: the first photo stays
        )
        session.commit()
    return with_photo(session, view)


def _photo_file(session: Session, query: Any) -> p.MaintenancePhotoFile:
    row = session.execute(query).first()
    if row is None:
        raise NotFound("no such maintenance request")
    request_id = row[0].id
    photo = session.scalars(
        select(MaintenancePhoto)
        .where(MaintenancePhoto.request_id == request_id)
        .options(undefer(MaintenancePhoto.content))
    ).first()
    if photo is None:
        raise NotFound("this maintenance request has no photo")
    return p.MaintenancePhotoFile(
        request_id=request_id,
        photo=p.MaintenancePhotoView(
            file_name=photo.file_name,
            content_type=photo.content_type,
            size_bytes=photo.size_bytes,
            sha256=photo.sha256,
        ),
        content_base64=base64.b64encode(photo.content).decode("ascii"),
    )


def get_maintenance_photo(session: Session, q: p.GetMaintenancePhoto) -> p.MaintenancePhotoFile:
    query = maintenance.requests_in_org(q.organization_id).where(MaintenanceRequest.id == q.request_id)
    return _photo_file(session, query)


def get_party_maintenance_photo(session: Session, q: p.GetPartyMaintenancePhoto) -> p.MaintenancePhotoFile:
    """The photo of a request on a lease the contact is a party of (a co-tenant's too)."""
    query = maintenance.of_party(maintenance.requests_in_org(q.organization_id), q.contact_id).where(
        MaintenanceRequest.id == q.request_id
    )
    return _photo_file(session, query)
