"""May this contact be invited now? The facts from contacts and properties, judged by
`domain.eligibility_problems`; and the staff member and contact behind a command."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from invitations import domain
from invitations.rows import live_grant
from shared.contracts import invitations as i
from shared.contracts.common import Problem, StaffActor
from shared.contracts.contacts import GET_ELIGIBILITY_FACTS, EligibilityFacts, GetEligibilityFacts
from shared.contracts.properties import GET_CONTACT_LINKS, GetContactLinks


def facts_for(rpc: Any, actor: StaffActor, contact_id: UUID) -> EligibilityFacts:
    """The contact, its organization and the staff member, from contacts: NotFound for another
    organization's contact."""
    return rpc.call(  # type: ignore[no-any-return]
        GET_ELIGIBILITY_FACTS,
        GetEligibilityFacts(
            organization_id=actor.organization_id,
            contact_id=contact_id,
            staff_member_id=actor.staff_member_id,
        ),
    )


def eligibility(
    session: Session, rpc: Any, actor: StaffActor, contact_id: UUID
) -> tuple[EligibilityFacts, list[Problem]]:
    """The facts and every reason the contact cannot be invited now (none when it can)."""
    facts = facts_for(rpc, actor, contact_id)
    links = rpc.call(
        GET_CONTACT_LINKS, GetContactLinks(organization_id=actor.organization_id, contact_id=contact_id)
    )
    live = live_grant(session, actor.organization_id, contact_id) is not None
    return facts, domain.eligibility_problems(facts, links, live)


def check_eligibility(session: Session, rpc: Any, cmd: i.CheckEligibility) -> i.Eligibility:
    _, problems = eligibility(session, rpc, cmd.actor, cmd.contact_id)
    return i.Eligibility(contact_id=cmd.contact_id, eligible=not problems, reasons=problems)
