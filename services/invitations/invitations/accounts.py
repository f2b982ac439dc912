"""Portal accounts: opening and accepting an invitation (a new account, or an existing one
joining the access), signing in and out, and the session check behind every portal page.

What password resets share with them (the account by email, the password rules, a new session,
the credential throttle of portal accounts) is public here.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from invitations import domain
from invitations.models import (
    AccessGrant,
    Invitation,
    PortalAccount,
    PortalSession,
    credential_throttle,
    outbox,
)
from invitations.revoking import revoke_grant
from invitations.rows import add_audit, add_history, live_grant, not_usable
from invitations.settings import InvitationsSettings
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import ContactType, InvitationState, normalize_email
from shared.contracts.errors import Conflict, InvalidCredentials, InvalidInput, PasswordRejected
from shared.outbox import record_event
from shared.passwords import Passwords, password_problems
from shared.throttle import CredentialThrottle
from shared.tokens import digest, new_secret

S = InvitationState


def _invitation_by_token(session: Session, token: str) -> Invitation | None:
    return session.scalars(select(Invitation).where(Invitation.token_hash == digest(token))).first()


def _link_status(invitation: Invitation | None, now: datetime) -> i.LinkStatus:
    if invitation is None:
        return i.LinkStatus.UNKNOWN
    return domain.invitation_link_status(
        S(invitation.state), invitation.consumed_at is not None, invitation.expires_at, now
    )


def account_by_email(session: Session, email: str) -> PortalAccount | None:
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
        account_exists=account_by_email(session, invitation.email) is not None,
    )


def _usable_invitation(session: Session, token: str, now: datetime) -> Invitation:
    invitation = _invitation_by_token(session, token)
    status = _link_status(invitation, now)
    if invitation is None or status != i.LinkStatus.USABLE:
        raise not_usable(status)
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
        raise not_usable(_link_status(_invitation_by_token(session, token), now))
    return invitation


def start_session(
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
    existing = live_grant(session, invitation.organization_id, invitation.contact_id)
    if existing is not None and existing.account_id == account_id:
        return
    if existing is not None:
        revoke_grant(session, existing, "replaced: the contact accepted a newer invitation", now)
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
    add_history(session, invitation.id, S.ACCEPTED, now, None)
    add_audit(
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


def refuse_weak_password(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise PasswordRejected(" ".join(problems), {"errors": problems})


def same_passwords(password: str, confirmation: str) -> None:
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
    guard = portal_throttle(settings)
    client = guard.by_client(cmd.client)
    guard.count(session, now, client)
    same_passwords(cmd.password, cmd.password_confirmation)
    invitation = _usable_invitation(session, cmd.token, now)
    refuse_weak_password(cmd.password, invitation.email)
    if account_by_email(session, invitation.email) is not None:
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
    guard.succeeded(session, client)
    issued = start_session(session, settings, account_id, now)
    session.commit()
    return issued


def portal_throttle(settings: InvitationsSettings) -> CredentialThrottle:
    """Every credential form of the portal counts here (shared/shared/throttle.py): sign-in,
    joining an invitation with a password, accepting one, forgot password and reset."""
    return CredentialThrottle(credential_throttle, "portal", settings)


def _verify_password(session: Session, passwords: Passwords, email: str, password: str) -> PortalAccount:
    """The account, when the password is right; the same error and time for an unknown email.
    The caller has counted the attempt already."""
    account = account_by_email(session, email)
    if account is not None:
        ok = passwords.verify(account.password_hash, password)
    else:
        ok = passwords.verify_nothing(password)
    if not ok or account is None:
        raise InvalidCredentials("The email or password is not right.")
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
    guard = portal_throttle(settings)
    client = guard.by_client(cmd.client)
    guard.count(session, now, client)
    invitation = _usable_invitation(session, cmd.token, now)
    account_key = guard.by_account(invitation.email, cmd.client)
    guard.count(session, now, account_key)
    account = _verify_password(session, passwords, invitation.email, cmd.password)
    account_id = account.id
    guard.succeeded(session, account_key, client)
    session.commit()
    invitation = _consume_invitation(session, cmd.token, now)
    _grant_access(session, invitation, account_id, now)
    issued = start_session(session, settings, account_id, now)
    session.commit()
    return issued


# --- signing in and out -----------------------------------------------------------------------


def login(
    session: Session, passwords: Passwords, settings: InvitationsSettings, cmd: i.Login, now: datetime
) -> i.SessionIssued:
    guard = portal_throttle(settings)
    keys = (guard.by_account(cmd.email, cmd.client), guard.by_client(cmd.client))
    guard.count(session, now, *keys)
    account = _verify_password(session, passwords, cmd.email, cmd.password)
    guard.succeeded(session, *keys)
    issued = start_session(session, settings, account.id, now)
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
