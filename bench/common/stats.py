"""Statistics over a benchmark's rounds: percentiles, alternating round orders, each contender's
summary, and ratios between contenders, round by round."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


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
