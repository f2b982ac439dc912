"""Where a run happened: the command, the machine and what else kept it busy."""

from __future__ import annotations

import contextlib
import os
import platform as platform_module
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any


def command_line() -> str:
    """The command that ran this benchmark, as a person would type it."""
    module = sys.modules["__main__"].__spec__
    name = module.name if module is not None else sys.argv[0]
    return shlex.join([".venv/bin/python", "-m", name, *sys.argv[1:]])


def busy_processes(min_cpu: float = 5.0) -> list[str]:
    """Other processes using CPU right now (ps's lifetime %CPU), for the record of what else ran."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    busy = []
    for line in out.splitlines()[1:]:
        pid, cpu, command = line.split(None, 2)
        if float(cpu) >= min_cpu and int(pid) != os.getpid():
            busy.append(f"{command} ({cpu}%)")
    return busy


def machine() -> dict[str, Any]:
    """The machine and its load, stored with every result."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform_module.python_version(),
        "kernel": platform_module.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "busy_processes": busy_processes(),
    }
