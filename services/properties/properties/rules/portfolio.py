"""Pure rules of customers' dashboards (`portfolio.py`): the months their charts show. No I/O, no
framework."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

DASHBOARD_MONTHS = 12


def last_months(today: date, count: int = DASHBOARD_MONTHS) -> list[date]:
    """The first day of each of the `count` months up to today's, oldest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_series(counts: Mapping[date, int], today: date) -> list[tuple[date, int]]:
    """Each of the last 12 months (first days, oldest first) with its count from `counts`, keyed by
    the months' first days; a month missing from `counts` had none, and other months are left out."""
    return [(month, counts.get(month, 0)) for month in last_months(today)]
