"""pytest fixtures for service tests on the real PostgreSQL and RabbitMQ.

`infra` (session): a new database with every service's migrations applied (`alembic upgrade head`,
never `create_all`), and a new RabbitMQ vhost with the platform's topology; both removed at the end.
Servers come from DATABASE_URL and AMQP_URI, defaulting to the local ones.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from shared.migrations import upgrade
from shared.settings import CommonSettings
from shared.testing.infra import (
    Management,
    check_postgres,
    check_rabbitmq,
    drop_database,
    ensure_database,
    with_database,
    with_vhost,
)
from shared.topology import declare_topology

TEST_RETRY_DELAYS = (0.2, 0.4)


@dataclass
class TestInfra:
    database_url: str
    amqp_uri: str
    vhost: str
    management: Management
    engine: Engine = field(repr=False)

    def settings_overrides(self) -> dict[str, Any]:
        return {
            "environment": "test",
            "database_url": self.database_url,
            "amqp_uri": self.amqp_uri,
            "event_retry_delays": TEST_RETRY_DELAYS,
            "outbox_poll_seconds": 0.05,
        }


def service_dirs(root: Path) -> list[Path]:
    return sorted(path.parent for path in (root / "services").glob("*/alembic.ini"))


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[TestInfra]:
    defaults = CommonSettings()
    base_db = os.environ.get("DATABASE_URL", defaults.database_url)
    base_amqp = os.environ.get("AMQP_URI", defaults.amqp_uri)
    base_db = CommonSettings(database_url=base_db).database_url
    check_postgres(base_db)
    check_rabbitmq(base_amqp)

    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    database_url = with_database(base_db, name)
    ensure_database(database_url)
    management = Management.for_broker(base_amqp)
    management.create_vhost(name)
    management.create_platform_logins(name)
    amqp_uri = with_vhost(base_amqp, name)
    engine = create_engine(database_url, pool_size=5)
    try:
        for service_dir in service_dirs(request.config.rootpath):
            upgrade(service_dir, database_url)
        declare_topology(amqp_uri, TEST_RETRY_DELAYS)
        yield TestInfra(database_url, amqp_uri, name, management, engine)
    finally:
        engine.dispose()
        drop_database(database_url)
        management.delete_vhost(name)
