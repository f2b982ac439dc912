"""The contenders of `bench.sender_scaling`: n sender processes on one platform, and the CPU time
they, the notifications service, the sink, the broker and the database spend."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.common.cpu import broker_pid, process_cpu_seconds
from bench.common.platform import BenchPlatform
from bench.common.processes import PROFILE, profiled, python_module
from devtools.stack import ProcessSpec, Stack


def label(processes: int) -> str:
    """A contender's name: its number of sender processes."""
    return f"{processes} process{'es' if processes > 1 else ''}"


class Senders:
    """`count` sender processes, on the platform's settings; logs beside the platform's.

    Under BENCH_PROFILE=sender-1,... a sender runs under py-spy; its profile is kept per process
    count (`profile-sender-1-4p.svg`: the last round with 4 processes)."""

    def __init__(self, platform: BenchPlatform, count: int, env: dict[str, str]) -> None:
        self.platform = platform
        self.count = count
        self.names = [f"sender-{n + 1}" for n in range(count)]
        specs = [
            ProcessSpec(
                name,
                profiled(name, python_module("notifications.sender"), platform.log_dir),
                {"AMQP_URI": platform.config.uri_of("sender"), **env},
            )
            for name in self.names
        ]
        self.stack = Stack(platform.config, platform.log_dir, processes=specs)

    def __enter__(self) -> Senders:
        self.stack.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pid(self, name: str) -> int:
        """The sender's own process id (py-spy's child when profiled)."""
        pid = self.stack.running[name].process.pid
        if name in PROFILE:
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                pid = int(children[0]) if children else pid
        return pid

    def fail_if_exited(self) -> None:
        dead = self.stack.exited()
        if dead:
            name, code = next(iter(dead.items()))
            raise RuntimeError(f"{name} exited with code {code}:\n{self.stack.log_tail(name)}")

    def stop(self) -> None:
        # SIGTERM to the senders themselves: a clean shutdown (and py-spy, when it runs one, writes
        # its profile as its child exits).
        for name in self.names:
            if name in self.stack.running and self.stack.running[name].process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid(name), signal.SIGTERM)
        for name in self.names:
            if name in self.stack.running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.stack.running[name].process.wait(timeout=30)
        self.stack.stop()
        for name in self.names:
            for profile in self.platform.log_dir.glob(f"profile-{name}.*"):
                profile.replace(profile.with_name(f"profile-{name}-{self.count}p{profile.suffix}"))


@dataclass
class Meters:
    """CPU time of the platform's processes, the senders and this database's backends."""

    platform: BenchPlatform
    db: Engine

    def read(self, senders: Senders) -> dict[str, float]:
        readings = {"senders": sum(process_cpu_seconds(senders.pid(n)) for n in senders.names)}
        for name, pid in (
            ("notifications", self.platform.pid("notifications")),
            ("sink", self.platform.pid("smtp-sink")),
            ("broker", broker_pid()),
        ):
            if pid is not None:
                with contextlib.suppress(OSError):
                    readings[name] = process_cpu_seconds(pid)
        with self.db.connect() as conn:
            backends = conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).all()
        for pid in backends:
            with contextlib.suppress(OSError):
                readings[f"db:{pid}"] = process_cpu_seconds(pid)
        return readings

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds each used in between; the database's backends summed (a backend that
        connected in between counts from zero)."""
        spent = {name: after[name] - before.get(name, 0.0) for name in after if not name.startswith("db:")}
        spent["database"] = sum(
            after[name] - before.get(name, 0.0) for name in after if name.startswith("db:")
        )
        return spent
