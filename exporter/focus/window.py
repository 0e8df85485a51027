"""Calendar arithmetic: "today" in a time zone, the date window and period starts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def period_start(day: date, unit: str) -> date:
    """The first day of the ``unit`` period (day, week from Monday, month, quarter)."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day


def next_period(start: date, unit: str) -> date:
    """The first day of the period after the one starting at ``start``."""
    if unit == "week":
        return start + timedelta(days=7)
    if unit in ("month", "quarter"):
        months = 1 if unit == "month" else 3
        total = start.month - 1 + months
        return date(start.year + total // 12, total % 12 + 1, 1)
    return start + timedelta(days=1)


def today(now: float, zone: ZoneInfo) -> date:
    """The calendar date at Unix time ``now`` in ``zone``."""
    return datetime.fromtimestamp(now, zone).date()


def day_start_timestamp(day: date, zone: ZoneInfo) -> float:
    """Unix time at which ``day`` starts in ``zone`` (DST-aware)."""
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


def window(now: float, zone: ZoneInfo, horizon_days: int) -> tuple[date, date]:
    """First and last day (inclusive) of the window: today .. today + horizon - 1."""
    first = today(now, zone)
    return first, first + timedelta(days=horizon_days - 1)


def periods(first: date, last: date, unit: str) -> list[date]:
    """Starts of the ``unit`` periods that overlap ``first`` .. ``last``."""
    starts: list[date] = []
    current = period_start(first, unit)
    while current <= last:
        starts.append(current)
        current = next_period(current, unit)
    return starts
