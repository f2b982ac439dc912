"""Pooled connections are checked when they sat unused, not before every transaction: on the
local PostgreSQL, with a backend ended under the pool's feet as a database restart would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import check_when_idle
from shared.testing import fixtures
from shared.testing.fixtures import infra  # noqa: F401 - a fixture

IDLE = 0.2
PID = text("SELECT pg_backend_pid()")


@pytest.fixture
def database_url(infra: fixtures.TestInfra) -> str:  # noqa: F811
    return infra.database_url


@pytest.fixture
def admin(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, pool_size=1)
    yield engine
    engine.dispose()


def end_backend(admin: Engine, pid: int) -> None:
    """What a database restart does to a pooled connection. PostgreSQL waits for the backend to
    be gone (up to 10 s); polling pg_stat_activity instead would see one snapshot for the whole
    transaction, taken maybe before the backend ended."""
    with admin.connect() as conn:
        ended = conn.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
    assert ended, f"backend {pid} did not end within 10 s"


def test_a_connection_that_died_while_idle_is_replaced_before_use(database_url: str, admin: Engine) -> None:
    engine = check_when_idle(create_engine(database_url, pool_size=1, max_overflow=0), IDLE)
    try:
        with engine.connect() as conn:
            first = conn.scalar(PID)
        end_backend(admin, first)
        time.sleep(IDLE * 1.5)
        with engine.connect() as conn:
            assert conn.scalar(PID) != first  # no error: the dead one was found and replaced
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_checked(database_url: str, admin: Engine) -> None:
    """No round trip before each transaction: a connection that died a moment after its last use
    fails the next one, and the pool then opens a new one for the caller's retry."""
    engine = check_when_idle(create_engine(database_url, pool_size=1, max_overflow=0), idle_seconds=60)
    try:
        with engine.connect() as conn:
            first = conn.scalar(PID)
        end_backend(admin, first)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.scalar(PID)
        with engine.connect() as conn:
            assert conn.scalar(PID) != first
    finally:
        engine.dispose()


def test_the_senders_asyncio_engine_replaces_a_connection_that_died_while_idle(
    database_url: str, admin: Engine
) -> None:
    async def scenario() -> tuple[int, int]:
        engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
        check_when_idle(engine.sync_engine, IDLE)
        try:
            async with engine.connect() as conn:
                first = (await conn.execute(PID)).scalar_one()
            await asyncio.to_thread(end_backend, admin, first)
            await asyncio.sleep(IDLE * 1.5)
            async with engine.connect() as conn:
                return first, (await conn.execute(PID)).scalar_one()
        finally:
            await engine.dispose()

    first, second = asyncio.run(scenario())
    assert second != first
