"""Business days: weekdays that are not one of the workspace's holidays (for the 3B7 policy)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta

__all__ = ["add_business_days", "is_business_day", "parse_holidays"]


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, count: int, holidays: Collection[date] = ()) -> date:
    """The ``count``-th business day after ``start`` (``start`` itself is day 0).

    A request sent on Friday reaches business day 3 on Wednesday; one sent on Saturday
    counts from Monday, so its day 3 is Wednesday as well.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    day = start
    left = count
    while left:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            left -= 1
    return day


def parse_holidays(values: Iterable[str]) -> frozenset[date]:
    """Holidays as stored on a workspace (ISO dates); a value that isn't a date is ignored."""
    days = set()
    for value in values:
        try:
            days.add(date.fromisoformat(value))
        except ValueError:
            continue
    return frozenset(days)
