"""Charts drawn on the server as inline SVG (no script): the geometry of a pie chart and a bar chart.
The templates draw them and repeat the figures in a table, for screen readers and for anyone who
prefers numbers to shapes."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Distinct to the eye and each at least 4.5:1 against white, so a slice's text label can use it.
PALETTE = ["#1f5fbf", "#7a3db8", "#9a5b00", "#1e7a46", "#b3261e", "#0e6e7a"]


@dataclass(frozen=True)
class Slice:
    label: str
    count: int
    percent: int
    colour: str
    # The slice's outline (empty when it is nothing); a whole circle when it is everything.
    path: str
    whole: bool


@dataclass(frozen=True)
class Bar:
    label: str
    long_label: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    baseline: float
    top: int  # the count the chart's height stands for
    total: int


def _point(cx: float, cy: float, r: float, turn: float) -> tuple[float, float]:
    """The point a fraction `turn` of a full turn clockwise from twelve o'clock."""
    angle = 2 * math.pi * turn - math.pi / 2
    return round(cx + r * math.cos(angle), 2), round(cy + r * math.sin(angle), 2)


def pie(items: list[tuple[str, int]], cx: float = 100, cy: float = 100, r: float = 90) -> list[Slice]:
    """One slice per item, clockwise from twelve o'clock, in the items' order."""
    total = sum(count for _, count in items)
    slices = []
    start = 0.0
    for i, (label, count) in enumerate(items):
        colour = PALETTE[i % len(PALETTE)]
        share = count / total if total else 0.0
        percent = round(100 * share)
        if count == 0:
            slices.append(Slice(label, count, percent, colour, "", False))
            continue
        if count == total:
            slices.append(Slice(label, count, percent, colour, "", True))
            continue
        x1, y1 = _point(cx, cy, r, start)
        x2, y2 = _point(cx, cy, r, start + share)
        large = 1 if share > 0.5 else 0
        path = f"M {cx} {cy} L {x1} {y1} A {r} {r} 0 {large} 1 {x2} {y2} Z"
        slices.append(Slice(label, count, percent, colour, path, False))
        start += share
    return slices


def nice_top(largest: int) -> int:
    """A round number at least `largest` for the top of the scale: 1, 2, 5, 10, 20, 50, ..."""
    if largest <= 1:
        return 1
    magnitude = 10 ** (len(str(largest)) - 1)
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= largest)


def bars(
    items: list[tuple[str, str, int]], width: int = 360, height: int = 200, bottom: int = 24, above: int = 18
) -> BarChart:
    """One bar per (short label, long label, count), left to right, scaled to the largest count
    (rounded up), leaving `bottom` for the labels and `above` for each bar's count."""
    top = nice_top(max((count for _, _, count in items), default=0))
    baseline = height - bottom
    usable = baseline - above
    slot = width / max(len(items), 1)
    bar_width = round(slot * 0.6, 2)
    drawn = []
    for i, (label, long_label, count) in enumerate(items):
        bar_height = round(usable * count / top, 2) if top else 0.0
        x = round(i * slot + (slot - bar_width) / 2, 2)
        drawn.append(Bar(label, long_label, count, x, round(baseline - bar_height, 2), bar_width, bar_height))
    total = sum(count for _, _, count in items)
    return BarChart(drawn, width, height, baseline, top, total)
