"""CPU time of processes, read from /proc: a contender's servers, the broker, anything by pid."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_pid() -> int | None:
    """The local RabbitMQ's Erlang VM, when it runs on this machine."""
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if stat.read_text().strip() == "beam.smp":
                return int(stat.parent.name)
    return None


class CpuMeter:
    """CPU time that server processes spend while a contender's block runs: `measure(run)` calls
    `run()` and adds `server_cpu` ({process: seconds}) to its answer. The broker is shared with
    anything else on the machine, so its share is only as clean as the machine is quiet."""

    def __init__(self, pids: Mapping[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid is not None}

    def _read(self) -> dict[str, float]:
        readings = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                readings[name] = process_cpu_seconds(pid)
        return readings

    def measure(self, run: Any) -> dict[str, Any]:
        before = self._read()
        answer = dict(run())
        after = self._read()
        answer["server_cpu"] = {name: after[name] - before[name] for name in before if name in after}
        return answer
