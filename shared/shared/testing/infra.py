"""Reaching, checking and isolating PostgreSQL and RabbitMQ, for tests and the local runner.

A test run gets a database and a RabbitMQ vhost of its own, made here and removed afterwards, so it
never sees the data or the queues of a platform running on the same servers.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

HTTP_TIMEOUT_SECONDS = 10


class InfraError(Exception):
    """A server the platform needs cannot be used; the message says which, where, and what to do."""


def check_postgres(database_url: str) -> None:
    url = make_url(database_url)
    engine = create_engine(
        url.set(database="postgres"), poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise InfraError(
            f"PostgreSQL is not reachable at {url.host}:{url.port or 5432} as user {url.username!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]}).\n"
            "  Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n"
            "  or point DATABASE_URL at a running server."
        ) from None
    finally:
        engine.dispose()


def check_rabbitmq(amqp_uri: str) -> None:
    parts = urllib.parse.urlsplit(amqp_uri)
    host, port = parts.hostname or "localhost", parts.port or 5672
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        raise InfraError(
            f"RabbitMQ is not reachable at {host}:{port} ({exc.strerror or exc}).\n"
            "  Start it (Debian: rabbitmq-server -detached) or point AMQP_URI at a running broker."
        ) from None


def ensure_database(database_url: str) -> bool:
    """Create the database named in `database_url` if it does not exist; True if it was created."""
    url = make_url(database_url)
    engine = create_engine(
        url.set(database="postgres"),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
                return True
            return False
    finally:
        engine.dispose()


def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    engine = create_engine(
        url.set(database="postgres"),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Management:
    """RabbitMQ's management HTTP API, for making and removing vhosts."""

    base_url: str
    username: str
    password: str

    @classmethod
    def for_broker(cls, amqp_uri: str) -> Management:
        parts = urllib.parse.urlsplit(amqp_uri)
        explicit = os.environ.get("RABBITMQ_MANAGEMENT_URL")
        base = explicit or f"http://{parts.hostname or 'localhost'}:15672"
        return cls(
            base.rstrip("/"),
            urllib.parse.unquote(parts.username or "guest"),
            urllib.parse.unquote(parts.password or "guest"),
        )

    def request(self, method: str, path: str, body: object | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        credentials = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {credentials}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_SECONDS) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            reason = exc.read(300).decode(errors="replace")
            raise InfraError(
                f"RabbitMQ management API: {method} {path} answered {exc.code} {reason}"
            ) from None
        except OSError as exc:
            raise InfraError(
                f"RabbitMQ's management API is not reachable at {self.base_url} ({exc}).\n"
                "  Enable it: rabbitmq-plugins enable rabbitmq_management\n"
                "  or set RABBITMQ_MANAGEMENT_URL."
            ) from None
        return json.loads(payload) if payload else None

    def create_vhost(self, vhost: str) -> None:
        quoted = urllib.parse.quote(vhost, safe="")
        self.request("PUT", f"/api/vhosts/{quoted}", {})
        self.request(
            "PUT",
            f"/api/permissions/{quoted}/{urllib.parse.quote(self.username, safe='')}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )

    def create_platform_logins(self, vhost: str) -> None:
        """The platform's broker logins (`shared.broker_access`) with their development passwords
        and their permissions on `vhost`: for `make up`, the test suites and compose, never a
        deployment (whose logins have passwords of their own, docs/deployment.md)."""
        from shared.broker_access import COMPONENTS, dev_password, login_name, permissions

        quoted_vhost = urllib.parse.quote(vhost, safe="")
        for component in COMPONENTS:
            login = urllib.parse.quote(login_name(component), safe="")
            self.request("PUT", f"/api/users/{login}", {"password": dev_password(component), "tags": ""})
            self.request("PUT", f"/api/permissions/{quoted_vhost}/{login}", permissions(component).__dict__)

    def delete_vhost(self, vhost: str) -> None:
        self.request("DELETE", f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}")

    def queues(self, vhost: str) -> list[dict[str, object]]:
        result = self.request("GET", f"/api/queues/{urllib.parse.quote(vhost, safe='')}")
        return result if isinstance(result, list) else []


def with_vhost(amqp_uri: str, vhost: str) -> str:
    parts = urllib.parse.urlsplit(amqp_uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def with_database(database_url: str, database: str) -> str:
    return make_url(database_url).set(database=database).render_as_string(hide_password=False)
