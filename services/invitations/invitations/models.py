"""The invitations service's tables, all in the `invitations` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, MetaData, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.common import utc_now
from shared.outbox import inbox_table, outbox_table
from shared.throttle import throttle_table

SCHEMA = "invitations"


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), default=utc_now, server_default=func.now())


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class Invitation(Base):
    """One invitation email with its single-use token (stored only as SHA-256)."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_contact", "organization_id", "contact_id", "created_at"),
        Index(
            "ux_invitations_idempotency_key",
            "organization_id",
            "sent_by_staff_member_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID]
    contact_type: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254))
    # What the acceptance page shows, as it was when the invitation was sent.
    recipient_name: Mapped[str] = mapped_column(String(201))
    organization_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20))
    is_resend: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_by_staff_member_id: Mapped[uuid.UUID] = mapped_column(index=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_account_id: Mapped[uuid.UUID | None]
    # The key the staff member's request carried (Idempotency-Key), if any.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))


class InvitationHistory(Base):
    __tablename__ = "invitation_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    invitation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invitations.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = created_at_column()
    detail: Mapped[str | None] = mapped_column(Text)


class PortalAccount(Base):
    """One person, one account, whatever organizations and contacts they have access as."""

    __tablename__ = "portal_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # For emails to the person (a password reset), from the invitation that made the account.
    display_name: Mapped[str] = mapped_column(String(201))
    locale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    password_changed_at: Mapped[datetime] = created_at_column()


class AccessGrant(Base):
    """A membership: this account may see the portal as this contact of this organization."""

    __tablename__ = "access_grants"
    __table_args__ = (
        # A contact is one person: at most one live grant for it.
        Index(
            "uq_access_grants_live_contact",
            "organization_id",
            "contact_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    organization_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID]
    contact_type: Mapped[str] = mapped_column(String(20))
    invitation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invitations.id"))
    granted_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))


class PortalSession(Base):
    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(100))


class ViewAsSession(Base):
    """A staff member looking at the portal as one contact sees it: read-only, short-lived, and
    needing no portal account (a preview before the contact accepts). Apart from `sessions`, so
    nothing that accepts a person's session can ever be handed one of these."""

    __tablename__ = "view_as_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_member_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organization_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID]
    contact_type: Mapped[str] = mapped_column(String(20))
    # What the banner says, as the contact was when View As began.
    contact_name: Mapped[str] = mapped_column(String(201))
    contact_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordResetRequest(Base):
    """A forgot-password request, answered later by a timer so that the request itself costs the
    same for a known and an unknown email."""

    __tablename__ = "password_reset_requests"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    email_normalized: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = created_at_column()
    # Pruned `RESET_REQUEST_RETENTION_HOURS` after this (`resets.prune_reset_requests`).
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccessAudit(Base):
    """Every change to someone's portal access: who did what, when."""

    __tablename__ = "access_audit"
    __table_args__ = (Index("ix_access_audit_contact", "organization_id", "contact_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID]
    account_id: Mapped[uuid.UUID | None]
    staff_member_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = created_at_column()


class BulkInvitation(Base):
    """Staff invited many contacts at once; its items are worked through in batches."""

    __tablename__ = "bulk_invitations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    staff_member_id: Mapped[uuid.UUID]
    total: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BulkInvitationItem(Base):
    __tablename__ = "bulk_invitation_items"
    __table_args__ = (
        Index(
            "ix_bulk_items_pending",
            "bulk_invitation_id",
            "position",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    bulk_invitation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulk_invitations.id"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    position: Mapped[int]
    # pending, invited or skipped
    status: Mapped[str] = mapped_column(String(20))
    # Why it was skipped: the eligibility codes, comma-separated, or a limit that was reached.
    reason: Mapped[str | None] = mapped_column(String(500))
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invitations.id"))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
credential_throttle = throttle_table(Base.metadata)
