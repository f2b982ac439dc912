"""deploy/Dockerfile, its two scripts and .dockerignore.

No image can be built here (no Docker engine): the Dockerfile is checked as text; the entrypoint
is run for real, with stand-ins for `python` and `alembic` that write down how they were called,
and once with the real alembic against PostgreSQL (DATABASE_URL) from the image's file layout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from shared.settings import CommonSettings
from shared.testing.infra import check_postgres, drop_database, ensure_database, with_database

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"
INSTALL = REPO / "deploy" / "install.sh"

NAMEKO = ("contacts", "properties", "invitations", "notifications")
SERVICES = (*NAMEKO, "portal_gateway", "devtools")


def stages(text: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split into its stages."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    result: list[list[str]] = [[]]
    for line in lines:
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def test_two_stages_on_python_3_11_slim() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    _preamble, build, runtime = stages(text)
    assert build[0] == "FROM ${PYTHON_IMAGE} AS build"
    assert runtime[0] == "FROM ${PYTHON_IMAGE} AS runtime"
    assert "ARG SERVICE" in build and "ARG SERVICE" in runtime


def test_the_final_stage_runs_as_a_user_and_holds_no_sources_or_tools() -> None:
    *_, runtime = stages(DOCKERFILE.read_text())
    copies = [line for line in runtime if line.startswith("COPY")]
    assert copies == [
        "COPY --from=build /opt/venv /opt/venv",
        "COPY --from=build /app /app",
        "COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/portal-entrypoint",
    ]
    [user] = [line for line in runtime if line.startswith("USER ")]
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert runtime.index(user) > max(
        runtime.index(line) for line in runtime if line.startswith(("RUN", "COPY"))
    )
    assert runtime[-1] == 'ENTRYPOINT ["portal-entrypoint"]'
    runs = " ".join(line for line in runtime if line.startswith("RUN"))
    assert "pip uninstall" in runs and "apt-get" not in runs
    assert "SERVICE=${SERVICE}" in " ".join(runtime)


def test_the_install_script_uses_the_constraints_and_knows_every_service() -> None:
    script = INSTALL.read_text()
    assert '-c constraints.txt "./$shared" ${also:+"./$also"} "./$package"' in script
    assert "pip uninstall --quiet --yes pip setuptools" in script
    build = stages(DOCKERFILE.read_text())[1]
    assert "COPY constraints.txt ./" in build
    cases = dict(re.findall(r"^\s*([a-z_| ]+)\) shared=\"([^\"]+)\"", script, re.MULTILINE))
    also_cases = dict(re.findall(r"^\s*([a-z_| ]+)\) .*also=\"([^\"]+)\"", script, re.MULTILINE))
    also_by_service = {name.strip(): path for names, path in also_cases.items() for name in names.split("|")}
    by_service = {name.strip(): shared for names, shared in cases.items() for name in names.split("|")}
    assert set(by_service) == set(SERVICES)
    for service, shared in by_service.items():
        package = REPO / ("devtools" if service == "devtools" else f"services/{service}")
        assert (package / "pyproject.toml").exists(), package
        # The extras of `shared` installed are those the package itself asks for.
        dependencies = tomllib.loads((package / "pyproject.toml").read_text())["project"]["dependencies"]
        [wanted] = [d for d in dependencies if d.startswith("portal-shared")] or ["portal-shared"]
        extras = re.search(r"\[([^\]]*)\]", wanted)
        expected = f"shared[{extras[1]}]" if extras else "shared"
        assert shared == expected, service
        # Any other package of this repository it needs is installed with it, from its folder.
        local = [
            d.split("==")[0]
            for d in dependencies
            if d.startswith("portal-") and not d.startswith("portal-shared")
        ]
        assert [f"services/{name.replace('-', '_')}" for name in local] == (
            [also_by_service[service]] if service in also_by_service else []
        ), service
        assert (package / "alembic.ini").exists() == (service in NAMEKO), service


# --- the entrypoint, run ------------------------------------------------------------------------


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """`python` and `alembic` that append how they were called (and where) to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python", "alembic"):
        script = bin_dir / tool
        script.write_text(
            "#!/bin/sh\n"
            f'echo "$(basename "$PWD") {tool} $*" >> "$CALLS_LOG"\n'
            f'[ "{tool}" != alembic ] || exit "${{ALEMBIC_EXIT:-0}}"\n'
        )
        script.chmod(0o755)
    return bin_dir


def run_entrypoint(fake_bin: Path, tmp_path: Path, service: str | None, *args: str, **env: str):
    app = tmp_path / "app"
    for name in NAMEKO:
        (app / name).mkdir(parents=True, exist_ok=True)
    log = tmp_path / "calls.log"
    log.write_text("")
    environment = {
        "PATH": f"{fake_bin}{os.pathsep}/usr/bin:/bin",
        "CALLS_LOG": str(log),
        "PORTAL_APP_DIR": str(app),
        **env,
    }
    if service is not None:
        environment["SERVICE"] = service
    result = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=30,
        check=False,
    )
    return result, log.read_text().splitlines()


@pytest.mark.parametrize("service", NAMEKO)
def test_a_nameko_service_migrates_then_starts(fake_bin: Path, tmp_path: Path, service: str) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, service)
    assert result.returncode == 0, result.stderr
    assert calls == [f"{service} alembic upgrade head", f"{tmp_path.name} python -m {service}"]


def test_the_sender_does_not_migrate(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(
        fake_bin, tmp_path, "notifications", "python", "-m", "notifications.sender"
    )
    assert result.returncode == 0, result.stderr
    assert calls == [f"{tmp_path.name} python -m notifications.sender"]


def test_the_gateway_does_not_migrate(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, "portal_gateway")
    assert result.returncode == 0, result.stderr
    assert calls == [f"{tmp_path.name} python -m portal_gateway"]


def test_the_devtools_image_runs_the_smtp_sink_for_other_containers(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, "devtools")
    assert result.returncode == 0, result.stderr
    assert calls == [
        f"{tmp_path.name} python -m devtools.smtp_sink --host 0.0.0.0 --smtp-port 1025 --http-port 8025"
    ]


def test_migrate_only_migrates(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, "properties", "migrate")
    assert result.returncode == 0, result.stderr
    assert calls == ["properties alembic upgrade head"]


def test_migrate_fails_where_there_is_nothing_to_migrate(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, "portal_gateway", "migrate")
    assert result.returncode != 0
    assert calls == []


def test_migrate_on_start_false_skips_the_migrations(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, "invitations", MIGRATE_ON_START="false")
    assert result.returncode == 0, result.stderr
    assert calls == [f"{tmp_path.name} python -m invitations"]


def test_a_failed_migration_stops_the_service_from_starting(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, "contacts", ALEMBIC_EXIT="3")
    assert result.returncode == 3
    assert calls == ["contacts alembic upgrade head"]


def test_no_service_no_start(fake_bin: Path, tmp_path: Path) -> None:
    result, calls = run_entrypoint(fake_bin, tmp_path, None)
    assert result.returncode != 0
    assert "SERVICE" in result.stderr
    assert calls == []


# --- .dockerignore ------------------------------------------------------------------------------


def pattern_regex(pattern: str) -> str:
    """A .dockerignore pattern (Go's filepath.Match, plus `**` for any number of directories)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path, or a folder above it, decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = pattern_regex(pattern.removeprefix("!").strip("/"))
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            result = not negate
    return result


@pytest.fixture(scope="module")
def patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "path",
    [
        "constraints.txt",
        "shared/pyproject.toml",
        "shared/shared/settings.py",
        "services/contacts/alembic.ini",
        "services/contacts/alembic/env.py",
        "services/notifications/notifications/templates/en/invitation.html",
        "services/portal_gateway/portal_gateway/static/style.css",
        "devtools/devtools/smtp_sink/server.py",
        "devtools/devtools/smtp_sink/templates/index.html",
        "deploy/entrypoint.sh",
        "deploy/install.sh",
    ],
)
def test_the_context_keeps_what_the_build_copies(patterns: list[str], path: str) -> None:
    assert not ignored(path, patterns)


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "var/log/gateway.log",
        "test-artifacts/report.html",
        "shared/shared/__pycache__/settings.cpython-311.pyc",
        "services/contacts/portal_contacts.egg-info/PKG-INFO",
        "services/contacts/tests/unit/test_domain.py",
        "tests/deploy/test_compose.py",
        ".ruff_cache/0.17.5/x",
        "services/invitations/.pytest_cache/v/cache",
        "deploy/k8s/gateway.yaml",
        "docker-compose.yml",
    ],
)
def test_the_context_leaves_out_venvs_caches_and_tests(patterns: list[str], path: str) -> None:
    assert ignored(path, patterns)


# --- the migrations, as the image runs them -----------------------------------------------------


def test_the_entrypoint_migrates_every_service_from_the_image_layout(tmp_path: Path) -> None:
    """`portal-entrypoint migrate` with the real alembic, from a copy of what install.sh puts in
    /app/<service> (alembic.ini and alembic/ only), against a database of its own; twice, as
    every replica's initContainer does."""
    base = os.environ.get("DATABASE_URL", CommonSettings.model_fields["database_url"].default)
    check_postgres(base)
    database_url = with_database(base, f"deploy_test_{uuid.uuid4().hex[:10]}")
    app = tmp_path / "app"
    for service in NAMEKO:
        source = REPO / "services" / service
        (app / service).mkdir(parents=True)
        shutil.copy(source / "alembic.ini", app / service / "alembic.ini")
        shutil.copytree(
            source / "alembic", app / service / "alembic", ignore=shutil.ignore_patterns("__pycache__")
        )
    ensure_database(database_url)
    try:
        for _ in range(2):
            for service in NAMEKO:
                result = subprocess.run(
                    ["/bin/sh", str(ENTRYPOINT), "migrate"],
                    capture_output=True,
                    text=True,
                    env={
                        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
                        "SERVICE": service,
                        "PORTAL_APP_DIR": str(app),
                        "DATABASE_URL": database_url,
                    },
                    cwd=tmp_path,
                    timeout=120,
                    check=False,
                )
                assert result.returncode == 0, f"{service}:\n{result.stderr}"
    finally:
        drop_database(database_url)
