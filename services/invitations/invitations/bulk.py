"""Bulk invitations: a job of many contacts, worked through in batches, each contact decided
exactly as a single invitation would be (`issuing.issue_invitations`), and the job's progress."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import String, Uuid, func, insert, select, update
from sqlalchemy.orm import Session

from invitations import domain
from invitations.issuing import issue_invitations
from invitations.models import BulkInvitation, BulkInvitationItem, Invitation
from invitations.rows import contacts_with_live_grant
from invitations.settings import InvitationsSettings
from shared.contracts import invitations as i
from shared.contracts.common import InvitationState, StaffActor
from shared.contracts.contacts import (
    GET_ELIGIBILITY_FACTS_MANY,
    ContactView,
    EligibilityFacts,
    GetEligibilityFactsMany,
)
from shared.contracts.errors import NotFound
from shared.contracts.properties import GET_CONTACT_LINKS_MANY, GetContactLinksMany
from shared.db import unnest

S = InvitationState


def start_bulk_invitation(
    session: Session, rpc: Any, cmd: i.StartBulkInvitation, now: datetime
) -> i.BulkInvitationView:
    """Record the job and its contacts; `process_bulk_invitations` works through them. Refused at
    once when the staff member may not manage portal access at all."""
    contact_ids = list(dict.fromkeys(cmd.contact_ids))  # each contact once, in the order given
    facts = rpc.call(
        GET_ELIGIBILITY_FACTS_MANY,
        GetEligibilityFactsMany(
            organization_id=cmd.actor.organization_id,
            contact_ids=contact_ids[:1],
            staff_member_id=cmd.actor.staff_member_id,
        ),
    )
    i.refuse_unless_may_manage_portal_access(facts.staff_member)
    job = BulkInvitation(
        organization_id=cmd.actor.organization_id,
        staff_member_id=cmd.actor.staff_member_id,
        total=len(contact_ids),
        created_at=now,
    )
    session.add(job)
    session.flush()
    session.execute(
        insert(BulkInvitationItem),
        [
            {"bulk_invitation_id": job.id, "contact_id": contact_id, "position": n, "status": "pending"}
            for n, contact_id in enumerate(contact_ids)
        ],
    )
    session.commit()
    return bulk_view(session, job)


def get_bulk_invitation(session: Session, q: i.GetBulkInvitation) -> i.BulkInvitationView:
    job = session.get(BulkInvitation, q.job_id)
    if job is None or job.organization_id != q.organization_id:
        raise NotFound("no such bulk invitation")
    return bulk_view(session, job)


def bulk_view(session: Session, job: BulkInvitation) -> i.BulkInvitationView:
    items = session.execute(
        select(BulkInvitationItem.status, BulkInvitationItem.reason, func.count())
        .where(BulkInvitationItem.bulk_invitation_id == job.id)
        .group_by(BulkInvitationItem.status, BulkInvitationItem.reason)
    ).all()
    states = dict(
        session.execute(
            select(Invitation.state, func.count())
            .join(BulkInvitationItem, BulkInvitationItem.invitation_id == Invitation.id)
            .where(BulkInvitationItem.bulk_invitation_id == job.id)
            .group_by(Invitation.state)
        ).all()
    )
    reasons: dict[str, int] = defaultdict(int)
    for status, reason, count in items:
        if status == "skipped":
            for code in (reason or "unknown").split(","):
                reasons[code] += count
    by_status: dict[str, int] = defaultdict(int)
    for status, _, count in items:
        by_status[status] += count
    return i.BulkInvitationView(
        id=job.id,
        organization_id=job.organization_id,
        created_by_staff_member_id=job.staff_member_id,
        created_at=job.created_at,
        finished_at=job.finished_at,
        total=job.total,
        processed=by_status["invited"] + by_status["skipped"],
        invited=by_status["invited"],
        skipped=by_status["skipped"],
        skipped_reasons=dict(reasons),
        # An accepted invitation's email was delivered too.
        delivered=states.get(S.DELIVERED.value, 0) + states.get(S.ACCEPTED.value, 0),
        bounced=states.get(S.BOUNCED.value, 0),
        accepted=states.get(S.ACCEPTED.value, 0),
    )


def process_bulk_invitations(session: Session, rpc: Any, settings: InvitationsSettings, now: datetime) -> int:
    """Work through one batch of one bulk invitation: two RPCs for the whole batch's eligibility,
    then the eligible contacts go through `issue_invitations` together (the staff member's hourly
    limit, the contact's cooldown, the rows), in one transaction. Several service instances share
    the work (FOR UPDATE SKIP LOCKED). Returns the items done.

    Every write is one statement for the whole batch, never executemany: psycopg sends that as a
    pipeline with a wait per row, and under eventlet each wait yields to every other green thread,
    which made a batch take seconds while delivery events were being handled."""
    first = session.execute(
        select(BulkInvitationItem.bulk_invitation_id)
        .where(BulkInvitationItem.status == "pending")
        .order_by(BulkInvitationItem.bulk_invitation_id, BulkInvitationItem.position)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar()
    if first is None:
        session.rollback()
        return 0
    job = session.get(BulkInvitation, first)
    assert job is not None
    ids = list(
        session.scalars(
            select(BulkInvitationItem.contact_id)
            .where(BulkInvitationItem.bulk_invitation_id == job.id, BulkInvitationItem.status == "pending")
            .order_by(BulkInvitationItem.position)
            .limit(settings.bulk_batch_size)
            .with_for_update(skip_locked=True)
        )
    )
    actor = StaffActor(organization_id=job.organization_id, staff_member_id=job.staff_member_id)
    facts = rpc.call(
        GET_ELIGIBILITY_FACTS_MANY,
        GetEligibilityFactsMany(
            organization_id=job.organization_id, contact_ids=ids, staff_member_id=actor.staff_member_id
        ),
    )
    links = {
        x.contact_id: x
        for x in rpc.call(
            GET_CONTACT_LINKS_MANY, GetContactLinksMany(organization_id=job.organization_id, contact_ids=ids)
        ).items
    }
    contacts = {contact.id: contact for contact in facts.contacts}
    live = contacts_with_live_grant(session, job.organization_id, ids)
    # contact id -> (status, reason), in the batch's order
    outcome: dict[UUID, tuple[str, str | None]] = {}
    eligible: list[ContactView] = []
    for contact_id in ids:
        contact = contacts.get(contact_id)
        if contact is None:
            outcome[contact_id] = ("skipped", "not_found")
            continue
        single = EligibilityFacts(
            contact=contact,
            organization=facts.organization,
            staff_member=facts.staff_member,
            client_group_ids=facts.client_group_ids.get(contact_id, []),
        )
        problems = domain.eligibility_problems(single, links[contact_id], contact_id in live)
        if problems:
            outcome[contact_id] = ("skipped", ",".join(problem.code for problem in problems))
        else:
            outcome[contact_id] = ("invited", None)
            eligible.append(contact)
    issued = issue_invitations(session, settings, facts.organization, eligible, actor, now)
    for contact_id, refused in issued.refused.items():
        outcome[contact_id] = ("skipped", refused.code)
    decided = unnest(
        "decided",
        contact_id=(Uuid(), list(outcome)),
        status=(String(), [status for status, _ in outcome.values()]),
        reason=(String(), [reason for _, reason in outcome.values()]),
        invitation_id=(Uuid(), [issued.invitations.get(contact_id) for contact_id in outcome]),
    )
    session.execute(
        update(BulkInvitationItem)
        .where(
            BulkInvitationItem.bulk_invitation_id == job.id,
            BulkInvitationItem.contact_id == decided.c.contact_id,
        )
        .values(
            status=decided.c.status,
            reason=decided.c.reason,
            invitation_id=decided.c.invitation_id,
            processed_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    pending = session.scalar(
        select(func.count()).where(
            BulkInvitationItem.bulk_invitation_id == job.id, BulkInvitationItem.status == "pending"
        )
    )
    if not pending:
        job.finished_at = now
    session.commit()
    return len(ids)
