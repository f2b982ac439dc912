"""Alembic for a service that owns one PostgreSQL schema.

Each service's `alembic/env.py` calls `run_migrations(metadata, schema)`. Its version table lives in
its own schema, it sees only its own schema, and a session-level advisory lock keeps two instances
of the service from migrating at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.pool import NullPool

from shared.settings import CommonSettings


def database_url_for_alembic(attributes: dict[str, object]) -> str:
    url = attributes.get("database_url") or os.environ.get("DATABASE_URL")
    # Validated and normalised to psycopg 3 the same way the services do it.
    return CommonSettings(database_url=str(url)).database_url if url else CommonSettings().database_url


def run_migrations(metadata: MetaData, schema: str) -> None:
    from alembic import context

    url = database_url_for_alembic(context.config.attributes)
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": f"migrate:{schema}"})
        try:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            connection.commit()
            context.configure(
                connection=connection,
                target_metadata=metadata,
                version_table_schema=schema,
                include_schemas=True,
                include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": f"migrate:{schema}"}
            )
            connection.commit()
    engine.dispose()


def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """Run a service's migrations from code (tests, the local runner)."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "alembic"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, revision)
