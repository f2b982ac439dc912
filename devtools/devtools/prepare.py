"""Getting the servers ready for the platform: reachable, database present, schemas migrated,
queues declared. Each failure says which server, where it looked, and how to start it."""

from __future__ import annotations

from pathlib import Path

from shared.migrations import upgrade
from shared.settings import CommonSettings
from shared.testing.infra import check_postgres, check_rabbitmq, ensure_database
from shared.topology import declare_topology

REPO = Path(__file__).resolve().parents[2]


def service_dirs() -> list[Path]:
    return sorted(path.parent for path in (REPO / "services").glob("*/alembic.ini"))


def prepare(database_url: str, amqp_uri: str, retry_delays: tuple[float, ...], say=print) -> None:  # type: ignore[no-untyped-def]
    database_url = CommonSettings(database_url=database_url).database_url
    say("Checking PostgreSQL and RabbitMQ ...")
    check_postgres(database_url)
    check_rabbitmq(amqp_uri)
    if ensure_database(database_url):
        say("Created the database.")
    for service_dir in service_dirs():
        upgrade(service_dir, database_url)
    say(f"Migrated {len(service_dirs())} service schemas.")
    declare_topology(amqp_uri, retry_delays)
