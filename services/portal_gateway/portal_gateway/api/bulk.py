"""/api/v1/portal-invitations/bulk: invite many contacts at once and follow the progress."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from portal_gateway.deps import Rpc, Staff, require_portal_manager
from portal_gateway.errors import WRITE_ERROR_RESPONSES
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts.common import ContactType
from shared.contracts.contacts import SearchText
from shared.contracts.errors import InvalidInput

router = APIRouter(prefix="/portal-invitations/bulk", tags=["portal access"])
PATH = "/api/v1/portal-invitations/bulk"
# i.MAX_BULK_CONTACTS (10,000) ids as JSON strings (38 bytes and a separator each), with room to
# spare: the general body limit would cut a list at about 1,600 ids.
MAX_BODY_BYTES = 512 * 1024
PAGE = 200


class BulkRequest(BaseModel):
    """Either the contacts by id, or a filter over the organization's contacts (not both)."""

    model_config = ConfigDict(extra="forbid")
    contact_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=i.MAX_BULK_CONTACTS)
    type: ContactType | None = None
    q: SearchText | None = None

    @model_validator(mode="after")
    def _ids_or_filter(self) -> BulkRequest:
        has_filter = self.type is not None or self.q is not None
        if (self.contact_ids is None) == (not has_filter):
            raise ValueError("give contact_ids, or a filter (type and/or q), but not both")
        return self


async def matching_contacts(rpc: Rpc, organization_id: UUID, body: BulkRequest) -> list[UUID]:
    """The ids of the organization's contacts that match the filter (InvalidInput when more match
    than one bulk invitation takes), for the API and the console alike."""
    ids: list[UUID] = []
    while True:
        page = await rpc.call(
            c.LIST_CONTACTS,
            c.ListContacts(
                organization_id=organization_id, type=body.type, search=body.q, limit=PAGE, offset=len(ids)
            ),
        )
        if page.total > i.MAX_BULK_CONTACTS:
            raise InvalidInput(
                f"{page.total} contacts match; one bulk invitation takes at most {i.MAX_BULK_CONTACTS}. "
                "Narrow the filter.",
                {"errors": [{"field": "body", "message": "too many contacts match"}]},
            )
        ids.extend(item.id for item in page.items)
        if not page.items or len(ids) >= page.total:
            return ids


@router.post("", response_model=i.BulkInvitationView, status_code=202, responses=WRITE_ERROR_RESPONSES)
async def start(body: BulkRequest, staff: Staff, rpc: Rpc, response: Response) -> i.BulkInvitationView:
    """Check and invite every contact given (or matching the filter), each exactly like Send Portal
    Invitation; contacts that cannot be invited are skipped with their reasons. Answers at once;
    follow the progress at the Location given."""
    manager = require_portal_manager(staff)
    ids = body.contact_ids or await matching_contacts(rpc, staff.organization.id, body)
    if not ids:
        raise InvalidInput(
            "No contact matches the filter.", {"errors": [{"field": "body", "message": "no contacts"}]}
        )
    job = await rpc.call(i.START_BULK_INVITATION, i.StartBulkInvitation(actor=manager, contact_ids=ids))
    response.headers["Location"] = f"/api/v1/portal-invitations/bulk/{job.id}"
    return job


@router.get("/{job_id}", response_model=i.BulkInvitationView)
async def progress(job_id: UUID, staff: Staff, rpc: Rpc) -> i.BulkInvitationView:
    """How far the bulk invitation has got: contacts processed, invited, skipped (by reason), and
    emails delivered, bounced and accepted."""
    return await rpc.call(
        i.GET_BULK_INVITATION, i.GetBulkInvitation(organization_id=staff.organization.id, job_id=job_id)
    )
