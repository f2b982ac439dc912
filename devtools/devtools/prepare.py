"""Getting the servers ready for the platform: reachable, database present, schemas migrated,
queues declared. Each failure says which server, where it looked, and how to start it."""

from __future__ import annotations

from pathlib import Path

from devtools.broker_setup import prepare_broker
from shared.migrations import upgrade
from shared.settings import CommonSettings
from shared.testing.infra import Management, check_postgres, check_rabbitmq, ensure_database

REPO = Path(__file__).resolve().parents[2]


def service_dirs() -> list[Path]:
    return sorted(path.parent for path in (REPO / "services").glob("*/alembic.ini"))


def prepare(  # type: ignore[no-untyped-def]
    database_url: str,
    amqp_uri: str,
    retry_delays: tuple[float, ...],
    say=print,
    management: Management | None = None,
) -> None:
    """`management`: the broker's management API, when not on port 15672 of its host (a private
    node of the fault suite's, say)."""
    database_url = CommonSettings(database_url=database_url).database_url
    say("Checking PostgreSQL and RabbitMQ ...")
    check_postgres(database_url)
    check_rabbitmq(amqp_uri)
    if ensure_database(database_url):
        say("Created the database.")
    for service_dir in service_dirs():
        upgrade(service_dir, database_url)
    say(f"Migrated {len(service_dirs())} service schemas.")
    prepare_broker(amqp_uri, retry_delays, management=management)
    say("Made the platform's broker logins (development passwords), exchanges and queues.")
