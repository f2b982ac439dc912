"""docker-compose.yml: valid against the Compose specification, and wired the way the platform needs.

There is no Docker engine here: these checks are static (the schema, then the structure, then each
process's settings built from the environment the file gives it).
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from contacts.settings import ContactsSettings
from invitations.settings import InvitationsSettings
from notifications.settings import NotificationsSettings
from portal_gateway.settings import GatewaySettings
from shared.broker_access import dev_password, login_name, login_of
from shared.settings import DEV_LINK_SEALING_KEY, ServiceSettings

# What a server in a container listens on, so that other containers reach it.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

INFRA = {"postgres", "rabbitmq", "broker-setup", "smtp-sink"}
NAMEKO = {"contacts", "properties", "invitations", "notifications"}
APPS = NAMEKO | {"sender", "gateway"}
# The image (build argument SERVICE) of each service, and its settings class.
IMAGE_OF = {name: name for name in NAMEKO} | {
    "sender": "notifications",
    "gateway": "portal_gateway",
    "smtp-sink": "devtools",
}
SETTINGS_OF: dict[str, type] = {
    "contacts": ContactsSettings,
    "properties": ServiceSettings,
    "invitations": InvitationsSettings,
    "notifications": NotificationsSettings,
    "sender": NotificationsSettings,
    "gateway": GatewaySettings,
}
NEEDS = {
    "DATABASE_URL": NAMEKO | {"sender"},
    "AMQP_URI": APPS,
    "LINK_SEALING_KEY": {"invitations", "notifications", "sender"},
    "PUBLIC_BASE_URL": {"invitations", "gateway"},
    "SMTP_HOST": {"sender"},
    "MAIL_FROM": {"sender"},
}

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's `${NAME}` and `${NAME:-default}` (the only forms the file uses)."""
    return _INTERPOLATION.sub(lambda m: env.get(m["name"]) or (m["default"] or ""), value)


@pytest.fixture(scope="module")
def compose_path(repo: Path) -> Path:
    return repo / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose(compose_path: Path) -> dict[str, Any]:
    return yaml.safe_load(compose_path.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any], shell: Mapping[str, str] | None = None) -> dict[str, str]:
    """A service's environment as its process sees it, with nothing set in the shell by default."""
    raw = service.get("environment", {})
    assert isinstance(raw, dict), "environment is written as a mapping"
    return {key: interpolate(str(value), shell or {}) for key, value in raw.items()}


def run_check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    assert CHECK_JSONSCHEMA.exists(), f"{CHECK_JSONSCHEMA} is missing: pip install check-jsonschema==0.39.0"
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_file_follows_the_compose_specification(compose_path: Path) -> None:
    result = run_check_jsonschema(compose_path)
    assert result.returncode == 0, f"check-jsonschema:\n{result.stdout}\n{result.stderr}"


def test_the_schema_check_catches_a_mistake(compose_path: Path, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        compose_path.read_text().replace("condition: service_healthy", "condition: when_ready", 1)
    )
    result = run_check_jsonschema(broken)
    assert result.returncode != 0, result.stdout


def test_the_services_are_the_platform(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == INFRA | APPS


def test_postgres_and_rabbitmq_have_health_checks(services: dict[str, dict[str, Any]]) -> None:
    postgres, rabbitmq = services["postgres"], services["rabbitmq"]
    assert postgres["image"] == "postgres:16-alpine"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert rabbitmq["image"] == "rabbitmq:3.13-management-alpine"
    assert rabbitmq["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]


@pytest.mark.parametrize("name", sorted(APPS))
def test_each_app_waits_for_a_healthy_database_and_a_broker_with_its_login(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    depends_on = service["depends_on"]
    assert depends_on["postgres"] == {"condition": "service_healthy"}
    assert depends_on["rabbitmq"] == {"condition": "service_healthy"}
    assert depends_on["broker-setup"] == {"condition": "service_completed_successfully"}
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", sorted(APPS))
def test_each_app_has_its_own_broker_login_the_one_broker_setup_makes(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    uri = environment(services[name])["AMQP_URI"]
    assert login_of(uri) == login_name(name)
    assert urllib.parse.unquote(urllib.parse.urlsplit(uri).password or "") == dev_password(name)


def test_broker_setup_makes_the_logins_once_with_the_administrator(
    services: dict[str, dict[str, Any]],
) -> None:
    setup, rabbitmq = services["broker-setup"], services["rabbitmq"]
    assert setup["command"] == ["python", "-m", "devtools.broker_setup"]
    assert setup["restart"] == "no"
    broker = rabbitmq["environment"]
    admin = f"{broker['RABBITMQ_DEFAULT_USER']}:{broker['RABBITMQ_DEFAULT_PASS']}"
    assert environment(setup)["AMQP_URI"].startswith(f"amqp://{admin}@rabbitmq:5672/")
    assert environment(setup)["RABBITMQ_MANAGEMENT_URL"] == "http://rabbitmq:15672"


@pytest.mark.parametrize("name", sorted(APPS | {"smtp-sink"}))
def test_each_app_is_built_from_the_one_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "deploy/Dockerfile"
    assert build["args"] == {"SERVICE": IMAGE_OF[name]}


def test_the_sender_runs_the_sender_on_the_notifications_image(services: dict[str, dict[str, Any]]) -> None:
    sender, notifications = services["sender"], services["notifications"]
    assert sender["command"] == ["python", "-m", "notifications.sender"]
    assert sender["image"] == notifications["image"]
    # The nameko services use the image's own command (migrations, then the service).
    assert all("command" not in services[name] for name in NAMEKO)


def test_the_gateway_publishes_8000_and_checks_its_health(services: dict[str, dict[str, Any]]) -> None:
    gateway = services["gateway"]
    published = [str(port).rsplit(":", 2)[-2:] for port in gateway["ports"]]
    assert ["8000", "8000"] in published
    test = gateway["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in test[3] and "/healthz" in test[3] and ":8000" in test[3]
    assert {"contacts", "properties", "invitations", "notifications"} <= set(gateway["depends_on"])
    env = environment(gateway)
    assert env["HOST"] == ALL_INTERFACES
    assert env["PORT"] == "8000"


@pytest.mark.parametrize("variable", sorted(NEEDS))
def test_every_process_gets_what_it_needs(services: dict[str, dict[str, Any]], variable: str) -> None:
    for name in sorted(NEEDS[variable]):
        assert environment(services[name]).get(variable), f"{name} has no {variable}"


def test_the_addresses_point_at_the_compose_services(services: dict[str, dict[str, Any]]) -> None:
    for name in APPS:
        env = environment(services[name])
        if "DATABASE_URL" in env:
            assert "@postgres:5432/" in env["DATABASE_URL"], name
        assert "@rabbitmq:5672/" in env["AMQP_URI"], name
    assert environment(services["sender"])["SMTP_HOST"] == "smtp-sink"


def test_one_link_sealing_key_for_all_and_the_development_one_by_default(
    services: dict[str, dict[str, Any]],
) -> None:
    keys = {environment(services[name])["LINK_SEALING_KEY"] for name in NEEDS["LINK_SEALING_KEY"]}
    assert keys == {DEV_LINK_SEALING_KEY}, "unset, LINK_SEALING_KEY falls back to the development key"
    mine = {"LINK_SEALING_KEY": "bXkgb3duIGtleQ=="}
    keys = {environment(services[name], mine)["LINK_SEALING_KEY"] for name in NEEDS["LINK_SEALING_KEY"]}
    assert keys == {"bXkgb3duIGtleQ=="}, "an exported LINK_SEALING_KEY reaches every process"
    # The development key is accepted only because the file says ENVIRONMENT=development.
    assert {environment(services[name])["ENVIRONMENT"] for name in APPS} == {"development"}


def test_only_the_processes_that_seal_or_open_links_hold_the_key(services: dict[str, dict[str, Any]]) -> None:
    holders = {name for name in APPS if "LINK_SEALING_KEY" in environment(services[name])}
    assert holders == NEEDS["LINK_SEALING_KEY"], "the gateway, contacts and properties never hold it"


def test_old_sealing_keys_reach_only_the_processes_that_open_links(
    services: dict[str, dict[str, Any]],
) -> None:
    holders = {name for name in APPS if "LINK_SEALING_OLD_KEYS" in environment(services[name])}
    assert holders == {"notifications", "sender"}, "invitations only seals: it needs no old key"
    assert {environment(services[name])["LINK_SEALING_OLD_KEYS"] for name in holders} == {""}
    rotating = {"LINK_SEALING_KEY": "bmV3", "LINK_SEALING_OLD_KEYS": "b2xk,b2xkZXI="}
    assert {environment(services[name], rotating)["LINK_SEALING_OLD_KEYS"] for name in holders} == {
        "b2xk,b2xkZXI="
    }, "exported old keys reach both"


def test_the_common_environment_is_one_anchor(compose_path: Path, compose: dict[str, Any]) -> None:
    assert "x-app-env" in compose
    text = compose_path.read_text()
    assert "x-app-env: &app-env" in text
    assert len(re.findall(r"^\s+LINK_SEALING_KEY:", text, re.MULTILINE)) == 1, (
        "the key is set once, in its anchor"
    )


def test_every_variable_given_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    known = {field.upper() for cls in SETTINGS_OF.values() for field in cls.model_fields}
    for name in APPS:
        unknown = set(environment(services[name])) - known
        assert not unknown, f"{name} is given {sorted(unknown)}, which no process reads"


@pytest.mark.parametrize("name", sorted(SETTINGS_OF))
def test_each_process_accepts_its_environment(
    services: dict[str, dict[str, Any]], name: str, load_settings
) -> None:
    settings = load_settings(SETTINGS_OF[name], environment(services[name]))
    assert settings.environment == "development"
    assert settings.database_url.startswith("postgresql+psycopg://")
    if name == "sender":
        assert settings.smtp_host == "smtp-sink"
        assert settings.smtp_port == 1025
    if name == "gateway":
        assert settings.host == ALL_INTERFACES
        assert settings.port == 8000
