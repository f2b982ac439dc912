"""The notifications service's tables, all in the `notifications` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, MetaData, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.common import utc_now
from shared.outbox import inbox_table, outbox_table

SCHEMA = "notifications"


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), default=utc_now, server_default=func.now())


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class Delivery(Base):
    """One email: what to send to whom, and how sending it went.

    `context` holds what the template needs, a secret link still sealed: it is opened only by the
    sender, in memory, when the email is rendered. A maintenance update's link is an ordinary
    portal page, kept as it is.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # What the senders claim: due queued rows, and rows whose sender's lease ran out.
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("ix_deliveries_organization", "organization_id", "created_at"),
        Index("ix_deliveries_subject", "subject_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # f"{event_id}:{purpose}": one event makes one email of each purpose, however often it comes.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[uuid.UUID]
    organization_id: Mapped[uuid.UUID | None]
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16))
    context: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_smtp_code: Mapped[int | None]
    # The server's reply, or what went wrong when there was none; never a link or a body.
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Suppression(Base):
    """An address that refused an email permanently (550, 551, 553): nothing more is sent to it."""

    __tablename__ = "suppressions"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)  # normalized: lower case
    smtp_code: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    delivery_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at_column()


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
