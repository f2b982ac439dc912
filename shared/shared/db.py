"""PostgreSQL through SQLAlchemy 2 and psycopg 3: engines, and a session per nameko worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ARRAY, Engine, Table, bindparam, create_engine, func
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def make_engine(url: str, *, pool_size: int, application_name: str) -> Engine:
    return batch_inserts(
        create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": application_name},
        )
    )


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
