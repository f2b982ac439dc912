"""One benchmark's results, written as JSON, a Markdown table and PNG plots under bench/results/,
and into its block of docs/performance.md."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common.machine import machine
from bench.common.paths import DOC, RESULTS


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
        plt = pyplot()
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
        return self.keep_plot(plot, fig)

    def plot_bars(
        self,
        plot: str,
        groups: Sequence[str],
        series: Mapping[str, Sequence[float]],
        ylabel: str,
        title: str,
    ) -> Path:
        """Grouped bars: one group per x label (e.g. a concurrency), one bar per series."""
        plt = pyplot()
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
        return self.keep_plot(plot, fig)

    def plot_timeline(
        self,
        plot: str,
        series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
        xlabel: str,
        ylabel: str,
        title: str,
    ) -> Path:
        """Lines over time: each series is (x values, y values), e.g. seconds and a running count."""
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for label, (xs, ys) in series.items():
            if len(xs):
                ax.plot(xs, ys, label=label, drawstyle="steps-post")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        return self.keep_plot(plot, fig)

    def keep_plot(self, plot: str, fig: Any) -> Path:
        """Keep a figure drawn elsewhere as this result's `plot`: written and linked with the others."""
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


def pyplot() -> Any:
    """matplotlib's pyplot without a display; imported when a plot is drawn, not with this module."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    return plt
