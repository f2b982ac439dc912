"""The sender's reads and writes of the deliveries table, on SQLAlchemy's asyncio engine.

A claim is one atomic UPDATE of due rows (FOR UPDATE SKIP LOCKED), so several senders share the
work without taking the same row. Claiming counts the attempt, and the attempt count is the claim's
token: a result is written only while the row is still `sending` with that count, so a row that
another sender took over after the lease ran out never gets two results (nor two events).
Each result is written in one transaction with its outbox event. The claims a sender is working
on are renewed (`renew`, see `sender/lease.py`), so their leases end only once it has stopped.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, Interval, Text, Uuid, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from notifications.models import Delivery, Suppression, outbox
from notifications.sender.lease import Lease
from notifications.settings import NotificationsSettings
from shared.contracts import events as e
from shared.contracts.common import normalize_email
from shared.contracts.notifications import DeliveryStatus
from shared.db import POOL_TIMEOUT_SECONDS, batch_inserts, check_when_idle, connect_args, unnest
from shared.outbox import record_event, record_events

S = DeliveryStatus
REASON_MAX_LENGTH = 1000


def make_async_engine(settings: NotificationsSettings) -> AsyncEngine:
    """A pool with one connection per worker, one each for the claimer, the event relay and the
    renewal of the claims (which must never wait behind the workers)."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.sender_concurrency + 3,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_use_lifo=True,
        connect_args=connect_args("notifications-sender"),
    )
    check_when_idle(batch_inserts(engine.sync_engine))
    return engine


@dataclass(frozen=True)
class Job:
    """A claimed delivery, as the sender needs it."""

    id: uuid.UUID
    purpose: str
    subject_id: uuid.UUID
    organization_id: uuid.UUID | None
    recipient: str
    locale: str
    context: dict[str, Any] = field(repr=False)  # holds the sealed link: kept out of reprs
    attempts: int
    suppressed: bool
    claimed_at: float  # time.monotonic() just before the claim: its lease began later
    lease: Lease = field(repr=False, compare=False)


def _recipient_suppressed() -> Any:
    return exists().where(Suppression.address == func.lower(func.btrim(Delivery.recipient)))


def _claim_statement() -> Any:
    """Built once; each claim binds `limit` and `lease`."""
    now = func.now()
    due = (
        select(Delivery.id)
        .where(
            or_(
                and_(Delivery.status == S.QUEUED.value, Delivery.next_attempt_at <= now),
                and_(Delivery.status == S.SENDING.value, Delivery.lease_until < now),
            )
        )
        .order_by(Delivery.next_attempt_at)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)
    )
    return (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(
            status=S.SENDING.value,
            lease_until=now + bindparam("lease", type_=Interval()),
            attempts=Delivery.attempts + 1,
        )
        .returning(
            Delivery.id,
            Delivery.purpose,
            Delivery.subject_id,
            Delivery.organization_id,
            Delivery.recipient,
            Delivery.locale,
            Delivery.context,
            Delivery.attempts,
            _recipient_suppressed().label("suppressed"),
        )
    )


_CLAIM = _claim_statement()


async def claim(engine: AsyncEngine, limit: int, lease_seconds: float) -> list[Job]:
    """Take up to `limit` due deliveries: queued ones whose time has come, and ones a sender
    claimed and never finished (its lease ran out: it crashed or hung)."""
    claimed_at = time.monotonic()
    async with engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"limit": limit, "lease": timedelta(seconds=lease_seconds)})).all()
    return [
        Job(
            id=row.id,
            purpose=row.purpose,
            subject_id=row.subject_id,
            organization_id=row.organization_id,
            recipient=row.recipient,
            locale=row.locale,
            context=row.context,
            attempts=row.attempts,
            suppressed=row.suppressed,
            claimed_at=claimed_at,
            lease=Lease(row.id, row.attempts, claimed_at, lease_seconds),
        )
        for row in rows
    ]


def _renew_statement() -> Any:
    """Built once; each renewal binds the claims (id, attempts) and `lease`. A row locked by
    another transaction (its result being saved, or another sender claiming it) is skipped, not
    waited for: it is not renewed this time."""
    held = unnest(
        "held",
        id=(Uuid(), []),
        attempts=(Integer(), []),
    )
    still_ours = (
        select(Delivery.id)
        .join(held, and_(Delivery.id == held.c.id, Delivery.attempts == held.c.attempts))
        .where(Delivery.status == S.SENDING.value)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    return (
        update(Delivery)
        .where(Delivery.id.in_(still_ours.scalar_subquery()))
        .values(lease_until=func.now() + bindparam("lease", type_=Interval()))
        .returning(Delivery.id)
    )


_RENEW = _renew_statement()


async def renew(engine: AsyncEngine, leases: list[Lease], lease_seconds: float) -> set[uuid.UUID]:
    """Push forward the leases of the claims still this sender's (`sending`, same attempt count):
    `lease_seconds` from now. Returns their ids."""
    if not leases:
        return set()
    async with engine.begin() as conn:
        renewed = await conn.scalars(
            _RENEW,
            {
                "held_id": [lease.delivery_id for lease in leases],
                "held_attempts": [lease.attempts for lease in leases],
                "lease": timedelta(seconds=lease_seconds),
            },
        )
        return set(renewed.all())


def _still_ours(job: Job) -> Any:
    return and_(Delivery.id == job.id, Delivery.status == S.SENDING.value, Delivery.attempts == job.attempts)


async def record_sent(engine: AsyncEngine, sent: list[tuple[Job, str]]) -> set[uuid.UUID]:
    """The server took these emails (250), each with its reply: one transaction for all of them
    and their events. Returns the ids written; a delivery whose claim was lost meanwhile is not."""
    if not sent:
        return set()
    replies = unnest(
        "replies",
        id=(Uuid(), [job.id for job, _ in sent]),
        attempts=(Integer(), [job.attempts for job, _ in sent]),
        reply=(Text(), [reply[:REASON_MAX_LENGTH] for _, reply in sent]),
    )
    async with engine.begin() as conn:
        written = set(
            (
                await conn.scalars(
                    update(Delivery)
                    .where(
                        Delivery.id == replies.c.id,
                        Delivery.status == S.SENDING.value,
                        Delivery.attempts == replies.c.attempts,
                    )
                    .values(
                        status=S.SENT.value,
                        sent_at=func.now(),
                        lease_until=None,
                        last_smtp_code=250,
                        smtp_reply=replies.c.reply,
                        last_error=None,
                    )
                    .returning(Delivery.id)
                )
            ).all()
        )
        if written:
            await record_events(
                conn,
                outbox,
                [
                    e.DeliverySucceeded(
                        organization_id=job.organization_id,
                        delivery_id=job.id,
                        purpose=job.purpose,
                        subject_id=job.subject_id,
                        smtp_reply=reply[:REASON_MAX_LENGTH],
                    )
                    for job, reply in sent
                    if job.id in written
                ],
            )
    return written


async def record_retry(
    engine: AsyncEngine, job: Job, code: int | None, error: str, delay_seconds: float
) -> bool:
    """A transient failure: queued again for later. No event: nothing has been decided yet."""
    async with engine.begin() as conn:
        updated = await conn.scalar(
            update(Delivery)
            .where(_still_ours(job))
            .values(
                status=S.QUEUED.value,
                next_attempt_at=func.now() + timedelta(seconds=delay_seconds),
                lease_until=None,
                last_smtp_code=code,
                last_error=error[:REASON_MAX_LENGTH],
            )
            .returning(Delivery.id)
        )
    return updated is not None


async def record_failed(
    engine: AsyncEngine,
    job: Job,
    code: int | None,
    reason: str,
    *,
    suppress: bool = False,
    status: DeliveryStatus = S.FAILED,
    link_refused: bool = False,
) -> bool:
    """Given up for good: failed (or suppressed, unsent), with its DeliveryFailed event; with
    `suppress`, nothing more goes to the recipient's address; with `link_refused`, its sealed link
    was not for this email (`domain.link_refusal`)."""
    reason = reason[:REASON_MAX_LENGTH]
    # A suppressed or refused delivery was claimed but never attempted: the claim's count is taken back.
    unsent = status == S.SUPPRESSED or link_refused
    attempts = Delivery.attempts - 1 if unsent else Delivery.attempts
    async with engine.begin() as conn:
        updated = await conn.scalar(
            update(Delivery)
            .where(_still_ours(job))
            .values(
                status=status.value,
                failed_at=func.now(),
                lease_until=None,
                attempts=attempts,
                last_smtp_code=code,
                last_error=reason,
            )
            .returning(Delivery.id)
        )
        if updated is None:
            return False
        if suppress:
            await conn.execute(
                pg_insert(Suppression)
                .values(
                    address=normalize_email(job.recipient),
                    smtp_code=code,
                    reason=reason,
                    delivery_id=job.id,
                )
                .on_conflict_do_nothing(index_elements=[Suppression.address])
            )
        await record_event(
            conn,
            outbox,
            e.DeliveryFailed(
                organization_id=job.organization_id,
                delivery_id=job.id,
                purpose=job.purpose,
                subject_id=job.subject_id,
                smtp_code=code,
                reason=reason,
                link_refused=link_refused,
            ),
        )
    return True


async def give_back(engine: AsyncEngine, job: Job) -> bool:
    """Release a claim that was never attempted (shutdown, or a claim too old to use): queued
    again at once, its attempt not counted."""
    async with engine.begin() as conn:
        updated = await conn.scalar(
            update(Delivery)
            .where(_still_ours(job))
            .values(status=S.QUEUED.value, lease_until=None, attempts=Delivery.attempts - 1)
            .returning(Delivery.id)
        )
    return updated is not None
