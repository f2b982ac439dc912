"""devtools.private_servers: a PostgreSQL cluster and a RabbitMQ node of a run's own, reached for
real, stopped and started again, and torn down leaving no process and no port open; never on the
machine's own ports."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from kombu import Connection

from devtools.private_servers import (
    KEPT,
    SYSTEM_PORTS,
    PrivatePostgres,
    PrivateRabbitMQ,
    PrivateServerError,
    PrivateServers,
    missing_programs,
    port_open,
    private_servers,
    processes_in,
    sweep_stale,
)


def select_one(servers: PrivateServers) -> int:
    dsn = servers.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute("SELECT 1").fetchone()
    assert row is not None
    return int(row[0])


def round_trip(servers: PrivateServers) -> str:
    """A message through a queue of the private broker and back."""
    body = uuid.uuid4().hex
    with Connection(servers.amqp_uri, connect_timeout=5) as conn:
        queue = conn.SimpleQueue(f"private-servers-test-{body}", queue_opts={"auto_delete": True})
        queue.put(body)
        message = queue.get(timeout=10)
        message.ack()
        queue.close()
    return str(message.payload)


@pytest.mark.skipif(bool(missing_programs()), reason="needs PostgreSQL and RabbitMQ installed here")
@pytest.mark.timeout(600)
def test_private_servers_answer_stop_start_again_and_leave_nothing_behind() -> None:
    with private_servers("portal-devtools-test") as servers:
        folder, ports = servers.folder, servers.ports
        assert not set(ports) & SYSTEM_PORTS, ports
        assert select_one(servers) == 1
        assert round_trip(servers)
        assert servers.management.request("GET", "/api/overview")
        assert servers.rabbitmq.node in servers.rabbitmq.ctl("status")
        assert processes_in(folder)

        servers.postgres.stop()
        servers.rabbitmq.stop()
        assert not port_open(servers.postgres.port) and not port_open(servers.rabbitmq.amqp_port)
        with pytest.raises(psycopg.OperationalError):
            select_one(servers)

        servers.postgres.start()
        servers.rabbitmq.start()
        assert select_one(servers) == 1
        assert round_trip(servers)

    assert processes_in(folder) == []
    assert [port for port in ports if port_open(port)] == []
    assert not folder.exists()


def test_a_stop_refuses_the_machines_own_ports_before_running_anything(tmp_path: Path) -> None:
    postgres = PrivatePostgres(tmp_path, 5432, "x", bin_dir=tmp_path / "no-such-bin", user=None)
    with pytest.raises(PrivateServerError, match="port 5432"):
        postgres.stop()
    rabbitmq = PrivateRabbitMQ(tmp_path, "x@localhost", 5672, 1, 2, 3)
    with pytest.raises(PrivateServerError, match="port 5672"):
        rabbitmq.stop()


def test_a_dead_runs_folder_is_swept_and_a_live_or_kept_one_is_not(tmp_path: Path) -> None:
    dead_pid = 2**22 + 1  # above the kernel's largest pid
    dead = tmp_path / f"portal-x-servers-{dead_pid}-abc"
    kept = tmp_path / f"portal-x-servers-{dead_pid}-def"
    live = tmp_path / f"portal-x-servers-{os.getpid()}-ghi"
    other = tmp_path / f"portal-y-servers-{dead_pid}-abc"
    for folder in (dead, kept, live, other):
        (folder / "postgres").mkdir(parents=True)
    (kept / KEPT).touch()

    sweep_stale(tmp_path, "portal-x")

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in (kept, live, other))
