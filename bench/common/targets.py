"""Targets: what a benchmark promises, and whether a run met it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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
