"""`make up` (python -m devtools.up) when a server it needs cannot be reached: it says which one,
where it looked and how to start it, and starts nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from devtools.stack import free_port


def run_up(**env: str) -> subprocess.CompletedProcess[str]:
    ports = {
        "PORTAL_PORT": str(free_port()),
        "SMTP_SINK_PORT": str(free_port()),
        "MAIL_VIEWER_PORT": str(free_port()),
    }
    return subprocess.run(
        [sys.executable, "-m", "devtools.up"],
        env={**os.environ, **ports, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unreachable_postgresql_is_named_with_where_and_how():
    result = run_up(DATABASE_URL="postgresql://postgres@127.0.0.1:1/portal")
    assert result.returncode == 2
    assert "PostgreSQL is not reachable at 127.0.0.1:1 as user 'postgres'" in result.stderr
    assert "pg_ctlcluster" in result.stderr and "DATABASE_URL" in result.stderr
    assert "Starting" not in result.stdout


def test_an_unreachable_rabbitmq_is_named_with_where_and_how():
    result = run_up(AMQP_URI="amqp://guest:guest@127.0.0.1:1/")
    assert result.returncode == 2
    assert "RabbitMQ is not reachable at 127.0.0.1:1" in result.stderr
    assert "rabbitmq-server -detached" in result.stderr and "AMQP_URI" in result.stderr
    assert "Starting" not in result.stdout
