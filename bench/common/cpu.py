"""CPU time, read from /proc: of a contender's servers, the broker, PostgreSQL, any process by pid,
and of the whole machine."""

from __future__ import annotations

import contextlib
import math
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


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process now running (backends that ended meanwhile are missed,
    and other databases' work is included: a rough figure, like the broker's)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "postgres":
                total += process_cpu_seconds(int(comm.parent.name))
    return total


def machine_jiffies() -> tuple[int, int]:
    """The whole machine's CPU time so far, (busy, total), in clock ticks, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def machine_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time (all cores) that was busy in between."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else math.nan
