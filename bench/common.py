"""What every benchmark needs: a platform of its own, contenders in processes of their own,
alternating rounds, percentiles, CPU per call, and results written as JSON, a Markdown table and
PNG plots (and into docs/performance.md).

A benchmark is one command (`python -m bench.<name>`) that starts what it needs, measures its
contenders side by side in one run, writes `bench/results/<name>.json`, `<name>.md` and
`<name>-<plot>.png`, and removes everything it made, also on Ctrl-C, SIGTERM or failure. Speed is
measured here, never asserted in a test. The shape of one (bench/rpc.py and bench/portal_page.py
are complete examples):

    from functools import partial
    from bench import common
    from devtools.stack import ProcessSpec

    with common.bench_platform(
        "bulk",
        processes=None,                                   # all of platform_processes
        extra=[ProcessSpec("sender-2", common.python_module("notifications.sender"))],
        env={"MAX_WORKERS": "20"},                        # every process
        process_env={"sender-2": {"SENDER_CONCURRENCY": "8"}},  # one process
    ) as platform:
        staff = platform.new_organization()              # staff API client with an API token
        tenant = staff.tenant_with_lease()               # eligible for an invitation
        staff.invite(tenant["id"])
        token = platform.invitation_token(tenant["email"])   # read from the SMTP sink
        env = {"AMQP_URI": platform.amqp_uri}
        with common.Worker("http", ["-m", "bench.rpc_worker", "http"], env=env,
                           log_dir=platform.log_dir) as http:
            contenders = {"page": (http, {"host": platform.config.host,
                                          "port": platform.config.gateway_port, "path": "/healthz"})}
            meter = common.CpuMeter({"gateway": platform.pid("gateway"), "broker": common.broker_pid()})
            rounds = common.Rounds()
            for order in common.round_orders(contenders, rounds=5):      # warm-up round first
                for name, (worker, command) in order.items:
                    answer = meter.measure(partial(worker.run, 500, 10, **command))
                    rounds.add(name, answer, warmup=order.warmup)
    results = common.Results("bulk", common.command_line(), title="Bulk invitations")
    s = rounds.summary("page")     # n, p50/p95/p99/mean/max ms, per_second, CPU us per call, per round
    results.table("Requests", ["contender", "p50 ms", "per s"], [["page", s["p50_ms"], s["per_second"]]])
    results.text(common.targets_markdown([common.target("p50 under 50 ms", s["p50_ms"], 50, at_most=True,
                                                        unit=" ms")]))
    results.plot_latency_cdf("latency", {"page": rounds.latencies("page")}, "Latency")
    results.write(doc=True)   # bench/results/bulk.*, and docs/performance.md between
                              # <!-- results:bulk --> and <!-- /results:bulk -->

`bench_platform` makes a database and a RabbitMQ vhost of its own (`bench_<name>_<random>`) and
free ports, migrates every service schema, declares the queues, starts the chosen processes of
`devtools.stack.platform_processes` (all by default) plus any `extra` ProcessSpec (a second sender,
a benchmark-only service), and waits until each started nameko service consumes its RPC queue
(`rpc_services` for extra ones) and each web process answers (`http_checks` for extra ones). On
the way out it stops the processes, drops the database and deletes the vhost. Process logs go to
`var/bench-logs/<name>/` (not committed).

A contender runs in a `Worker`: a process of its own that keeps its connections between rounds and
answers JSON commands; `bench.worker` is its side (standard library only, so an eventlet worker can
patch first) and `bench.rpc_worker` has ready ones (the RpcClient, nameko's proxy, a bare aio-pika
client, an HTTP load generator). Rounds alternate between contenders after a warm-up round, the
first one rotating, so each sees the same background on a noisy two-core machine and a ratio
between them holds. CPU per call (the worker's own, and `CpuMeter`'s for server processes) is
reported beside latency: it moves much less than latency when something else runs.

BENCH_PROFILE=<process or worker-<name>>,... runs those under py-spy (see `profiled`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform as platform_module
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from devtools.isolated import isolated
from devtools.prepare import REPO, prepare
from devtools.sink_client import SinkClient
from devtools.stack import ProcessSpec, Stack, StackConfig, platform_processes
from shared.testing.infra import Management

RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "performance.md"
LOGS = REPO / "var" / "bench-logs"
NAMEKO_SERVICES = ("contacts", "properties", "invitations", "notifications")
HTTP_TIMEOUT = 30
PASSWORD = "violet lanterns drift south"  # noqa: S105 - the benchmark tenants' password
RETRY_DELAYS = (0.5, 1.0)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# BENCH_PROFILE=gateway,worker-rpc-client runs those processes under py-spy (installed by hand, not a
# project dependency): a flame graph each in var/bench-logs/<benchmark>/profile-<name>.svg
# (BENCH_PROFILE_FORMAT=raw for collapsed stacks in .txt, speedscope for .json).
PROFILE = frozenset(filter(None, os.environ.get("BENCH_PROFILE", "").split(",")))


# --- statistics -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, interpolating between the two nearest ranks (numpy's
    default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(latencies: Sequence[float], elapsed: float | None = None, errors: int = 0) -> dict[str, Any]:
    """Latencies in seconds -> n, errors, p50/p95/p99/mean/max in ms, and calls/s when `elapsed`
    (the wall time those calls took, in seconds) is known."""
    ms = [value * 1000 for value in latencies]
    return {
        "n": len(ms),
        "errors": errors,
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else math.nan,
        "max_ms": round(max(ms), 3) if ms else math.nan,
        "per_second": round(len(ms) / elapsed, 1) if elapsed else None,
    }


@dataclass
class RoundOrder:
    number: int  # 0 is the warm-up when there is one
    warmup: bool
    items: list[tuple[str, Any]]


def round_orders(contenders: Mapping[str, Any], rounds: int, warmup: bool = True) -> Iterator[RoundOrder]:
    """The order of each round: every contender once per round, the first one rotating, so none
    always runs first. Round 0 is a warm-up when asked."""
    items = list(contenders.items())
    for number in range(rounds + (1 if warmup else 0)):
        shift = number % len(items)
        yield RoundOrder(number, warmup and number == 0, items[shift:] + items[:shift])


@dataclass
class Rounds:
    """Collects each contender's answers over the measured rounds (warm-up answers are dropped)."""

    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, name: str, answer: Mapping[str, Any], warmup: bool = False) -> None:
        if "error" in answer:
            raise RuntimeError(f"{name} failed:\n{answer['error']}")
        if not warmup:
            self.answers.setdefault(name, []).append(dict(answer))

    def latencies(self, name: str) -> list[float]:
        return [value for answer in self.answers.get(name, []) for value in answer["latencies"]]

    def summary(self, name: str) -> dict[str, Any]:
        answers = self.answers.get(name, [])
        elapsed = sum(answer["elapsed"] for answer in answers)
        errors = sum(answer.get("errors", 0) for answer in answers)
        summary = summarize(self.latencies(name), elapsed, errors)
        # Per-round rates show the spread the noisy machine adds.
        summary["per_second_by_round"] = [
            round(len(a["latencies"]) / a["elapsed"], 1) if a["elapsed"] else None for a in answers
        ]
        summary["p50_ms_by_round"] = [round(percentile(a["latencies"], 50) * 1000, 3) for a in answers]
        calls = len(self.latencies(name))
        if calls and all("cpu" in a for a in answers):
            # CPU per call hardly depends on what else runs: the fairest measure of a client's cost.
            summary["client_cpu_us_per_call"] = round(sum(a["cpu"] for a in answers) / calls * 1e6, 1)
        servers: dict[str, float] = {}
        for answer in answers:
            for process, seconds in answer.get("server_cpu", {}).items():
                servers[process] = servers.get(process, 0.0) + seconds
        if calls and servers:
            summary["server_cpu_us_per_call"] = {p: round(t / calls * 1e6, 1) for p, t in servers.items()}
        first_error = next((a.get("first_error") for a in answers if a.get("first_error")), None)
        if first_error:
            summary["first_error"] = first_error
        return summary

    def names(self) -> list[str]:
        return list(self.answers)


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


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else math.nan


def paired_ratio(
    rounds: Rounds, name: str, others: Sequence[str], metric: str = "per_second", best: Any = max
) -> dict[str, Any]:
    """`name`'s metric over the best of `others`' in the same round, round by round, and the median
    of those ratios. The contenders of one round ran seconds apart, so a burst of background work
    that slows one round shows in both sides of its ratio; the median then drops the odd round.

    metric: "per_second" (best = max) or "p50_ms" (best = min)."""
    key = {"per_second": "per_second_by_round", "p50_ms": "p50_ms_by_round"}[metric]
    mine = rounds.summary(name)[key]
    theirs = [rounds.summary(other)[key] for other in others]
    by_round = [ratio(value, best(other[n] for other in theirs)) for n, value in enumerate(mine)]
    return {"median": round(percentile(by_round, 50), 3), "by_round": by_round}


def target(what: str, value: float, limit: float, at_most: bool, unit: str = "x") -> dict[str, Any]:
    """A target and whether `value` meets it (at most or at least `limit`)."""
    met = value <= limit if at_most else value >= limit
    return {"target": what, "value": value, "limit": limit, "unit": unit, "at_most": at_most, "met": met}


def targets_markdown(targets: Sequence[Mapping[str, Any]]) -> str:
    lines = ["### Targets", ""]
    for t in targets:
        verdict = "**met**" if t["met"] else "**missed**"
        bound = "at most" if t["at_most"] else "at least"
        unit = t.get("unit", "x")
        lines.append(f"- {t['target']}: {t['value']:.2f}{unit} ({bound} {t['limit']}{unit}): {verdict}")
    return "\n".join(lines)


# --- where the run happened -------------------------------------------------------------------


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


# --- results ----------------------------------------------------------------------------------


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _write_atomically(path: Path, data: bytes) -> None:
    # Written beside as .tmp (ignored by git) and renamed: a run stopped half way leaves no torn file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Results:
    """One benchmark's results: `data` (the JSON), Markdown sections, plots; `write()` saves them
    all under bench/results/ as `<name>.json`, `<name>.md`, `<name>-<plot>.png`."""

    def __init__(self, name: str, command: str, title: str | None = None) -> None:
        self.name = name
        self.title = title or name
        self.started = datetime.now(UTC)
        self.data: dict[str, Any] = {
            "benchmark": name,
            "command": command,
            "started_at": self.started.isoformat(timespec="seconds"),
            "machine": machine(),
        }
        self.sections: list[str] = []
        self._plots: dict[str, Any] = {}

    def text(self, markdown: str) -> None:
        self.sections.append(markdown.strip())

    def table(self, heading: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        table = markdown_table(headers, rows)
        self.sections.append(f"### {heading}\n\n{table}")
        return table

    def plot_path(self, plot: str) -> Path:
        return RESULTS / f"{self.name}-{plot}.png"

    def plot_latency_cdf(
        self, plot: str, series: Mapping[str, Sequence[float]], title: str, log_x: bool = True
    ) -> Path:
        """Each series' latencies (seconds) as a cumulative distribution in ms: where the tail is."""
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for label, values in series.items():
            ms = sorted(v * 1000 for v in values)
            if ms:
                ax.plot(ms, [(i + 1) / len(ms) * 100 for i in range(len(ms))], label=label)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("calls at or below (%)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
        return self._keep(plot, fig)

    def plot_bars(
        self,
        plot: str,
        groups: Sequence[str],
        series: Mapping[str, Sequence[float]],
        ylabel: str,
        title: str,
    ) -> Path:
        """Grouped bars: one group per x label (e.g. a concurrency), one bar per series."""
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(8, 4.5))
        width = 0.8 / max(1, len(series))
        for n, (label, values) in enumerate(series.items()):
            xs = [g + (n - (len(series) - 1) / 2) * width for g in range(len(groups))]
            bars = ax.bar(xs, values, width, label=label)
            ax.bar_label(bars, fmt="%.3g", fontsize="x-small")
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize="small")
        return self._keep(plot, fig)

    def plot_timeline(
        self,
        plot: str,
        series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
        xlabel: str,
        ylabel: str,
        title: str,
    ) -> Path:
        """Lines over time: each series is (x values, y values), e.g. seconds and a running count."""
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for label, (xs, ys) in series.items():
            if len(xs):
                ax.plot(xs, ys, label=label, drawstyle="steps-post")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        return self._keep(plot, fig)

    def _keep(self, plot: str, fig: Any) -> Path:
        fig.tight_layout()
        self._plots[plot] = fig
        return self.plot_path(plot)

    def markdown(self, title: bool = True, image_prefix: str = "") -> str:
        """The results as Markdown: a title (for the results file; the docs have their own heading),
        the command, the machine, the sections, the plots (linked with `image_prefix`)."""
        machine = self.data["machine"]
        head = [f"# {self.title}", ""] if title else []
        load_start = ", ".join(map(str, machine["load_average"]))
        load_end = ", ".join(map(str, self.data.get("load_average_at_end", [])))
        head += [
            f"Command: `{self.data['command']}`  ",
            f"Run: {self.data['started_at']} to {self.data.get('finished_at', '?')}; {machine['cores']} "
            f"cores ({machine['cpu'] or 'unknown CPU'}); load average {load_start} at the start, "
            f"{load_end} at the end.",
        ]
        if machine.get("busy_processes"):
            head.append(f"Other busy processes at the start: {', '.join(machine['busy_processes'])}.")
        plots = [f"![{self.name} {plot}]({image_prefix}{self.plot_path(plot).name})" for plot in self._plots]
        return "\n".join(head) + "\n\n" + "\n\n".join(self.sections + plots) + "\n"

    def write(self, doc: bool = False) -> list[Path]:
        """Save JSON, Markdown and plots under bench/results/; with `doc`, also replace this
        benchmark's block in docs/performance.md (between `<!-- results:<name> -->` and
        `<!-- /results:<name> -->`)."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.data["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.data["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        written = [RESULTS / f"{self.name}.json", RESULTS / f"{self.name}.md"]
        _write_atomically(written[0], (json.dumps(self.data, indent=2, default=str) + "\n").encode())
        _write_atomically(written[1], self.markdown().encode())
        for plot, fig in self._plots.items():
            path = self.plot_path(plot)
            tmp = path.with_name(path.name + ".tmp")
            fig.savefig(tmp, dpi=110, format="png")
            os.replace(tmp, path)
            written.append(path)
        if doc and update_doc(self.name, self.markdown(title=False, image_prefix="../bench/results/")):
            written.append(DOC)
        return written


def update_doc(name: str, markdown: str, doc: Path | None = None) -> bool:
    """Replace the block between `<!-- results:<name> -->` and `<!-- /results:<name> -->` in
    docs/performance.md; False (and a note) when the file has no such block."""
    doc = doc or DOC
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    text = doc.read_text() if doc.exists() else ""
    if start not in text or end not in text:
        print(f"{doc.name} has no {start} ... {end} block; only bench/results/ was written.", file=sys.stderr)
        return False
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    _write_atomically(doc, f"{before}{start}\n{markdown.strip()}\n{end}{after}".encode())
    return True


def profiled(name: str, argv: list[str], log_dir: Path) -> list[str]:
    """`argv` under `py-spy record` when BENCH_PROFILE names `name`; else `argv` itself."""
    if name not in PROFILE:
        return argv
    py_spy = Path(sys.executable).parent / "py-spy"
    kind = os.environ.get("BENCH_PROFILE_FORMAT", "flamegraph")  # or raw (collapsed stacks), speedscope
    out = log_dir / f"profile-{name}.{ {'flamegraph': 'svg', 'raw': 'txt'}.get(kind, 'json') }"
    return [str(py_spy), "record", "--rate", "250", "--format", kind, "-o", str(out), "--", *argv]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    return plt


# --- contenders in processes of their own -----------------------------------------------------


class Worker:
    """A contender's process (`python <argv>`), spoken to in JSON lines (see `bench.worker`).

    Use as a context manager: it starts the process, waits for its "ready", and on the way out
    asks it to stop and kills it if it does not.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        ready_timeout: float = 60,
    ) -> None:
        self.name = name
        self.log_dir = log_dir or LOGS
        self.argv = profiled(f"worker-{name}", [sys.executable, *argv], self.log_dir)
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Worker:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.log_dir / f"worker-{self.name}.log").open("w")
        answers, answer_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                self.argv,
                env={**self.env, "BENCH_ANSWER_FD": str(answer_fd)},
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=self._log,
                text=True,
                cwd=REPO,
                pass_fds=(answer_fd,),
                start_new_session=True,  # Ctrl-C reaches the driver, which stops the worker itself
            )
        finally:
            os.close(answer_fd)
        self._answers = os.fdopen(answers, "r")
        self._expect("ready", self.ready_timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        try:
            if process.poll() is None and process.stdin is not None:
                process.stdin.write(json.dumps({"op": "stop"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._answers.close()
        self._log.close()

    def request(self, command: Mapping[str, Any], timeout: float = 180) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._expect(None, timeout)

    def run(self, calls: int, concurrency: int, **extra: Any) -> dict[str, Any]:
        """`calls` timed calls with `concurrency` in flight; the answer of `bench.worker`."""
        return self.request({"op": "run", "calls": calls, "concurrency": concurrency, **extra})

    def _expect(self, key: str | None, timeout: float) -> dict[str, Any]:
        assert self.process is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._answers.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0]:
            tail = (self.log_dir / f"worker-{self.name}.log").read_text(errors="replace")[-3000:]
            state = "timed out" if not line else f"exited ({self.process.poll()})"
            raise RuntimeError(f"worker {self.name} {state}; its log ends:\n{tail}")
        answer: dict[str, Any] = json.loads(line[0])
        if key is not None and key not in answer:
            raise RuntimeError(f"worker {self.name} answered {answer}")
        return answer


# --- a platform of its own --------------------------------------------------------------------


@dataclass
class StaffApi:
    """The staff API as one organization's API token, for setting up a benchmark's data."""

    api: httpx.Client
    organization_id: str
    api_token: str

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 201) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        if response.status_code != expect:
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.api.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()  # type: ignore[no-any-return]

    def unit(self) -> dict[str, Any]:
        """A new property with one unit."""
        prop = self.post(
            "/properties",
            {
                "name": f"Maple Court {uuid.uuid4().hex[:8]}",
                "address_line1": "12 Maple Road",
                "city": "London",
                "postcode": "N1 7AA",
            },
        )
        return self.post(f"/properties/{prop['id']}/units", {"name": "Flat 2"})

    def tenant_with_lease(self, unit: dict[str, Any] | None = None) -> dict[str, Any]:
        """A tenant with a current lease (so eligible for an invitation), on `unit` or a new one."""
        unit = unit or self.unit()
        tenant = self.post(
            "/contacts",
            {
                "type": "tenant",
                "first_name": "Tess",
                "last_name": f"Tenant{uuid.uuid4().hex[:8]}",
                "email": f"tenant.{uuid.uuid4().hex[:12]}@example.com",
            },
        )
        self.post(
            "/leases",
            {"unit_id": unit["id"], "start_date": "2026-01-01", "tenant_contact_ids": [tenant["id"]]},
        )
        return {**tenant, "unit": unit}

    def invite(self, contact_id: str) -> dict[str, Any]:
        return self.post(f"/contacts/{contact_id}/portal-invitations")


@dataclass
class BenchPlatform:
    name: str
    config: StackConfig
    stack: Stack
    management: Management
    vhost: str
    log_dir: Path
    sink: SinkClient

    @property
    def url(self) -> str:
        return self.config.gateway_url

    @property
    def amqp_uri(self) -> str:
        return self.config.amqp_uri

    @property
    def database_url(self) -> str:
        return self.config.database_url

    def wait_for_rpc(self, service: str, timeout: float = 120) -> None:
        """Until a process consumes `service`'s RPC queue (nameko's `rpc-<service>`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._fail_if_exited()
            queues = {q.get("name"): q for q in self.management.queues(self.vhost)}
            queue = queues.get(f"rpc-{service}")
            if queue is not None and int(queue.get("consumers") or 0) > 0:  # type: ignore[call-overload]
                return
            time.sleep(0.5)
        raise RuntimeError(f"{service} did not start consuming RPC within {timeout:g} s")

    def wait_for_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local URL
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer within {timeout:g} s")

    def pid(self, name: str) -> int:
        """The process id of a running platform process (the one py-spy runs, when profiled)."""
        pid = self.stack.running[name].process.pid
        if name in PROFILE:  # the profiled program is py-spy's child
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pid = int(children[0]) if children else pid
        return pid

    def _fail_if_exited(self) -> None:
        dead = self.stack.exited()
        if dead:
            name, code = next(iter(dead.items()))
            raise RuntimeError(f"{name} exited with code {code}:\n{self.stack.log_tail(name)}")

    def new_organization(self) -> StaffApi:
        """An organization made the way the admin command makes it, with its API token."""
        from portal_gateway.admin import create_organization
        from portal_gateway.settings import GatewaySettings

        settings = GatewaySettings(amqp_uri=self.amqp_uri)
        created = asyncio.run(
            create_organization(
                settings,
                f"Bench Lettings {uuid.uuid4().hex[:8]}",
                f"admin.{uuid.uuid4().hex[:10]}@example.com",
                "Ada Admin",
                "bench admin password 42",
            )
        )
        api = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {created.api_token}"},
            timeout=HTTP_TIMEOUT,
        )
        return StaffApi(api, str(created.organization.id), created.api_token)

    def invitation_token(self, email: str, timeout: float = 60) -> str:
        """The token of the newest invitation link emailed to `email` (read from the SMTP sink)."""
        messages = self.sink.wait_for(email, timeout=timeout)
        newest = max(messages, key=lambda m: m["id"])
        link = next(link for link in newest["links"] if "/invite/" in link)
        return str(link.rsplit("/", 1)[1])

    def accept_form(self, token: str) -> tuple[httpx.Client, dict[str, str]]:
        """A fresh browser that opened the invitation link, and the form it would post."""
        browser = httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, follow_redirects=False)
        page = browser.get(f"/invite/{token}")
        match = _CSRF.search(page.text)
        if page.status_code != 200 or match is None:
            raise RuntimeError(f"the invitation page answered {page.status_code}")
        form = {"csrf_token": match.group(1), "token": token, "password": PASSWORD}
        form["password_confirmation"] = PASSWORD
        return browser, form

    def portal_cookies(self, session_id: str) -> str:
        """The Cookie header a signed-in browser sends to the portal: its session and the CSRF
        cookie the first page set (without it every page would mint and set a new one)."""
        with httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, follow_redirects=False) as browser:
            browser.cookies.set("portal_session", session_id)
            page = browser.get("/portal")
            if page.status_code != 200:
                raise RuntimeError(f"GET /portal answered {page.status_code}")
            return f"portal_session={session_id}; portal_csrf={page.cookies['portal_csrf']}"

    def accept(self, token: str) -> str:
        """Accept the invitation as its recipient would; the new portal session id."""
        browser, form = self.accept_form(token)
        try:
            answer = browser.post("/invite/accept", data=form)
        finally:
            browser.close()
        if answer.status_code != 303:
            raise RuntimeError(f"accepting answered {answer.status_code}: {answer.text[:300]}")
        return str(answer.cookies["portal_session"])


def stop_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C does, so every `finally` (and `with`) cleans up."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def bench_platform(
    name: str,
    processes: Sequence[str] | None = None,
    extra: Sequence[ProcessSpec] = (),
    env: Mapping[str, str] | None = None,
    process_env: Mapping[str, Mapping[str, str]] | None = None,
    rpc_services: Sequence[str] = (),
    http_checks: Sequence[str] = (),
    say: Any = print,
) -> Iterator[BenchPlatform]:
    """The platform (or some of its processes) on a database, vhost and ports of its own.

    processes     names from `devtools.stack.platform_processes` (smtp-sink, contacts, properties,
                  invitations, notifications, sender, gateway); None for all of them
    extra         more ProcessSpecs (their own names), e.g. `ProcessSpec("sender-2", [...])`
    env           environment for every process (over the StackConfig's)
    process_env   environment for one process, by name (over `env`)
    rpc_services  more nameko services to wait for (e.g. an `extra` benchmark-only service)
    http_checks   more URLs to wait for (an `extra` web process's health page)
    """
    stop_on_sigterm()
    with isolated(f"bench_{name}", say=say) as servers:
        config = servers.stack_config(
            {"ENVIRONMENT": "test", "EVENT_RETRY_DELAYS": "[0.5, 1.0]", **(env or {})}
        )
        wanted = set(processes) if processes is not None else None
        specs = [spec for spec in platform_processes(config) if wanted is None or spec.name in wanted]
        if wanted is not None and len(specs) != len(wanted):
            unknown = wanted - {spec.name for spec in specs}
            raise ValueError(f"no such platform processes: {', '.join(sorted(unknown))}")
        specs += list(extra)
        log_dir = LOGS / name
        log_dir.mkdir(parents=True, exist_ok=True)
        for old in [*log_dir.glob("*.log"), *log_dir.glob("profile-*")]:
            old.unlink()
        specs = [
            ProcessSpec(
                spec.name,
                profiled(spec.name, spec.argv, log_dir),
                {**spec.env, **(process_env or {}).get(spec.name, {})},
            )
            for spec in specs
        ]
        stack = Stack(config, log_dir, processes=specs)
        bench = BenchPlatform(
            name, config, stack, servers.management, servers.name, log_dir, SinkClient(config.mail_url)
        )
        try:
            say(f"[{name}] database and vhost {servers.name}; migrating ...")
            prepare(servers.database_url, servers.amqp_uri, RETRY_DELAYS, say=lambda _: None)
            say(f"[{name}] starting {', '.join(spec.name for spec in specs)} (logs in {log_dir}) ...")
            stack.start()
            started = {spec.name for spec in specs}
            for service in [s for s in NAMEKO_SERVICES if s in started] + list(rpc_services):
                bench.wait_for_rpc(service)
            if "gateway" in started:
                bench.wait_for_http(f"{config.gateway_url}/healthz")
            if "smtp-sink" in started:
                bench.wait_for_http(f"{config.mail_url}/healthz")
            for url in http_checks:
                bench.wait_for_http(url)
            yield bench
        finally:
            say(f"[{name}] stopping and cleaning up ...")
            profiled_children = []
            for spec in specs:
                if spec.name in PROFILE and spec.name in stack.running:
                    with contextlib.suppress(OSError, ValueError):
                        profiled_children.append(bench.pid(spec.name))
                    # py-spy writes its profile, then stops the process it runs; give it the time.
                    stack.kill(spec.name, signal.SIGINT)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        stack.running[spec.name].process.wait(timeout=30)
            stack.stop()
            for pid in profiled_children:  # never leave one behind, whatever happened to py-spy
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def argument_parser(
    module: str, doc: str | None, name: str, rounds: int | None = None
) -> argparse.ArgumentParser:
    """What every benchmark's command line has: `--name` (its results files' name) and, given
    `rounds`, `--rounds` (measured rounds, after one warm-up)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").split("\n")[0])
    parser.add_argument("--name", default=name, help=f"results file name (default {name})")
    if rounds is not None:
        parser.add_argument(
            "--rounds",
            type=int,
            default=rounds,
            help=f"measured rounds, after one warm-up (default {rounds})",
        )
    return parser


def python_module(name: str, *args: str) -> list[str]:
    """argv of `python -m name args...` with this interpreter."""
    return [sys.executable, "-m", name, *args]
