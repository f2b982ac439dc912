"""The transactional outbox and inbox (docs/architecture.md, "Rules that keep data safe").

A service writes each event into its own `outbox` table in the transaction that makes the change
(`record_event`); `OutboxRelay` publishes unpublished rows with publisher confirms and then marks
them. A crash between publish and mark publishes the row again: consumers drop the duplicate
with `first_time_seen` on their own `inbox` table, in the transaction of their effect.
"""

from __future__ import annotations

import logging
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
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared import faults
from shared.contracts.events import Event

E = TypeVar("E", bound=Event)
log = logging.getLogger(__name__)


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
        # Times the broker refused this very event; at `OUTBOX_MAX_PUBLISH_ATTEMPTS` it is parked
        # (`parked_at`, with the broker's answer in `error`) and the events after it go on.
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("parked_at", DateTime(timezone=True), nullable=True),
        Column("error", String(500), nullable=True),
    )
    Index("ix_outbox_unpublished", table.c.id, postgresql_where=table.c.published_at.is_(None))
    Index("ix_outbox_published_at", table.c.published_at)
    return table


def inbox_table(metadata: MetaData) -> Table:
    table = Table(
        "inbox",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Index("ix_inbox_handled_at", table.c.handled_at)
    return table


def upgrade_for_parking_and_retention(op: Any, schema: str) -> None:
    """What one migration of every service does (contacts 0004, properties 0010, invitations
    0006, notifications 0002): the outbox's parking columns and the indexes retention prunes by.
    Frozen: a later change gets a migration of its own."""
    import sqlalchemy as sa

    op.add_column(
        "outbox", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"), schema=schema
    )
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True), schema=schema)
    op.add_column("outbox", sa.Column("error", sa.String(length=500), nullable=True), schema=schema)
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], schema=schema)
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"], schema=schema)


def downgrade_for_parking_and_retention(op: Any, schema: str) -> None:
    op.drop_index("ix_inbox_handled_at", table_name="inbox", schema=schema)
    op.drop_index("ix_outbox_published_at", table_name="outbox", schema=schema)
    for column in ("error", "parked_at", "attempts"):
        op.drop_column("outbox", column, schema=schema)


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


class EventRefused(Exception):
    """The broker refused an event itself (a basic.nack, or a channel error about the message),
    as opposed to being unreachable: the same event would be refused again."""


def relay_batch(
    engine: Engine,
    outbox: Table,
    publish: Callable[[Sequence[Any]], None],
    batch_size: int,
    backup_for: Collection[str] = (),
    backup_after_seconds: float = 0.0,
    max_attempts: int = 5,
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

    An event the broker refuses (`EventRefused`) raises it for a batch; the caller then goes one
    event at a time (`batch_size=1`), and a single event refused is counted on its row, and
    parked at `max_attempts` (`parked_at`, the broker's answer in `error`, a log line), so it
    no longer holds up the events after it. `parked_events` lists them.
    """
    query = select(
        outbox.c.id, outbox.c.event_id, outbox.c.source, outbox.c.event_type, outbox.c.payload
    ).where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
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
        if not rows:
            return 0
        try:
            publish(rows)
        except EventRefused as exc:
            if len(rows) > 1:
                raise
            _count_refusal(conn, outbox, rows[0], str(exc)[:500], max_attempts)
            return 0
        faults.crash_point(faults.OUTBOX_PUBLISHED)
        conn.execute(
            update(outbox).where(outbox.c.id.in_([row.id for row in rows])).values(published_at=func.now())
        )
    return len(rows)


def _count_refusal(conn: Any, outbox: Table, row: Any, error: str, max_attempts: int) -> None:
    attempts = conn.execute(
        update(outbox)
        .where(outbox.c.id == row.id)
        .values(attempts=outbox.c.attempts + 1, error=error)
        .returning(outbox.c.attempts)
    ).scalar_one()
    if attempts >= max_attempts:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(parked_at=func.now()))
        log.error(
            "the broker refused %s event %s %d times (%s); parked, the events after it go on",
            row.event_type,
            row.event_id,
            attempts,
            error,
        )


def parked_events(engine: Engine, outbox: Table) -> list[Any]:
    """The events parked because the broker kept refusing them, oldest first."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(
                    outbox.c.event_id,
                    outbox.c.event_type,
                    outbox.c.attempts,
                    outbox.c.error,
                    outbox.c.created_at,
                    outbox.c.parked_at,
                )
                .where(outbox.c.parked_at.is_not(None), outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
            ).all()
        )


PRUNE_BATCH = 5000


def prune(
    engine: Engine,
    outbox: Table,
    inbox: Table | None,
    outbox_retention: timedelta,
    inbox_retention: timedelta,
) -> int:
    """Delete outbox rows published more than `outbox_retention` ago and inbox rows older than
    `inbox_retention`, a batch at a time (short locks); return how many. Unpublished and parked
    events are never pruned. The inbox must outlive any redelivery: an event replayed from a
    dead-letter queue after its inbox row is gone is handled again."""
    removed = 0
    tables = [(outbox, outbox.c.published_at, outbox_retention)]
    if inbox is not None:
        tables.append((inbox, inbox.c.handled_at, inbox_retention))
    for table, when, retention in tables:
        while True:
            with engine.begin() as conn:
                key = tuple_(*table.primary_key.columns)
                oldest = select(*table.primary_key.columns).where(when < func.now() - retention)
                deleted = conn.execute(delete(table).where(key.in_(oldest.limit(PRUNE_BATCH)))).rowcount
            removed += deleted
            if deleted < PRUNE_BATCH:
                break
    return removed


def release(engine: Engine, outbox: Table, event_id: UUID) -> bool:
    """Give a parked event another `OUTBOX_MAX_PUBLISH_ATTEMPTS` (after fixing why the broker
    refused it); False when no such parked event exists."""
    with engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(
                outbox.c.event_id == event_id,
                outbox.c.parked_at.is_not(None),
                outbox.c.published_at.is_(None),
            )
            .values(parked_at=None, attempts=0)
        )
    return bool(result.rowcount)


def main() -> None:
    """`python -m shared.outbox parked SERVICE` / `release SERVICE EVENT_ID`: the events a
    service's relay parked because the broker kept refusing them (DATABASE_URL)."""
    import argparse

    from sqlalchemy import MetaData

    from shared.db import make_engine
    from shared.settings import CommonSettings

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["parked", "release"])
    parser.add_argument("service", help="the service whose outbox it is (its schema)")
    parser.add_argument("event_id", nargs="?", type=UUID)
    args = parser.parse_args()
    outbox = outbox_table(MetaData(schema=args.service))
    engine = make_engine(CommonSettings().database_url, pool_size=1, application_name="outbox-cli")
    try:
        if args.command == "release":
            if args.event_id is None:
                parser.error("release needs the EVENT_ID of a parked event")
            found = release(engine, outbox, args.event_id)
            print(f"released {args.event_id}" if found else f"no parked event {args.event_id}")
            raise SystemExit(0 if found else 1)
        rows = parked_events(engine, outbox)
        print(f"{len(rows)} parked event(s) in {args.service}'s outbox")
        for row in rows:
            print(
                f"{row.event_id} {row.event_type}: refused {row.attempts} times, "
                f"parked {row.parked_at:%Y-%m-%d %H:%M:%S}: {row.error}"
            )
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
