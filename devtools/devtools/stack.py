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
# How much of an exited process's output a Restart keeps.
RESTART_OUTPUT_LINES = 2000


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

    def uri_of(self, component: str) -> str:
        """The AMQP URI of one of the platform's processes: its own login, on this vhost."""
        from shared.broker_access import dev_uri

        return dev_uri(self.amqp_uri, component)

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
    # Set for this process only, over the stack's environment (e.g. one sender's concurrency).
    env: dict[str, str] = field(default_factory=dict)


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
        *(
            # Each with a broker login of its own (shared.broker_access).
            ProcessSpec(name, [python, "-m", module], {"AMQP_URI": config.uri_of(name)})
            for name, module in (
                ("contacts", "contacts"),
                ("properties", "properties"),
                ("invitations", "invitations"),
                ("notifications", "notifications"),
                ("sender", "notifications.sender"),
                ("gateway", "portal_gateway"),
            )
        ),
    ]


class _Running:
    def __init__(self, spec: ProcessSpec, process: subprocess.Popen[bytes], log: Path) -> None:
        self.spec = spec
        self.process = process
        self.log = log
        self.restarts: list[float] = []
        self.copier: threading.Thread | None = None
        # Where this process's output starts in the log (the log is shared by its restarts).
        self.log_offset = log.stat().st_size if log.exists() else 0

    def last_output(self, lines: int) -> str:
        """The end of what this process wrote (waiting briefly for the rest of its output)."""
        if self.copier is not None:
            self.copier.join(timeout=2)
        if not self.log.exists():
            return ""
        with self.log.open("rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Restart:
    """A restart `supervise` made: which process, its pid and exit code, when (time.time()), and
    the end of what it wrote before it exited (why it did, usually)."""

    name: str
    pid: int
    code: int
    at: float
    last_output: str = ""


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
        # Every restart `supervise` made, oldest first: a test can tell whether anything had to be.
        self.restart_log: list[Restart] = []
        # Processes stopped on purpose (`stop_process`): `supervise` leaves them stopped.
        self._held: set[str] = set()
        # Environment set for one process over everything else (`start_process`, `restart_process`).
        self._extra_env: dict[str, dict[str, str]] = {}
        self._lock = threading.RLock()

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for spec in self.specs:
                self._launch(spec)

    def _launch(self, spec: ProcessSpec) -> None:
        env = {
            **os.environ,
            **self.config.environment(),
            **spec.env,
            **self._extra_env.get(spec.name, {}),
            "PYTHONUNBUFFERED": "1",
        }
        log = self.log_dir / f"{spec.name}.log"
        process = subprocess.Popen(
            spec.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        previous = self.running.get(spec.name)
        running = _Running(spec, process, log)
        if previous is not None:
            running.restarts = previous.restarts
        self.running[spec.name] = running
        running.copier = threading.Thread(target=self._copy_output, args=(running,), daemon=True)
        running.copier.start()

    def _copy_output(self, running: _Running) -> None:
        assert running.process.stdout is not None
        with running.log.open("ab") as log:
            for line in running.process.stdout:
                log.write(line)
                log.flush()
                if self.echo is not None:
                    self.echo(f"[{running.spec.name}] {line.decode(errors='replace').rstrip()}")

    def supervise(self) -> list[str]:
        """Restart processes that have exited (not those stopped with `stop_process`); return what
        was done, for a person to read. Each restart is also kept in `restart_log`."""
        notes: list[str] = []
        now = time.monotonic()
        with self._lock:
            for running in list(self.running.values()):
                code = running.process.poll()
                if code is None or running.spec.name in self._held:
                    continue
                running.restarts = [t for t in running.restarts if now - t < 60]
                if len(running.restarts) >= self.max_restarts:
                    notes.append(f"{running.spec.name} keeps exiting (code {code}); see {running.log}")
                    continue
                running.restarts.append(now)
                notes.append(f"{running.spec.name} exited with code {code}; restarting it")
                self.restart_log.append(
                    Restart(
                        running.spec.name,
                        running.process.pid,
                        code,
                        time.time(),
                        running.last_output(RESTART_OUTPUT_LINES),
                    )
                )
                self._launch(running.spec)
        return notes

    def exited(self) -> dict[str, int]:
        """Processes that have ended and were not stopped on purpose, with their exit codes."""
        with self._lock:
            return {
                name: code
                for name, running in self.running.items()
                if name not in self._held and (code := running.process.poll()) is not None
            }

    def stop_process(self, name: str, timeout: float = 15, sig: int = signal.SIGTERM) -> int:
        """Stop one process (`sig`, then SIGKILL after `timeout`) and keep it stopped: `supervise`
        leaves it alone until `start_process`. Returns its exit code."""
        with self._lock:
            self._held.add(name)
            process = self.running[name].process
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=5)

    def start_process(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        """Start one process that is not running, e.g. after `stop_process`. With `extra_env`, that
        environment is set over everything else for this process from now on (restarts by
        `supervise` included); `{}` drops what an earlier call set; None keeps it."""
        with self._lock:
            running = self.running[name]
            if running.process.poll() is None:
                raise RuntimeError(f"{name} is running (pid {running.process.pid}); stop it first")
            if extra_env is not None:
                self._extra_env[name] = dict(extra_env)
            self._held.discard(name)
            self._launch(running.spec)

    def restart_process(
        self,
        name: str,
        extra_env: dict[str, str] | None = None,
        timeout: float = 15,
        sig: int = signal.SIGTERM,
    ) -> int:
        """`stop_process` then `start_process`; returns the old process's exit code."""
        code = self.stop_process(name, timeout=timeout, sig=sig)
        self.start_process(name, extra_env)
        return code

    def wait_exit(self, name: str, timeout: float) -> int:
        """Wait until `name`'s current process ends (for whatever reason); its exit code.

        The process is the one running when this is called, even if `supervise` replaces it
        meanwhile. Raises TimeoutError if it is still running after `timeout` seconds.
        """
        with self._lock:
            process = self.running[name].process
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{name} (pid {process.pid}) still running after {timeout:g} s") from None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.running[name].process.send_signal(sig)

    def stop(self, timeout: float = 15) -> None:
        with self._lock:  # a supervisor running meanwhile must not start them again
            self._held.update(self.running)
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
