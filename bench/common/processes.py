"""How a benchmark's processes are started: with this interpreter, under py-spy when asked.

BENCH_PROFILE=gateway,worker-rpc-client runs those processes under py-spy (installed by hand, not a
project dependency): a flame graph each in var/bench-logs/<benchmark>/profile-<name>.svg
(BENCH_PROFILE_FORMAT=raw for collapsed stacks in .txt, speedscope for .json).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROFILE = frozenset(filter(None, os.environ.get("BENCH_PROFILE", "").split(",")))


def profiled(name: str, argv: list[str], log_dir: Path) -> list[str]:
    """`argv` under `py-spy record` when BENCH_PROFILE names `name`; else `argv` itself."""
    if name not in PROFILE:
        return argv
    py_spy = Path(sys.executable).parent / "py-spy"
    kind = os.environ.get("BENCH_PROFILE_FORMAT", "flamegraph")  # or raw (collapsed stacks), speedscope
    out = log_dir / f"profile-{name}.{ {'flamegraph': 'svg', 'raw': 'txt'}.get(kind, 'json') }"
    return [str(py_spy), "record", "--rate", "250", "--format", kind, "-o", str(out), "--", *argv]


def python_module(name: str, *args: str) -> list[str]:
    """argv of `python -m name args...` with this interpreter."""
    return [sys.executable, "-m", name, *args]
