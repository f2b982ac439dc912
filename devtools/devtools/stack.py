"""The platform as local processes: what runs, with which settings, and a supervisor for them.

Used by `python -m devtools.up` (the README's first command) and by the end-to-end tests, which
run the same processes against their own database, vhost and ports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HTTP_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class StackConfig:
    database_url: str
    amqp_uri: str
    gateway_port: int = 8000
    smtp_port: int = 1025
    mail_port: int = 8025
    host: str = "127.0.0.1"
    public_host: str = "localhost"
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def public_base_url(self) -> str:
        return f"http://{self.public_host}:{self.gateway_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def mail_url(self) -> str:
        return f"http://{self.host}:{self.mail_port}"

    def environment(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "AMQP_URI": self.amqp_uri,
            "PUBLIC_BASE_URL": self.public_base_url,
            "HOST": self.host,
            "PORT": str(self.gateway_port),
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.smtp_port),
            "LOG_LEVEL": self.log_level,
            **self.extra_env,
        }


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]


def platform_processes(config: StackConfig) -> list[ProcessSpec]:
    python = sys.executable
    return [
        ProcessSpec(
            "smtp-sink",
            [
                python,
                "-m",
                "devtools.smtp_sink",
                "--host",
                config.host,
                "--smtp-port",
                str(config.smtp_port),
                "--http-port",
                str(config.mail_port),
            ],
        ),
        ProcessSpec("contacts", [python, "-m", "contacts"]),
        ProcessSpec("properties", [python, "-m", "properties"]),
        ProcessSpec("invitations", [python, "-m", "invitations"]),
        ProcessSpec("notifications", [python, "-m", "notifications"]),
        ProcessSpec("sender", [python, "-m", "notifications.sender"]),
        ProcessSpec("gateway", [python, "-m", "portal_gateway"]),
    ]


class _Running:
    def __init__(self, spec: ProcessSpec, process: subprocess.Popen[bytes], log: Path) -> None:
        self.spec = spec
        self.process = process
        self.log = log
        self.restarts: list[float] = []


class Stack:
    """Starts the processes, restarts one that dies (at most `max_restarts` a minute), stops them.

    Each process's output goes to `<log_dir>/<name>.log`, and to `echo` when given.
    """

    def __init__(
        self,
        config: StackConfig,
        log_dir: Path,
        processes: list[ProcessSpec] | None = None,
        echo: Callable[[str], None] | None = None,
        max_restarts: int = 5,
    ) -> None:
        self.config = config
        self.log_dir = log_dir
        self.specs = processes or platform_processes(config)
        self.echo = echo
        self.max_restarts = max_restarts
        self.running: dict[str, _Running] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            self._launch(spec)

    def _launch(self, spec: ProcessSpec) -> None:
        env = {**os.environ, **self.config.environment(), "PYTHONUNBUFFERED": "1"}
        log = self.log_dir / f"{spec.name}.log"
        process = subprocess.Popen(
            spec.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        previous = self.running.get(spec.name)
        running = _Running(spec, process, log)
        if previous is not None:
            running.restarts = previous.restarts
        self.running[spec.name] = running
        threading.Thread(target=self._copy_output, args=(running,), daemon=True).start()

    def _copy_output(self, running: _Running) -> None:
        assert running.process.stdout is not None
        with running.log.open("ab") as log:
            for line in running.process.stdout:
                log.write(line)
                log.flush()
                if self.echo is not None:
                    self.echo(f"[{running.spec.name}] {line.decode(errors='replace').rstrip()}")

    def supervise(self) -> list[str]:
        """Restart processes that have exited; return what was done, for a person to read."""
        notes: list[str] = []
        now = time.monotonic()
        for running in list(self.running.values()):
            code = running.process.poll()
            if code is None:
                continue
            running.restarts = [t for t in running.restarts if now - t < 60]
            if len(running.restarts) >= self.max_restarts:
                notes.append(f"{running.spec.name} keeps exiting (code {code}); see {running.log}")
                continue
            running.restarts.append(now)
            notes.append(f"{running.spec.name} exited with code {code}; restarting it")
            self._launch(running.spec)
        return notes

    def exited(self) -> dict[str, int]:
        return {
            name: code
            for name, running in self.running.items()
            if (code := running.process.poll()) is not None
        }

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.running[name].process.send_signal(sig)

    def stop(self, timeout: float = 15) -> None:
        for running in self.running.values():
            if running.process.poll() is None:
                running.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for running in self.running.values():
            try:
                running.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                running.process.kill()
                running.process.wait(timeout=5)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.running[name].log if name in self.running else self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout: float, progress: Callable[[str], None] | None = None) -> None:
        """Until the gateway's /readyz says every service answers; fails early if a process exits."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            dead = self.exited()
            if dead:
                name, code = next(iter(dead.items()))
                raise RuntimeError(f"{name} exited with code {code} while starting:\n{self.log_tail(name)}")
            state = readiness(self.config.gateway_url)
            if state == "ready":
                return
            if progress is not None and state != last:
                progress(state)
                last = state
            time.sleep(0.5)
        raise RuntimeError(f"the platform was not ready within {timeout:g} s (last: {last})")


def readiness(gateway_url: str) -> str:
    try:
        with urllib.request.urlopen(f"{gateway_url}/readyz", timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            return "ready" if response.status == 200 else f"status {response.status}"
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        return f"waiting for services: {body}"
    except OSError:
        return "waiting for the gateway"


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
