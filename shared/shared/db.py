"""PostgreSQL through SQLAlchemy 2 and psycopg 3: engines, and a session per nameko worker."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def make_engine(url: str, *, pool_size: int, application_name: str) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": application_name},
    )
