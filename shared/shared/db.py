"""PostgreSQL through SQLAlchemy 2 and psycopg 3: engines, and a session per nameko worker."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ARRAY, Engine, Table, bindparam, create_engine, event, func
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10
# A pooled connection unused for this long is checked before it is handed out.
IDLE_CHECK_SECONDS = 0.5
# Longest a statement may run, a lock wait included: a stuck one fails (and its work is retried)
# rather than holding a worker and its connection for ever.
STATEMENT_TIMEOUT_MS = 30_000


def make_engine(
    url: str, *, pool_size: int, application_name: str, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS
) -> Engine:
    """A service's engine: every connection and statement has a timeout, and pooled connections
    are checked when they sat unused (`check_when_idle`)."""
    return check_when_idle(
        batch_inserts(
            create_engine(
                url,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=POOL_TIMEOUT_SECONDS,
                pool_use_lifo=True,  # the connection used last goes out first: it is not idle
                connect_args=connect_args(application_name, statement_timeout_ms),
            )
        )
    )


def connect_args(application_name: str, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> dict[str, Any]:
    """psycopg's arguments for every connection of ours: a connect timeout, a statement timeout,
    and the name pg_stat_activity shows."""
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "application_name": application_name,
        "options": f"-c statement_timeout={statement_timeout_ms}",
    }


def check_when_idle(engine: Engine, idle_seconds: float = IDLE_CHECK_SECONDS) -> Engine:
    """Before a pooled connection is handed out, check it with a round trip (`SELECT 1`) if it
    sat unused for `idle_seconds`: it may have died meanwhile (a database restart), and a dead
    one is replaced at once. `pool_pre_ping` would check it before every transaction: one more
    round trip for each. With `pool_use_lifo` the connections in use stay the
    same few, and only the others idle. A connection that dies while in use fails that
    transaction; SQLAlchemy then drops every pooled connection opened before the failure, and the
    caller's retry (docs/reliability.md) gets a new one."""

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # new, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool closes this connection and hands out another (up to three tries).
            raise DisconnectionError("a pooled connection was found closed") from exc

    return engine


def batch_inserts(engine: Engine) -> Engine:
    """An INSERT executed with a list of rows goes out as multi-row INSERTs that SQLAlchemy
    renders from one compiled statement ("insertmanyvalues"), also without RETURNING. Otherwise
    psycopg sends the rows as a pipeline with a wait for each, and under eventlet every wait
    yields to every other green thread; and writing the rows into the statement instead
    (`.values([...])`) compiles it again for each number of rows."""
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def table(model: type[Any]) -> Table:
    """The Core table of an ORM model, for statements that skip the ORM's per-row work."""
    return cast(Table, model.__table__)


def unnest(name: str, **columns: tuple[TypeEngine[Any], Sequence[Any]]) -> TableValuedAlias:
    """Rows given column by column, as a table to join (UPDATE ... FROM): one array bound for
    each column, so the statement is compiled once whatever the number of rows, where a VALUES
    list is compiled again for each number of rows."""
    arrays = [
        bindparam(f"{name}_{column}", value=list(data), type_=ARRAY(type_))
        for column, (type_, data) in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns, name=name).render_derived()
