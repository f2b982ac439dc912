"""Use cases of the invitations service: one function per command, question or event.

Each command commits once, its events in the outbox of the same transaction. Password hashing
happens before the transaction that writes, so no row lock waits on argon2.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import String, Uuid, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import (
    AccessAudit,
    AccessGrant,
    BulkInvitation,
    BulkInvitationItem,
    Invitation,
    InvitationHistory,
    PasswordReset,
    PasswordResetRequest,
    PortalAccount,
    PortalSession,
    ViewAsSession,
    inbox,
    login_throttle,
    outbox,
)
from invitations.settings import InvitationsSettings
from shared import faults, throttle
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import ContactType, InvitationState, StaffActor
from shared.contracts.contacts import (
    GET_ELIGIBILITY_FACTS,
    GET_ELIGIBILITY_FACTS_MANY,
    ContactView,
    EligibilityFacts,
    GetEligibilityFacts,
    GetEligibilityFactsMany,
    OrganizationView,
)
from shared.contracts.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    NotEligible,
    NotFound,
    PasswordRejected,
    PermissionDenied,
    RateLimited,
    TokenNotUsable,
)
from shared.contracts.properties import (
    GET_CONTACT_LINKS,
    GET_CONTACT_LINKS_MANY,
    GetContactLinks,
    GetContactLinksMany,
)
from shared.db import table, unnest
from shared.outbox import first_time_seen_many, record_event
from shared.passwords import Passwords, password_problems
from shared.sealing import seal
from shared.tokens import digest, new_secret, normalize_email

S = InvitationState

# --- small pieces -----------------------------------------------------------------------------


def _history(
    session: Session, invitation_id: UUID, state: InvitationState, at: datetime, detail: str | None
) -> None:
    session.add(InvitationHistory(invitation_id=invitation_id, state=state.value, at=at, detail=detail))


def _audit(session: Session, org: UUID, contact: UUID, action: str, at: datetime, **who: Any) -> None:
    session.add(
        AccessAudit(
            organization_id=org,
            contact_id=contact,
            action=action,
            at=at,
            account_id=who.get("account_id"),
            staff_member_id=who.get("staff_member_id"),
            detail=who.get("detail"),
        )
    )


def _lock_contact(session: Session, organization_id: UUID, contact_id: UUID) -> None:
    """Serialise every access change of one contact (send, resend, revoke) for this transaction."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": _contact_lock_key(organization_id, contact_id)},
    )


def _lock_contacts(session: Session, organization_id: UUID, contact_ids: Iterable[UUID]) -> None:
    """`_lock_contact` for many contacts in one statement, always in the same order, so that two
    transactions locking overlapping sets cannot wait on each other in a circle."""
    keys = sorted({_contact_lock_key(organization_id, contact_id) for contact_id in contact_ids})
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS text[])) AS key"
        ),
        {"keys": keys},
    )


def _contact_lock_key(organization_id: UUID, contact_id: UUID) -> str:
    return f"invitations:{organization_id}:{contact_id}"


def _end_live_invitations(
    session: Session,
    organization_id: UUID,
    contact_id: UUID,
    state: InvitationState,
    now: datetime,
    detail: str,
    to_email: str | None = None,
) -> list[UUID]:
    """Move every live invitation of the contact (only those sent to `to_email`, when given) to
    `state` (its token dies with it); their ids."""
    query = update(Invitation).where(
        Invitation.organization_id == organization_id,
        Invitation.contact_id == contact_id,
        Invitation.state.in_([s.value for s in domain.LIVE_STATES]),
    )
    if to_email is not None:
        query = query.where(Invitation.email_normalized == normalize_email(to_email))
    ended = session.scalars(query.values(state=state.value).returning(Invitation.id)).all()
    for invitation_id in ended:
        _history(session, invitation_id, state, now, detail)
    return list(ended)


def _live_grant(session: Session, organization_id: UUID, contact_id: UUID) -> AccessGrant | None:
    return session.scalars(
        select(AccessGrant).where(
            AccessGrant.organization_id == organization_id,
            AccessGrant.contact_id == contact_id,
            AccessGrant.revoked_at.is_(None),
        )
    ).first()


def _views(session: Session, invitations: Iterable[Invitation]) -> list[i.InvitationView]:
    invitations = list(invitations)
    histories: dict[UUID, list[i.InvitationStateChange]] = defaultdict(list)
    if invitations:
        rows = session.scalars(
            select(InvitationHistory)
            .where(InvitationHistory.invitation_id.in_([inv.id for inv in invitations]))
            .order_by(InvitationHistory.id)
        )
        for row in rows:
            histories[row.invitation_id].append(
                i.InvitationStateChange(state=S(row.state), at=row.at, detail=row.detail)
            )
    return [
        i.InvitationView(
            id=inv.id,
            organization_id=inv.organization_id,
            contact_id=inv.contact_id,
            email=inv.email,
            state=S(inv.state),
            created_at=inv.created_at,
            expires_at=inv.expires_at,
            accepted_at=inv.consumed_at,
            sent_by_staff_member_id=inv.sent_by_staff_member_id,
            history=histories[inv.id],
        )
        for inv in invitations
    ]


def _not_usable(status: i.LinkStatus) -> TokenNotUsable:
    messages = {
        i.LinkStatus.EXPIRED: "This link has expired.",
        i.LinkStatus.SUPERSEDED: "A newer link was sent; this one no longer works.",
        i.LinkStatus.REVOKED: "This invitation was withdrawn.",
        i.LinkStatus.USED: "This link has already been used.",
        i.LinkStatus.UNKNOWN: "This link is not valid.",
    }
    return TokenNotUsable(messages[status], {"reason": status.value})


# --- eligibility and sending ------------------------------------------------------------------


def _facts(rpc: Any, actor: StaffActor, contact_id: UUID) -> EligibilityFacts:
    return rpc.call(  # type: ignore[no-any-return]
        GET_ELIGIBILITY_FACTS,
        GetEligibilityFacts(
            organization_id=actor.organization_id,
            contact_id=contact_id,
            staff_member_id=actor.staff_member_id,
        ),
    )


def _eligibility(
    session: Session, rpc: Any, actor: StaffActor, contact_id: UUID
) -> tuple[EligibilityFacts, list[Any]]:
    facts = _facts(rpc, actor, contact_id)  # NotFound for another organization's contact
    links = rpc.call(
        GET_CONTACT_LINKS, GetContactLinks(organization_id=actor.organization_id, contact_id=contact_id)
    )
    live = _live_grant(session, actor.organization_id, contact_id) is not None
    return facts, domain.eligibility_problems(facts, links, live)


def check_eligibility(session: Session, rpc: Any, cmd: i.CheckEligibility) -> i.Eligibility:
    _, problems = _eligibility(session, rpc, cmd.actor, cmd.contact_id)
    return i.Eligibility(contact_id=cmd.contact_id, eligible=not problems, reasons=problems)


def send_invitation(
    session: Session,
    rpc: Any,
    settings: InvitationsSettings,
    cmd: i.SendInvitation,
    now: datetime,
    *,
    resend: bool,
) -> i.InvitationView:
    if cmd.idempotency_key is not None:
        # Under the contact's lock, so the same request twice at once makes one invitation.
        _lock_contact(session, cmd.actor.organization_id, cmd.contact_id)
        earlier = _invitation_by_key(session, cmd.actor, cmd.idempotency_key)
        if earlier is not None:
            if earlier.contact_id != cmd.contact_id:
                raise Conflict("This Idempotency-Key was already used for another contact.")
            return _views(session, [earlier])[0]
    facts, problems = _eligibility(session, rpc, cmd.actor, cmd.contact_id)
    if problems:
        raise NotEligible(
            "This contact cannot be invited yet.", {"reasons": [p.model_dump(mode="json") for p in problems]}
        )
    _check_staff_rate(session, settings, cmd.actor.staff_member_id, now)
    invitation = _issue_invitation(
        session, settings, facts.organization, facts.contact, cmd.actor, now, resend
    )
    invitation.idempotency_key = cmd.idempotency_key
    try:
        session.commit()
    except IntegrityError:
        # The same key, at the same moment, for another contact (whose lock this one did not hold).
        session.rollback()
        raise Conflict("This Idempotency-Key was already used for another contact.") from None
    faults.crash_point(faults.INVITATION_COMMITTED)
    return _views(session, [invitation])[0]


def _invitation_by_key(session: Session, actor: StaffActor, key: str) -> Invitation | None:
    return session.scalars(
        select(Invitation).where(
            Invitation.organization_id == actor.organization_id,
            Invitation.sent_by_staff_member_id == actor.staff_member_id,
            Invitation.idempotency_key == key,
        )
    ).first()


def _issue_invitation(
    session: Session,
    settings: InvitationsSettings,
    organization: OrganizationView,
    contact: ContactView,
    actor: StaffActor,
    now: datetime,
    resend: bool,
) -> Invitation:
    """A new invitation for an eligible contact, superseding its older ones, with its event in the
    outbox; the caller commits. Refused inside the resend cooldown."""
    org_id, contact_id, staff_id = actor.organization_id, contact.id, actor.staff_member_id
    _lock_contact(session, org_id, contact_id)

    latest = session.scalars(
        select(Invitation)
        .where(Invitation.organization_id == org_id, Invitation.contact_id == contact_id)
        .order_by(Invitation.created_at.desc())
        .limit(1)
    ).first()
    if resend and latest is None:
        raise NotFound("This contact has no invitation to resend; send one first.")
    wait = domain.cooldown_remaining(latest.created_at if latest else None, now, settings.resend_cooldown)
    if wait is not None:
        raise RateLimited(
            f"An invitation went to this contact moments ago. You can send another in {wait} s.",
            {"retry_after": wait},
        )
    _end_live_invitations(session, org_id, contact_id, S.SUPERSEDED, now, "a newer invitation was sent")

    token = new_secret()
    invitation = Invitation(
        organization_id=org_id,
        contact_id=contact_id,
        contact_type=contact.type.value,
        email=contact.email,
        email_normalized=normalize_email(contact.email),
        recipient_name=contact.display_name,
        organization_name=organization.name,
        locale=contact.locale,
        token_hash=digest(token),
        state=S.PENDING.value,
        is_resend=resend,
        sent_by_staff_member_id=staff_id,
        created_at=now,
        expires_at=now + settings.invitation_expiry,
    )
    session.add(invitation)
    session.flush()
    _history(session, invitation.id, S.PENDING, now, "resent by staff" if resend else "sent by staff")
    _audit(
        session,
        org_id,
        contact_id,
        "invitation_resent" if resend else "invitation_sent",
        now,
        staff_member_id=staff_id,
        detail=f"to {contact.email}",
    )
    record_event(
        session,
        outbox,
        _invitation_sent(
            settings, organization, contact, staff_id, invitation.id, invitation.expires_at, token, resend
        ),
    )
    return invitation


def _invitation_sent(
    settings: InvitationsSettings,
    organization: OrganizationView,
    contact: ContactView,
    staff_id: UUID,
    invitation_id: UUID,
    expires_at: datetime,
    token: str,
    resend: bool,
) -> e.InvitationSent:
    return e.InvitationSent(
        organization_id=organization.id,
        invitation_id=invitation_id,
        contact_id=contact.id,
        contact_type=contact.type,
        email=contact.email,
        recipient_name=contact.display_name,
        organization_name=organization.name,
        locale=contact.locale,
        expires_at=expires_at,
        sent_by_staff_member_id=staff_id,
        is_resend=resend,
        sealed_link=seal(settings.link_sealing_key, settings.link("invite", token)),
    )


def _issue_invitations(
    session: Session,
    settings: InvitationsSettings,
    organization: OrganizationView,
    contacts: list[ContactView],
    actor: StaffActor,
    now: datetime,
) -> list[UUID]:
    """`_issue_invitation` for many eligible contacts at once, in a few statements whatever their
    number: each contact's live invitations superseded, a new one with its history, audit row and
    event. The caller holds `_lock_contacts` on them and has checked the cooldown; it commits.
    The new invitations' ids, in the order of `contacts`."""
    if not contacts:
        return []
    org_id, staff_id = actor.organization_id, actor.staff_member_id
    superseded = session.scalars(
        update(Invitation)
        .where(
            Invitation.organization_id == org_id,
            Invitation.contact_id.in_([contact.id for contact in contacts]),
            Invitation.state.in_([s.value for s in domain.LIVE_STATES]),
        )
        .values(state=S.SUPERSEDED.value)
        .returning(Invitation.id)
    ).all()
    history = [
        {
            "invitation_id": old,
            "state": S.SUPERSEDED.value,
            "at": now,
            "detail": "a newer invitation was sent",
        }
        for old in superseded
    ]
    invitations, audit, events = [], [], []
    ids: list[UUID] = []
    expires_at = now + settings.invitation_expiry
    for contact in contacts:
        token, invitation_id = new_secret(), uuid4()
        ids.append(invitation_id)
        invitations.append(
            {
                "id": invitation_id,
                "organization_id": org_id,
                "contact_id": contact.id,
                "contact_type": contact.type.value,
                "email": contact.email,
                "email_normalized": normalize_email(contact.email),
                "recipient_name": contact.display_name,
                "organization_name": organization.name,
                "locale": contact.locale,
                "token_hash": digest(token),
                "state": S.PENDING.value,
                "is_resend": False,
                "sent_by_staff_member_id": staff_id,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        history.append(
            {"invitation_id": invitation_id, "state": S.PENDING.value, "at": now, "detail": "sent by staff"}
        )
        audit.append(
            {
                "organization_id": org_id,
                "contact_id": contact.id,
                "action": "invitation_sent",
                "at": now,
                "account_id": None,
                "staff_member_id": staff_id,
                "detail": f"to {contact.email}",
            }
        )
        event = _invitation_sent(
            settings, organization, contact, staff_id, invitation_id, expires_at, token, False
        )
        events.append(
            {
                "event_id": event.event_id,
                "source": event.source,
                "event_type": event.event_type,
                "payload": event.model_dump(mode="json"),
            }
        )
    # Multi-row INSERTs from one compiled statement each (`shared.db.batch_inserts`), on the
    # tables themselves: the ORM's bulk path costs more than the rows.
    session.execute(insert(table(Invitation)), invitations)
    session.execute(insert(table(InvitationHistory)), history)
    session.execute(insert(table(AccessAudit)), audit)
    session.execute(insert(outbox), events)  # the rows `record_event` writes, in order
    return ids


def _staff_sent_last_hour(session: Session, staff_id: UUID, now: datetime) -> tuple[int, datetime | None]:
    """How many invitations the staff member sent in the last hour, and when the oldest of them."""
    sent, oldest = session.execute(
        select(func.count(), func.min(Invitation.created_at)).where(
            Invitation.sent_by_staff_member_id == staff_id, Invitation.created_at > now - timedelta(hours=1)
        )
    ).one()
    return sent, oldest


def _check_staff_rate(session: Session, settings: InvitationsSettings, staff_id: UUID, now: datetime) -> None:
    sent, oldest = _staff_sent_last_hour(session, staff_id, now)
    if sent >= settings.invitations_per_staff_per_hour:
        assert oldest is not None  # there was at least one
        retry_after = max(1, int((oldest + timedelta(hours=1) - now).total_seconds()) + 1)
        raise RateLimited(
            f"You have sent {sent} invitations in the last hour, the most allowed. Try again later.",
            {"retry_after": retry_after},
        )


def revoke_access(session: Session, rpc: Any, cmd: i.RevokeAccess, now: datetime) -> i.RevokeResult:
    """Kill the contact's live invitations, its access and the sessions of the account that had it."""
    facts = _facts(rpc, cmd.actor, cmd.contact_id)
    staff = facts.staff_member
    if staff is None or not staff.active or not staff.can_manage_portal_access:
        raise PermissionDenied("You do not have permission to manage portal access.")
    org_id, contact_id, staff_id = cmd.actor.organization_id, cmd.contact_id, cmd.actor.staff_member_id
    _lock_contact(session, org_id, contact_id)
    result = withdraw_access(session, org_id, contact_id, cmd.reason, now, staff_id=staff_id)
    _audit(
        session,
        org_id,
        contact_id,
        "access_revoked",
        now,
        staff_member_id=staff_id,
        detail=f"{result.revoked_invitations} invitation(s), {result.revoked_grants} grant(s): {cmd.reason}",
    )
    session.commit()
    return result


def withdraw_access(
    session: Session,
    org_id: UUID,
    contact_id: UUID,
    reason: str,
    now: datetime,
    *,
    staff_id: UUID | None,
    email: str | None = None,
    keep_sessions_with_other_access: bool = False,
) -> i.RevokeResult:
    """End the contact's live invitations and live grant, with their events, and the sessions of
    the account that held the grant. With `email`, only invitations sent to that email and a grant
    held by that email's account. With `keep_sessions_with_other_access`, an account that still
    has another live grant keeps its sessions (they no longer show this membership). The caller
    holds the contact's lock, writes the audit and commits. Invitations go first: an acceptance
    racing this either finished before (its grant is then found here) or finds its token dead."""
    revoked = _end_live_invitations(session, org_id, contact_id, S.REVOKED, now, reason, email)
    for invitation_id in revoked:
        record_event(
            session,
            outbox,
            e.InvitationRevoked(
                organization_id=org_id,
                invitation_id=invitation_id,
                contact_id=contact_id,
                revoked_by_staff_member_id=staff_id,
                reason=reason,
            ),
        )
    query = select(AccessGrant).where(
        AccessGrant.organization_id == org_id,
        AccessGrant.contact_id == contact_id,
        AccessGrant.revoked_at.is_(None),
    )
    if email is not None:
        query = query.join(PortalAccount, PortalAccount.id == AccessGrant.account_id).where(
            PortalAccount.email_normalized == normalize_email(email)
        )
    grants = session.scalars(query.with_for_update(of=AccessGrant)).all()
    ended_sessions = 0
    for grant in grants:
        ended_sessions += _revoke_grant(session, grant, reason, now, keep_sessions_with_other_access)
    return i.RevokeResult(
        contact_id=contact_id,
        revoked_invitations=len(revoked),
        revoked_grants=len(grants),
        ended_sessions=ended_sessions,
    )


def _revoke_grant(
    session: Session,
    grant: AccessGrant,
    reason: str,
    now: datetime,
    keep_sessions_with_other_access: bool = False,
) -> int:
    """End a grant and every session of its account (unless asked to keep them while the account
    has another live grant); return how many sessions ended."""
    grant.revoked_at = now
    grant.revoke_reason = reason
    record_event(
        session,
        outbox,
        e.AccessRevoked(
            organization_id=grant.organization_id,
            grant_id=grant.id,
            account_id=grant.account_id,
            contact_id=grant.contact_id,
            reason=reason,
        ),
    )
    if keep_sessions_with_other_access and _has_other_live_grant(session, grant):
        return 0
    return _end_sessions(session, grant.account_id, "access revoked", now)


def _has_other_live_grant(session: Session, grant: AccessGrant) -> bool:
    other = session.scalar(
        select(AccessGrant.id)
        .where(
            AccessGrant.account_id == grant.account_id,
            AccessGrant.id != grant.id,
            AccessGrant.revoked_at.is_(None),
        )
        .limit(1)
    )
    return other is not None


def _end_sessions(session: Session, account_id: UUID, reason: str, now: datetime) -> int:
    ended = session.scalars(
        update(PortalSession)
        .where(PortalSession.account_id == account_id, PortalSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(PortalSession.id_hash)
    ).all()
    return len(ended)


# --- staff questions --------------------------------------------------------------------------


def list_invitations(session: Session, q: i.ListInvitations) -> i.InvitationPage:
    query = select(Invitation).where(Invitation.organization_id == q.organization_id)
    if q.contact_id is not None:
        query = query.where(Invitation.contact_id == q.contact_id)
    if q.state is not None:
        query = query.where(Invitation.state == q.state.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Invitation.created_at.desc(), Invitation.id).limit(q.limit).offset(q.offset)
    ).all()
    return i.InvitationPage(items=_views(session, rows), total=total, limit=q.limit, offset=q.offset)


def get_invitation(session: Session, q: i.GetInvitation) -> i.InvitationView:
    invitation = session.get(Invitation, q.invitation_id)
    if invitation is None or invitation.organization_id != q.organization_id:
        raise NotFound("no such invitation")
    return _views(session, [invitation])[0]


def list_access_audit(session: Session, q: i.ListAccessAudit) -> i.AccessAuditPage:
    """The contact's access audit, newest first."""
    query = select(AccessAudit).where(
        AccessAudit.organization_id == q.organization_id, AccessAudit.contact_id == q.contact_id
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AccessAudit.at.desc(), AccessAudit.id.desc()).limit(q.limit).offset(q.offset)
    ).all()
    return i.AccessAuditPage(
        items=[
            i.AccessAuditEntry(
                action=row.action,
                at=row.at,
                staff_member_id=row.staff_member_id,
                account_id=row.account_id,
                detail=row.detail,
            )
            for row in rows
        ],
        total=total,
        limit=q.limit,
        offset=q.offset,
    )


def get_portal_access(session: Session, q: i.GetPortalAccess) -> i.PortalAccessList:
    latest = session.scalars(
        select(Invitation)
        .where(Invitation.organization_id == q.organization_id, Invitation.contact_id.in_(q.contact_ids))
        .order_by(Invitation.contact_id, Invitation.created_at.desc())
        .ext(distinct_on(Invitation.contact_id))
    ).all()
    live = set(
        session.scalars(
            select(AccessGrant.contact_id).where(
                AccessGrant.organization_id == q.organization_id,
                AccessGrant.contact_id.in_(q.contact_ids),
                AccessGrant.revoked_at.is_(None),
            )
        )
    )
    views = {view.contact_id: view for view in _views(session, latest)}
    return i.PortalAccessList(
        items=[
            i.PortalAccessView(
                contact_id=contact_id,
                status=domain.portal_status(
                    views[contact_id].state if contact_id in views else None, contact_id in live
                ),
                latest_invitation=views.get(contact_id),
            )
            for contact_id in q.contact_ids
        ]
    )


# --- accepting an invitation ------------------------------------------------------------------


def _invitation_by_token(session: Session, token: str) -> Invitation | None:
    return session.scalars(select(Invitation).where(Invitation.token_hash == digest(token))).first()


def _link_status(invitation: Invitation | None, now: datetime) -> i.LinkStatus:
    if invitation is None:
        return i.LinkStatus.UNKNOWN
    return domain.invitation_link_status(
        S(invitation.state), invitation.consumed_at is not None, invitation.expires_at, now
    )


def _account_by_email(session: Session, email: str) -> PortalAccount | None:
    return session.scalars(
        select(PortalAccount).where(PortalAccount.email_normalized == normalize_email(email))
    ).first()


def open_invitation(session: Session, token: str, now: datetime) -> i.InvitationLanding:
    invitation = _invitation_by_token(session, token)
    status = _link_status(invitation, now)
    if invitation is None or status != i.LinkStatus.USABLE:
        return i.InvitationLanding(status=status)
    return i.InvitationLanding(
        status=status,
        email=invitation.email,
        recipient_name=invitation.recipient_name,
        organization_name=invitation.organization_name,
        account_exists=_account_by_email(session, invitation.email) is not None,
    )


def _usable_invitation(session: Session, token: str, now: datetime) -> Invitation:
    invitation = _invitation_by_token(session, token)
    status = _link_status(invitation, now)
    if invitation is None or status != i.LinkStatus.USABLE:
        raise _not_usable(status)
    return invitation


def _consume_invitation(session: Session, token: str, now: datetime) -> Invitation:
    """Use the token, atomically: of any number of concurrent attempts exactly one gets the row."""
    invitation = session.scalars(
        update(Invitation)
        .where(
            Invitation.token_hash == digest(token),
            Invitation.consumed_at.is_(None),
            Invitation.state.in_([s.value for s in domain.LIVE_STATES]),
            Invitation.expires_at > now,
        )
        .values(consumed_at=now, state=S.ACCEPTED.value)
        .returning(Invitation)
        .execution_options(synchronize_session=False)
    ).first()
    if invitation is None:
        session.rollback()
        raise _not_usable(_link_status(_invitation_by_token(session, token), now))
    return invitation


def _start_session(
    session: Session, settings: InvitationsSettings, account_id: UUID, now: datetime
) -> i.SessionIssued:
    session_id = new_secret()
    expires_at = now + settings.session_lifetime
    session.add(
        PortalSession(
            id_hash=digest(session_id), account_id=account_id, created_at=now, expires_at=expires_at
        )
    )
    return i.SessionIssued(session_id=session_id, account_id=account_id, expires_at=expires_at)


def _grant_access(session: Session, invitation: Invitation, account_id: UUID, now: datetime) -> None:
    existing = _live_grant(session, invitation.organization_id, invitation.contact_id)
    if existing is not None and existing.account_id == account_id:
        return
    if existing is not None:
        _revoke_grant(session, existing, "replaced: the contact accepted a newer invitation", now)
        session.flush()
    invitation.accepted_account_id = account_id
    grant = AccessGrant(
        account_id=account_id,
        organization_id=invitation.organization_id,
        contact_id=invitation.contact_id,
        contact_type=invitation.contact_type,
        invitation_id=invitation.id,
        granted_at=now,
    )
    session.add(grant)
    session.flush()
    _history(session, invitation.id, S.ACCEPTED, now, None)
    _audit(
        session,
        invitation.organization_id,
        invitation.contact_id,
        "access_granted",
        now,
        account_id=account_id,
    )
    record_event(
        session,
        outbox,
        e.InvitationAccepted(
            organization_id=invitation.organization_id,
            invitation_id=invitation.id,
            contact_id=invitation.contact_id,
            account_id=account_id,
        ),
    )
    record_event(
        session,
        outbox,
        e.AccessGranted(
            organization_id=invitation.organization_id,
            grant_id=grant.id,
            account_id=account_id,
            contact_id=invitation.contact_id,
            contact_type=ContactType(invitation.contact_type),
        ),
    )


def _refuse_weak_password(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise PasswordRejected(" ".join(problems), {"errors": problems})


def _same_passwords(password: str, confirmation: str) -> None:
    if password != confirmation:
        raise InvalidInput(
            "The two passwords are not the same.",
            {"errors": [{"field": "password_confirmation", "message": "does not match the password"}]},
        )


ACCOUNT_EXISTS = Conflict(
    "You already have a portal account with this email. Sign in to add this access to it.",
    {"reason": "account_exists"},
)


def accept_invitation(
    session: Session,
    passwords: Passwords,
    settings: InvitationsSettings,
    cmd: i.AcceptInvitation,
    now: datetime,
) -> i.SessionIssued:
    _same_passwords(cmd.password, cmd.password_confirmation)
    invitation = _usable_invitation(session, cmd.token, now)
    _refuse_weak_password(cmd.password, invitation.email)
    if _account_by_email(session, invitation.email) is not None:
        raise ACCOUNT_EXISTS
    session.rollback()  # nothing is held while the password is hashed
    password_hash = passwords.hash(cmd.password)

    invitation = _consume_invitation(session, cmd.token, now)
    account_id = session.scalar(
        pg_insert(PortalAccount)
        .values(
            email=invitation.email,
            email_normalized=invitation.email_normalized,
            password_hash=password_hash,
            display_name=invitation.recipient_name,
            locale=invitation.locale,
            created_at=now,
            password_changed_at=now,
        )
        .on_conflict_do_nothing(index_elements=[PortalAccount.email_normalized])
        .returning(PortalAccount.id)
    )
    if account_id is None:  # another invitation to the same email was accepted meanwhile
        session.rollback()
        raise ACCOUNT_EXISTS
    _grant_access(session, invitation, account_id, now)
    issued = _start_session(session, settings, account_id, now)
    session.commit()
    return issued


def _login_key(email: str) -> str:
    return digest("portal:" + normalize_email(email))


def _verify_or_count_failure(
    session: Session,
    passwords: Passwords,
    settings: InvitationsSettings,
    email: str,
    password: str,
    now: datetime,
) -> PortalAccount:
    """The account, when the password is right; the same error and time for an unknown email."""
    key = _login_key(email)
    throttle.refuse_while_locked(session, login_throttle, key, now)
    account = _account_by_email(session, email)
    if account is not None:
        ok = passwords.verify(account.password_hash, password)
    else:
        ok = passwords.verify_nothing(password)
    if not ok or account is None:
        throttle.record_failure(
            session,
            login_throttle,
            key,
            now,
            max_failures=settings.max_failed_logins,
            lockout=settings.lockout,
        )
        session.commit()
        raise InvalidCredentials("The email or password is not right.")
    throttle.clear(session, login_throttle, key)
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash(password)
    return account


def accept_invitation_as_account(
    session: Session,
    passwords: Passwords,
    settings: InvitationsSettings,
    cmd: i.AcceptInvitationAsAccount,
    now: datetime,
) -> i.SessionIssued:
    invitation = _usable_invitation(session, cmd.token, now)
    account = _verify_or_count_failure(session, passwords, settings, invitation.email, cmd.password, now)
    account_id = account.id
    session.commit()
    invitation = _consume_invitation(session, cmd.token, now)
    _grant_access(session, invitation, account_id, now)
    issued = _start_session(session, settings, account_id, now)
    session.commit()
    return issued


# --- signing in and out -----------------------------------------------------------------------


def login(
    session: Session, passwords: Passwords, settings: InvitationsSettings, cmd: i.Login, now: datetime
) -> i.SessionIssued:
    account = _verify_or_count_failure(session, passwords, settings, cmd.email, cmd.password, now)
    issued = _start_session(session, settings, account.id, now)
    session.commit()
    return issued


def logout(session: Session, session_id: str, now: datetime) -> None:
    row = session.get(PortalSession, digest(session_id))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        row.end_reason = "signed out"
        session.commit()


def check_session(session: Session, session_id: str, now: datetime) -> i.PortalSession:
    row = session.get(PortalSession, digest(session_id))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise InvalidCredentials("Your session has ended. Sign in again.")
    account = session.get(PortalAccount, row.account_id)
    assert account is not None
    grants = session.scalars(
        select(AccessGrant)
        .where(AccessGrant.account_id == account.id, AccessGrant.revoked_at.is_(None))
        .order_by(AccessGrant.granted_at)
    ).all()
    return i.PortalSession(
        account_id=account.id,
        email=account.email,
        expires_at=row.expires_at,
        memberships=[
            i.Membership(
                grant_id=g.id,
                organization_id=g.organization_id,
                contact_id=g.contact_id,
                contact_type=ContactType(g.contact_type),
                granted_at=g.granted_at,
            )
            for g in grants
        ],
    )


# --- View As ----------------------------------------------------------------------------------


def start_view_as(
    session: Session, rpc: Any, settings: InvitationsSettings, cmd: i.StartViewAs, now: datetime
) -> i.ViewAsIssued:
    """A read-only session showing the portal as the contact sees it, for any active staff member of
    the contact's organization (every role reads contacts). No grant is needed: it is also a preview
    before the contact accepts. Audited with the staff member and the contact."""
    facts = _facts(rpc, cmd.actor, cmd.contact_id)  # NotFound for another organization's contact
    staff = facts.staff_member
    if staff is None or not staff.active:
        raise PermissionDenied("You do not have permission to view this contact.")
    session_id = new_secret()
    row = ViewAsSession(
        id_hash=digest(session_id),
        staff_member_id=cmd.actor.staff_member_id,
        organization_id=cmd.actor.organization_id,
        contact_id=facts.contact.id,
        contact_type=facts.contact.type.value,
        contact_name=facts.contact.display_name,
        contact_email=facts.contact.email,
        created_at=now,
        expires_at=now + settings.view_as_lifetime,
    )
    session.add(row)
    _audit(
        session,
        cmd.actor.organization_id,
        facts.contact.id,
        "view_as_started",
        now,
        staff_member_id=cmd.actor.staff_member_id,
        detail=f"as {facts.contact.display_name}, by {staff.name}, until {row.expires_at:%H:%M} UTC",
    )
    session.commit()
    return i.ViewAsIssued(session_id=session_id, contact_id=facts.contact.id, expires_at=row.expires_at)


def _live_view_as(session: Session, session_id: str, now: datetime) -> ViewAsSession | None:
    row = session.scalars(select(ViewAsSession).where(ViewAsSession.id_hash == digest(session_id))).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return row


def check_view_as(session: Session, session_id: str, now: datetime) -> i.PortalSession:
    """The portal as the View As session's contact: one membership, synthesised (its id is the View
    As session's), and `view_as` set so that the gateway refuses every write."""
    row = _live_view_as(session, session_id, now)
    if row is None:
        raise InvalidCredentials("This View As has ended.")
    return i.PortalSession(
        account_id=None,
        email=row.contact_email,
        expires_at=row.expires_at,
        memberships=[
            i.Membership(
                grant_id=row.id,
                organization_id=row.organization_id,
                contact_id=row.contact_id,
                contact_type=ContactType(row.contact_type),
                granted_at=row.created_at,
            )
        ],
        view_as=i.ViewingAs(
            staff_member_id=row.staff_member_id, contact_name=row.contact_name, expires_at=row.expires_at
        ),
    )


def end_view_as(session: Session, session_id: str, now: datetime) -> None:
    row = _live_view_as(session, session_id, now)
    if row is None:
        session.rollback()
        return
    row.ended_at = now
    _audit(
        session,
        row.organization_id,
        row.contact_id,
        "view_as_ended",
        now,
        staff_member_id=row.staff_member_id,
    )
    session.commit()


# --- password reset ---------------------------------------------------------------------------


def request_password_reset(session: Session, email: str, now: datetime) -> None:
    """The same single insert for every email, known or not; `process_reset_requests` does the rest."""
    session.add(PasswordResetRequest(email_normalized=normalize_email(email), requested_at=now))
    session.commit()


def process_reset_requests(
    session: Session, settings: InvitationsSettings, now: datetime, batch: int = 100
) -> int:
    requests = session.scalars(
        select(PasswordResetRequest)
        .where(PasswordResetRequest.processed_at.is_(None))
        .order_by(PasswordResetRequest.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    for request in requests:
        request.processed_at = now
        account = _account_by_email(session, request.email_normalized)
        if account is None:
            continue
        recent = session.scalar(
            select(func.count()).where(
                PasswordReset.account_id == account.id, PasswordReset.created_at > now - timedelta(hours=1)
            )
        )
        if (recent or 0) >= settings.resets_per_account_per_hour:
            continue
        session.execute(
            update(PasswordReset)
            .where(
                PasswordReset.account_id == account.id,
                PasswordReset.consumed_at.is_(None),
                PasswordReset.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )
        token = new_secret()
        reset = PasswordReset(
            account_id=account.id,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + settings.reset_expiry,
        )
        session.add(reset)
        record_event(
            session,
            outbox,
            e.PasswordResetRequested(
                account_id=account.id,
                email=account.email,
                recipient_name=account.display_name,
                locale=account.locale,
                expires_at=reset.expires_at,
                sealed_link=seal(settings.link_sealing_key, settings.link("reset", token)),
            ),
        )
    session.commit()
    return len(requests)


def _reset_status(reset: PasswordReset | None, now: datetime) -> i.LinkStatus:
    if reset is None:
        return i.LinkStatus.UNKNOWN
    return domain.reset_link_status(
        reset.consumed_at is not None, reset.superseded_at is not None, reset.expires_at, now
    )


def open_password_reset(session: Session, token: str, now: datetime) -> i.ResetLanding:
    reset = session.scalars(select(PasswordReset).where(PasswordReset.token_hash == digest(token))).first()
    return i.ResetLanding(status=_reset_status(reset, now))


def reset_password(
    session: Session, passwords: Passwords, settings: InvitationsSettings, cmd: i.ResetPassword, now: datetime
) -> i.SessionIssued:
    _same_passwords(cmd.password, cmd.password_confirmation)
    reset = session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == digest(cmd.token))
    ).first()
    status = _reset_status(reset, now)
    if reset is None or status != i.LinkStatus.USABLE:
        raise _not_usable(status)
    account = session.get(PortalAccount, reset.account_id)
    assert account is not None
    _refuse_weak_password(cmd.password, account.email)
    session.rollback()
    password_hash = passwords.hash(cmd.password)

    account_id = session.scalar(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == digest(cmd.token),
            PasswordReset.consumed_at.is_(None),
            PasswordReset.superseded_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(consumed_at=now)
        .returning(PasswordReset.account_id)
    )
    if account_id is None:
        session.rollback()
        raise _not_usable(i.LinkStatus.USED)
    account = session.get(PortalAccount, account_id, with_for_update=True)
    assert account is not None
    account.password_hash = password_hash
    account.password_changed_at = now
    _end_sessions(session, account.id, "password reset", now)
    throttle.clear(session, login_throttle, _login_key(account.email))
    issued = _start_session(session, settings, account.id, now)
    session.commit()
    return issued


# --- time and delivery facts ------------------------------------------------------------------


def expire_invitations(session: Session, now: datetime) -> int:
    expired = session.execute(
        update(Invitation)
        .where(Invitation.state.in_([s.value for s in domain.LIVE_STATES]), Invitation.expires_at <= now)
        .values(state=S.EXPIRED.value)
        .returning(Invitation.id, Invitation.organization_id, Invitation.contact_id)
    ).all()
    for invitation_id, org_id, contact_id in expired:
        _history(session, invitation_id, S.EXPIRED, now, None)
        record_event(
            session,
            outbox,
            e.InvitationExpired(organization_id=org_id, invitation_id=invitation_id, contact_id=contact_id),
        )
    session.commit()
    return len(expired)


def apply_delivery_facts(
    session: Session,
    events: Sequence[e.DeliveryQueued | e.DeliverySucceeded | e.DeliveryFailed],
    fact: str,
    handler: str,
) -> None:
    """Move invitations to sent, delivered or bounced, once per event, for a batch of events in
    one transaction. Only an invitation's email moves one: the results of other emails (a
    password reset, a maintenance update, whose `subject_id` is an account or a maintenance
    request) are recorded as seen and change nothing."""
    moving: dict[UUID, list[e.DeliveryQueued | e.DeliverySucceeded | e.DeliveryFailed]] = defaultdict(list)
    for event in first_time_seen_many(session, inbox, events, handler):
        if event.purpose == "invitation":
            moving[event.subject_id].append(event)
    if moving:
        # Locked in id order, so two batches touching the same invitations never deadlock.
        current = session.execute(
            select(Invitation.id, Invitation.state)
            .where(Invitation.id.in_(moving))
            .order_by(Invitation.id)
            .with_for_update()
        ).all()
        states: dict[UUID, str] = {}
        history = []
        for invitation_id, state in current:
            for event in moving[invitation_id]:
                new_state = domain.next_state_after_delivery(S(state), fact)
                if new_state is None:
                    continue
                state = states[invitation_id] = new_state.value
                history.append(
                    {
                        "invitation_id": invitation_id,
                        "state": new_state.value,
                        "at": event.occurred_at,
                        "detail": _delivery_detail(event),
                    }
                )
        if states:
            moved = unnest("moved", id=(Uuid(), list(states)), state=(String(), list(states.values())))
            session.execute(
                update(Invitation).where(Invitation.id == moved.c.id).values(state=moved.c.state),
                execution_options={"synchronize_session": False},
            )
            session.execute(insert(table(InvitationHistory)), history)
    session.commit()


def _delivery_detail(event: e.DeliveryQueued | e.DeliverySucceeded | e.DeliveryFailed) -> str | None:
    if isinstance(event, e.DeliverySucceeded):
        return f"accepted by the mail server: {event.smtp_reply}"
    if isinstance(event, e.DeliveryFailed):
        code = f"{event.smtp_code} " if event.smtp_code else ""
        return f"not delivered: {code}{event.reason}"
    return "queued for sending"


# --- bulk invitations -------------------------------------------------------------------------


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
    staff = facts.staff_member
    if staff is None or not staff.active or not staff.can_manage_portal_access:
        raise PermissionDenied("You do not have permission to manage portal access.")
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
    then each contact decided exactly as a single invitation would be (eligibility, the staff
    member's hourly limit, the contact's cooldown) and the invitations issued together, in one
    transaction. Several service instances share the work (FOR UPDATE SKIP LOCKED). Returns the
    items done.

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
    live = set(
        session.scalars(
            select(AccessGrant.contact_id).where(
                AccessGrant.organization_id == job.organization_id,
                AccessGrant.contact_id.in_(ids),
                AccessGrant.revoked_at.is_(None),
            )
        )
    )
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
    _lock_contacts(session, job.organization_id, [contact.id for contact in eligible])
    budget = (
        settings.invitations_per_staff_per_hour - _staff_sent_last_hour(session, job.staff_member_id, now)[0]
    )
    latest: dict[UUID, datetime] = {
        contact_id: at
        for contact_id, at in session.execute(
            select(Invitation.contact_id, func.max(Invitation.created_at))
            .where(
                Invitation.organization_id == job.organization_id,
                Invitation.contact_id.in_([contact.id for contact in eligible]),
            )
            .group_by(Invitation.contact_id)
        )
    }
    issue: list[ContactView] = []
    for contact in eligible:
        if budget <= 0:
            outcome[contact.id] = ("skipped", "staff_hourly_limit")
        elif domain.cooldown_remaining(latest.get(contact.id), now, settings.resend_cooldown) is not None:
            outcome[contact.id] = ("skipped", "cooldown")
        else:
            issue.append(contact)
            budget -= 1
    issued = dict(
        zip(
            [contact.id for contact in issue],
            _issue_invitations(session, settings, facts.organization, issue, actor, now),
            strict=True,
        )
    )
    decided = unnest(
        "decided",
        contact_id=(Uuid(), list(outcome)),
        status=(String(), [status for status, _ in outcome.values()]),
        reason=(String(), [reason for _, reason in outcome.values()]),
        invitation_id=(Uuid(), [issued.get(contact_id) for contact_id in outcome]),
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
