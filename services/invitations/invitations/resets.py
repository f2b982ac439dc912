"""Password resets: a request (the same answer for every email, known or not), the emails sent
for it in the background, the reset link and the new password."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from invitations import domain
from invitations.accounts import (
    account_by_email,
    portal_throttle,
    refuse_weak_password,
    same_passwords,
    start_session,
)
from invitations.models import PasswordReset, PasswordResetRequest, PortalAccount, credential_throttle, outbox
from invitations.rows import end_sessions, not_usable
from invitations.settings import InvitationsSettings
from shared import throttle
from shared.contracts import events as e
from shared.contracts import invitations as i
from shared.contracts.common import normalize_email
from shared.contracts.notifications import DeliveryPurpose
from shared.outbox import record_event
from shared.passwords import Passwords
from shared.tokens import digest, new_secret


def request_password_reset(
    session: Session, settings: InvitationsSettings, cmd: i.RequestPasswordReset, now: datetime
) -> None:
    """The same work for every email, known or not: the request counts against its client (so one
    client cannot fill the table or mailboxes), then a single insert; `process_reset_requests`
    does the rest."""
    guard = portal_throttle(settings)
    guard.count(session, now, guard.by_client(cmd.client))
    session.add(PasswordResetRequest(email_normalized=normalize_email(cmd.email), requested_at=now))
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
        account = account_by_email(session, request.email_normalized)
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
                # Bound to the account's own address: sent to no one else, and not after expiry.
                sealed_link=settings.link_sealer.seal(
                    settings.link("reset", token),
                    recipient=account.email,
                    purpose=DeliveryPurpose.PASSWORD_RESET,
                    subject=account.id,
                    expires_at=reset.expires_at,
                ),
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
    guard = portal_throttle(settings)
    client = guard.by_client(cmd.client)
    guard.count(session, now, client)
    same_passwords(cmd.password, cmd.password_confirmation)
    reset = session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == digest(cmd.token))
    ).first()
    status = _reset_status(reset, now)
    if reset is None or status != i.LinkStatus.USABLE:
        raise not_usable(status)
    account = session.get(PortalAccount, reset.account_id)
    assert account is not None
    refuse_weak_password(cmd.password, account.email)
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
        raise not_usable(i.LinkStatus.USED)
    account = session.get(PortalAccount, account_id, with_for_update=True)
    assert account is not None
    account.password_hash = password_hash
    account.password_changed_at = now
    end_sessions(session, account.id, "password reset", now)
    # This client's failed sign-ins at the account start afresh; a stranger's, from theirs, do not.
    guard.succeeded(session, guard.by_account(account.email, cmd.client), client)
    issued = start_session(session, settings, account.id, now)
    session.commit()
    return issued


def prune_credential_records(session: Session, settings: InvitationsSettings, now: datetime) -> None:
    """Delete drained throttle rows, and forgot-password requests answered longer ago than
    `reset_request_retention_hours`."""
    throttle.prune(session, credential_throttle, now)
    session.execute(
        delete(PasswordResetRequest).where(
            PasswordResetRequest.processed_at < now - settings.reset_request_retention
        )
    )
    session.commit()
