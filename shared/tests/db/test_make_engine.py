"""A service's engine puts a timeout on every statement: a stuck query (a lock never released, a
runaway scan) fails and is retried by its caller instead of holding a worker for ever."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.db import make_engine
from shared.testing import fixtures
from shared.testing.fixtures import infra  # noqa: F401 - a fixture


def test_a_statement_that_runs_past_the_timeout_is_cancelled_and_the_engine_goes_on(
    infra: fixtures.TestInfra,  # noqa: F811
) -> None:
    engine = make_engine(infra.database_url, pool_size=1, application_name="test", statement_timeout_ms=200)
    try:
        with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()


def test_services_wait_30_s_for_a_statement_by_default(infra: fixtures.TestInfra) -> None:  # noqa: F811
    engine = make_engine(infra.database_url, pool_size=1, application_name="test")
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SHOW statement_timeout")) == "30s"
            assert conn.scalar(text("SELECT current_setting('application_name')")) == "test"
    finally:
        engine.dispose()
