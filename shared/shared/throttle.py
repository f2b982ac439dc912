"""Counting failures per key (an email's digest, say) and locking the key for a while.

Keyed by what the caller typed, not by an account row, so an unknown email is throttled exactly
like a known one and the answers cannot tell them apart.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.contracts.errors import RateLimited


def throttle_table(metadata: MetaData, name: str = "login_throttle") -> Table:
    return Table(
        name,
        metadata,
        Column("key", String(64), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("locked_until", DateTime(timezone=True), nullable=True),
    )


def blocked_for(session: Any, table: Table, key: str, now: datetime) -> int | None:
    """Seconds until `key` may try again, or None when it may try now."""
    locked_until = session.execute(select(table.c.locked_until).where(table.c.key == key)).scalar()
    if locked_until is None or locked_until <= now:
        return None
    return max(1, math.ceil((locked_until - now).total_seconds()))


def refuse_while_locked(session: Any, table: Table, key: str, now: datetime) -> None:
    """RateLimited, with the wait in whole minutes rounded up, while `key` is locked."""
    wait = blocked_for(session, table, key, now)
    if wait is not None:
        raise RateLimited(
            f"Too many failed sign-in attempts. Try again in {math.ceil(wait / 60)} minute(s).",
            {"retry_after": wait},
        )


def record_failure(
    session: Any, table: Table, key: str, now: datetime, *, max_failures: int, lockout: timedelta
) -> None:
    """Count a failure; the `max_failures`-th locks the key for `lockout` and restarts the count."""
    failures = (
        session.execute(
            pg_insert(table)
            .values(key=key, failures=1, locked_until=None)
            .on_conflict_do_update(index_elements=[table.c.key], set_={"failures": table.c.failures + 1})
            .returning(table.c.failures)
        ).scalar()
        or 1
    )
    if failures >= max_failures:
        session.execute(
            table.update().where(table.c.key == key).values(failures=0, locked_until=now + lockout)
        )


def clear(session: Any, table: Table, key: str) -> None:
    session.execute(delete(table).where(table.c.key == key))
