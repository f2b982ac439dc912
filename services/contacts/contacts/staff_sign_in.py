"""Use cases of staff signing in: an API token, or email and password for a console session (with
attempts throttled per client and per email and client), and the session's checks and end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import Organization, StaffApiToken, StaffMember, StaffSession, credential_throttle
from contacts.rows import organization_view, staff_view
from contacts.staff import active_staff_or_none
from shared import throttle
from shared.contracts import contacts as c
from shared.contracts.common import normalize_email
from shared.contracts.errors import InvalidCredentials
from shared.passwords import Passwords
from shared.throttle import CredentialThrottle, ThrottleSettings
from shared.tokens import digest, new_secret


def _principal(session: Session, staff: StaffMember) -> c.StaffPrincipal:
    org = session.get(Organization, staff.organization_id)
    assert org is not None  # a foreign key guarantees it
    return c.StaffPrincipal(staff_member=staff_view(staff), organization=organization_view(org))


def authenticate_api_token(session: Session, token: str) -> c.StaffPrincipal:
    row = session.scalars(
        select(StaffApiToken).where(
            StaffApiToken.token_hash == digest(token), StaffApiToken.revoked_at.is_(None)
        )
    ).first()
    staff = active_staff_or_none(session, session.get(StaffMember, row.staff_member_id) if row else None)
    if staff is None:
        raise InvalidCredentials("the API token is not valid")
    return _principal(session, staff)


def staff_login(
    session: Session, passwords: Passwords, settings: ThrottleSettings, cmd: c.StaffLogin, now: datetime
) -> c.StaffSessionIssued:
    """The same answer and time for an unknown email as for a wrong password. The attempt is
    counted before the password is checked, per (email, client) and per client, so a stranger's
    failures never keep the staff member out of their own client."""
    guard = CredentialThrottle(credential_throttle, "staff", settings)
    keys = (guard.by_account(cmd.email, cmd.client), guard.by_client(cmd.client))
    guard.count(session, now, *keys)
    staff = active_staff_or_none(
        session,
        session.scalars(
            select(StaffMember).where(StaffMember.email_normalized == normalize_email(cmd.email))
        ).first(),
    )
    if staff is not None and staff.password_hash:
        ok = passwords.verify(staff.password_hash, cmd.password)
    else:
        ok = passwords.verify_nothing(cmd.password)
    if not ok or staff is None:
        raise InvalidCredentials("The email or password is not right.")
    guard.succeeded(session, *keys)
    session_id = new_secret()
    session.add(
        StaffSession(
            id_hash=digest(session_id),
            staff_member_id=staff.id,
            expires_at=now + domain.STAFF_SESSION_LIFETIME,
        )
    )
    session.commit()
    return c.StaffSessionIssued(session_id=session_id, principal=_principal(session, staff))


def authenticate_staff_session(session: Session, session_id: str, now: datetime) -> c.StaffPrincipal:
    row = session.get(StaffSession, digest(session_id))
    valid = row is not None and row.ended_at is None and row.expires_at > now
    staff = active_staff_or_none(
        session, session.get(StaffMember, row.staff_member_id) if row and valid else None
    )
    if staff is None:
        raise InvalidCredentials("the session has ended; sign in again")
    return _principal(session, staff)


def end_staff_session(session: Session, session_id: str, now: datetime) -> None:
    row = session.get(StaffSession, digest(session_id))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.commit()


def prune_throttle(session: Session, now: datetime) -> int:
    """Forget the throttle rows whose buckets have drained: they would let every attempt through."""
    pruned = throttle.prune(session, credential_throttle, now)
    session.commit()
    return pruned
