"""Use cases of staff signing in: an API token, or email and password for a console session (with
failed attempts throttled), and the session's checks and end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contacts import domain
from contacts.models import Organization, StaffApiToken, StaffMember, StaffSession, login_throttle
from contacts.rows import organization_view, staff_view
from contacts.staff import active_staff_or_none
from shared import throttle
from shared.contracts import contacts as c
from shared.contracts.common import normalize_email
from shared.contracts.errors import InvalidCredentials
from shared.passwords import Passwords
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
    session: Session, passwords: Passwords, cmd: c.StaffLogin, now: datetime
) -> c.StaffSessionIssued:
    key = digest("staff:" + normalize_email(cmd.email))
    throttle.refuse_while_locked(session, login_throttle, key, now)
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
        throttle.record_failure(
            session,
            login_throttle,
            key,
            now,
            max_failures=domain.MAX_FAILED_STAFF_LOGINS,
            lockout=domain.STAFF_LOCKOUT,
        )
        session.commit()
        raise InvalidCredentials("The email or password is not right.")
    throttle.clear(session, login_throttle, key)
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
