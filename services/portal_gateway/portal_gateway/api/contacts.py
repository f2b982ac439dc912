"""/api/v1/contacts: create, read, update, archive, list by type, search."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from portal_gateway.api import bodies
from portal_gateway.deps import Rpc, Staff, require_editor
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import contacts as c
from shared.contracts import properties as p
from shared.contracts.common import ContactType

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.post("", response_model=c.ContactView, status_code=201, responses=WRITE_ERROR_RESPONSES)
async def create_contact(body: bodies.NewContact, staff: Staff, rpc: Rpc) -> c.ContactView:
    """A second contact with the same email in the organization is refused (409) with the existing
    contact named in `details`."""
    return await rpc.call(c.CREATE_CONTACT, c.CreateContact(actor=require_editor(staff), contact=body))


@router.get("", response_model=c.ContactPage)
async def list_contacts(
    staff: Staff,
    rpc: Rpc,
    type: ContactType | None = None,
    # The contract's own type: a blank search (after stripping) is a 422 here, not a 500 later.
    q: Annotated[c.SearchText | None, Query(description="name or email contains")] = None,
    include_archived: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> c.ContactPage:
    return await rpc.call(
        c.LIST_CONTACTS,
        c.ListContacts(
            organization_id=staff.organization.id,
            type=type,
            search=q,
            include_archived=include_archived,
            limit=limit,
            offset=offset,
        ),
    )


@router.get("/{contact_id}", response_model=c.ContactView)
async def get_contact(contact_id: UUID, staff: Staff, rpc: Rpc) -> c.ContactView:
    return await rpc.call(
        c.GET_CONTACT, c.GetContact(organization_id=staff.organization.id, contact_id=contact_id)
    )


@router.patch("/{contact_id}", response_model=c.ContactView, responses=WRITE_ERROR_RESPONSES)
async def update_contact(
    contact_id: UUID, body: bodies.ContactChanges, staff: Staff, rpc: Rpc
) -> c.ContactView:
    return await rpc.call(
        c.UPDATE_CONTACT, c.UpdateContact(actor=require_editor(staff), contact_id=contact_id, changes=body)
    )


@router.post("/{contact_id}/archive", response_model=c.ContactView, responses=WRITE_ERROR_RESPONSES)
async def archive_contact(contact_id: UUID, staff: Staff, rpc: Rpc) -> c.ContactView:
    return await rpc.call(
        c.ARCHIVE_CONTACT, c.ArchiveContact(actor=require_editor(staff), contact_id=contact_id)
    )


@router.get("/{contact_id}/links", response_model=p.ContactLinks)
async def contact_links(contact_id: UUID, staff: Staff, rpc: Rpc) -> p.ContactLinks:
    """What the contact is linked to (leases, properties) and whether each link is active."""
    org_id = staff.organization.id
    await rpc.call(c.GET_CONTACT, c.GetContact(organization_id=org_id, contact_id=contact_id))
    return await rpc.call(
        p.GET_CONTACT_LINKS, p.GetContactLinks(organization_id=org_id, contact_id=contact_id)
    )
