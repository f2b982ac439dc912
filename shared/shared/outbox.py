"""The transactional outbox and inbox (docs/architecture.md, "Rules that keep data safe").

A service writes each event into its own `outbox` table in the transaction that makes the change
(`record_event`); `OutboxRelay` publishes unpublished rows with publisher confirms and then marks
them. A crash between publish and mark publishes the row again: consumers drop the duplicate
with `first_time_seen` on their own `inbox` table, in the transaction of their effect.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared import faults
from shared.contracts.events import Event

E = TypeVar("E", bound=Event)


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("source", String(64), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
    )
    Index("ix_outbox_unpublished", table.c.id, postgresql_where=table.c.published_at.is_(None))
    return table


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def record_event(session: Any, outbox: Table, event: Event) -> Any:
    """Add `event` to the outbox in the caller's transaction. Works with sync and async sessions
    alike: an async caller awaits the result."""
    return session.execute(
        insert(outbox).values(
            event_id=event.event_id,
            source=event.source,
            event_type=event.event_type,
            payload=event.model_dump(mode="json"),
        )
    )


def record_events(session: Any, outbox: Table, events: Collection[Event]) -> Any:
    """`record_event` for many events (at least one), in one statement."""
    return session.execute(
        insert(outbox),
        [
            {
                "event_id": event.event_id,
                "source": event.source,
                "event_type": event.event_type,
                "payload": event.model_dump(mode="json"),
            }
            for event in events
        ],
    )


def first_time_seen(session: Any, inbox: Table, event_id: UUID, handler: str) -> bool:
    """Record that `handler` handles `event_id`; False if it was handled before.

    A concurrent duplicate waits here on the primary key until the first transaction ends, then
    sees the row: exactly one of them goes on.
    """
    result = session.execute(
        pg_insert(inbox)
        .values(event_id=event_id, handler=handler)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return result.first() is not None


def first_time_seen_many(session: Any, inbox: Table, events: Sequence[E], handler: str) -> list[E]:
    """`first_time_seen` for a batch, in one statement: the events `handler` has not handled
    before, in their order, each once however often it is in `events`. Sync sessions only."""
    if not events:
        return []
    rows = session.execute(
        pg_insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id),
        [
            {"event_id": event_id, "handler": handler}
            for event_id in dict.fromkeys(e.event_id for e in events)
        ],
    )
    new_ids = {row.event_id for row in rows}
    fresh = []
    for event in events:
        if event.event_id in new_ids:
            new_ids.discard(event.event_id)  # a duplicate within the batch counts once
            fresh.append(event)
    return fresh


def relay_batch(
    engine: Engine,
    outbox: Table,
    publish: Callable[[Sequence[Any]], None],
    batch_size: int,
    backup_for: Collection[str] = (),
    backup_after_seconds: float = 0.0,
) -> int:
    """Publish one batch of unpublished events, oldest first (`publish` is given the rows and
    returns once the broker has them all), then mark them; return how many.

    The rows stay locked (FOR UPDATE SKIP LOCKED) while they are published, so two relays of one
    service never publish the same row at the same time. A crash before the mark publishes them
    again later: at least once, never lost.

    Events of the types in `backup_for` have a relay of their own in another process (the
    sender's results): this one takes them only once they have waited `backup_after_seconds`,
    so the two do not split every batch between them, and they still leave if that process is
    down.
    """
    query = select(
        outbox.c.id, outbox.c.event_id, outbox.c.source, outbox.c.event_type, outbox.c.payload
    ).where(outbox.c.published_at.is_(None))
    if backup_for:
        query = query.where(
            or_(
                outbox.c.event_type.not_in(list(backup_for)),
                outbox.c.created_at < func.now() - timedelta(seconds=backup_after_seconds),
            )
        )
    with engine.begin() as conn:  # its statements time out (shared.db.make_engine)
        rows = conn.execute(
            query.order_by(outbox.c.id).limit(batch_size).with_for_update(skip_locked=True)
        ).all()
        if rows:
            publish(rows)
            faults.crash_point(faults.OUTBOX_PUBLISHED)
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(published_at=func.now())
            )
    return len(rows)
