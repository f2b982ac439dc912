"""Pure rules of portal access: eligibility, invitation states, links, portal status.

No I/O, no framework: every function takes what it needs and returns a decision.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email

from shared.contracts.common import ContactType, InvitationState, Problem
from shared.contracts.contacts import EligibilityFacts
from shared.contracts.invitations import LinkStatus, PortalStatus, may_manage_portal_access
from shared.contracts.properties import ContactLinks

S = InvitationState

# An invitation whose token may still be used.
LIVE_STATES = frozenset({S.PENDING, S.SENT, S.DELIVERED, S.BOUNCED})
FINAL_STATES = frozenset({S.ACCEPTED, S.EXPIRED, S.REVOKED, S.SUPERSEDED})

# What each delivery fact does to a live invitation. A fact about an invitation that has already
# ended changes nothing: a late "delivered" must not bring a revoked invitation back.
DELIVERY_TRANSITIONS: dict[str, dict[InvitationState, InvitationState]] = {
    "queued": {S.PENDING: S.SENT},
    "succeeded": {S.PENDING: S.DELIVERED, S.SENT: S.DELIVERED},
    "failed": {S.PENDING: S.BOUNCED, S.SENT: S.BOUNCED, S.DELIVERED: S.BOUNCED},
}


def next_state_after_delivery(current: InvitationState, fact: str) -> InvitationState | None:
    return DELIVERY_TRANSITIONS[fact].get(current)


# --- eligibility ------------------------------------------------------------------------------


def eligibility_problems(
    facts: EligibilityFacts, links: ContactLinks, has_live_access: bool
) -> list[Problem]:
    """Every reason the contact cannot be invited now, not only the first."""
    problems: list[Problem] = []
    contact = facts.contact
    if not may_manage_portal_access(facts.staff_member):
        problems.append(
            Problem(
                code="staff_not_permitted",
                message="You do not have permission to manage portal access. Ask an admin to grant it.",
            )
        )
    if not facts.organization.active:
        problems.append(
            Problem(
                code="organization_inactive", message="Your organization's portal access is switched off."
            )
        )
    if contact.archived_at is not None:
        problems.append(Problem(code="contact_archived", message="This contact is archived."))
    if not email_is_valid(contact.email):
        problems.append(
            Problem(
                code="invalid_email", message=f"The contact's email address {contact.email!r} is not valid."
            )
        )
    relationship = relationship_problem(contact.type, links)
    if relationship is not None:
        problems.append(relationship)
    if contact.type == ContactType.CUSTOMER and not facts.client_group_ids:
        problems.append(
            Problem(
                code="no_client_group",
                message="A customer needs to be an authorised account of a client group before they "
                "can be invited.",
            )
        )
    if has_live_access:
        problems.append(
            Problem(code="access_already_active", message="This contact already has portal access.")
        )
    return problems


def relationship_problem(contact_type: ContactType, links: ContactLinks) -> Problem | None:
    """What is missing of the link a contact's access rests on: a tenant's active lease, a
    landlord's or vendor's linked property. Checked before an invitation is sent, and again
    whenever such a link ends (access follows the relationship). None for other types: their
    access rests on something else."""
    if contact_type == ContactType.TENANT and not links.has_active_lease:
        return Problem(
            code="no_active_lease",
            message="A tenant needs an active lease on a unit before they can be invited.",
        )
    if contact_type in (ContactType.LANDLORD, ContactType.VENDOR) and not links.has_active_property_link:
        return Problem(
            code="no_linked_property",
            message=f"A {contact_type.value} needs a linked property before they can be invited.",
        )
    return None


def email_is_valid(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# --- tokens and links -------------------------------------------------------------------------


def invitation_link_status(
    state: InvitationState, consumed: bool, expires_at: datetime, now: datetime
) -> LinkStatus:
    """What an invitation link is good for now."""
    if consumed or state == S.ACCEPTED:
        return LinkStatus.USED
    if state == S.SUPERSEDED:
        return LinkStatus.SUPERSEDED
    if state == S.REVOKED:
        return LinkStatus.REVOKED
    if state == S.EXPIRED or expires_at <= now:
        return LinkStatus.EXPIRED
    return LinkStatus.USABLE


def reset_link_status(consumed: bool, superseded: bool, expires_at: datetime, now: datetime) -> LinkStatus:
    if consumed:
        return LinkStatus.USED
    if superseded:
        return LinkStatus.SUPERSEDED
    if expires_at <= now:
        return LinkStatus.EXPIRED
    return LinkStatus.USABLE


# --- limits -----------------------------------------------------------------------------------


def cooldown_remaining(last_sent_at: datetime | None, now: datetime, cooldown: timedelta) -> int | None:
    """Seconds until the contact may be sent another invitation, or None when it may now."""
    if last_sent_at is None:
        return None
    remaining = (last_sent_at + cooldown - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else None


# --- what staff see ---------------------------------------------------------------------------


def portal_status(latest_state: InvitationState | None, has_live_access: bool) -> PortalStatus:
    if has_live_access:
        return PortalStatus.ACTIVE
    if latest_state is None:
        return PortalStatus.NOT_INVITED
    return {
        S.PENDING: PortalStatus.INVITED,
        S.SENT: PortalStatus.INVITED,
        S.SUPERSEDED: PortalStatus.INVITED,
        S.DELIVERED: PortalStatus.DELIVERED,
        S.BOUNCED: PortalStatus.BOUNCED,
        S.EXPIRED: PortalStatus.EXPIRED,
        # accepted, then the access was taken away
        S.ACCEPTED: PortalStatus.REVOKED,
        S.REVOKED: PortalStatus.REVOKED,
    }[latest_state]
