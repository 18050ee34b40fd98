"""Business days: weekdays that are not a holiday of the workspace.

A workspace's holidays are its country's public holidays (from the ``holidays`` package,
optionally for one subdivision, e.g. a US state) plus the custom dates a coach added.
The 3B7 policy counts business days; every other follow-up that asks a member to write
to someone moves off weekends and holidays to the next business day.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING

import holidays as holiday_data
from babel import Locale

from bot.timeutil import parse_when
from bot.values import UserError

if TYPE_CHECKING:
    from storage.models import Workspace

__all__ = [
    "Calendar",
    "add_business_days",
    "country_name",
    "is_business_day",
    "next_business_day",
    "parse_date_list",
    "parse_holidays",
    "resolve_country",
    "workspace_calendar",
]


def is_business_day(day: date, holidays: Container[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, count: int, holidays: Container[date] = ()) -> date:
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


def next_business_day(day: date, holidays: Container[date] = ()) -> date:
    """``day`` itself when it is a business day, else the first one after it."""
    while not is_business_day(day, holidays):
        day += timedelta(days=1)
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


_LIST_SEPARATORS = re.compile(r"[,;\s]+")
_ORDER_EXAMPLES = {"dmy": "24/12/2026", "mdy": "12/24/2026", "ymd": "2026/12/24"}
_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_DIGITS = re.compile(r"\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?\.?")


def _in_digits(part: str, order: str, today: date) -> date:
    """ "24/12/2026" or "24.12" in the writer's date order (the coming one without a year)."""
    if not _DIGITS.fullmatch(part):
        raise ValueError(part)
    noon = datetime.combine(today, time(12), UTC)
    readings: list[date] = []
    for each in (order, *(o for o in _ORDER_EXAMPLES if o != order)):
        try:
            readings.append(parse_when(part, tz="UTC", now=noon, order=each).date())
        except UserError:
            continue
        if each == order:
            return readings[0]
    # Not a date the writer's way round, and a date only one other way: 24/12 in mdy.
    if len(set(readings)) == 1:
        return readings[0]
    raise ValueError(part)


def parse_date_list(
    text: str, *, example: str, order: str | None = None, today: date | None = None
) -> list[date]:
    """Dates separated by commas, semicolons or spaces ("2026-12-31, 2027-01-01"): ISO,
    or digits in ``order`` ("dmy": 24/12/2026) when the writer's order is known.

    Nothing is returned unless every part is a date: a coach who mistyped one day is told
    which, with ``example`` showing how to write it.
    """
    parts = [part for part in _LIST_SEPARATORS.split(text.strip()) if part]
    if not parts:
        raise UserError(f"Say which days, e.g. {example}", option="date")
    days: list[date] = []
    for part in parts:
        try:
            if order is None or today is None or _ISO.fullmatch(part):
                days.append(date.fromisoformat(part))
            else:
                days.append(_in_digits(part, order, today))
        except (ValueError, UserError):
            shown = part if len(part) <= 20 else part[:20] + "…"
            also = f" (or {_ORDER_EXAMPLES[order]})" if order in _ORDER_EXAMPLES else ""
            raise UserError(
                f"{shown!r} isn't a date I can read; nothing changed. Write each day as "
                f"YYYY-MM-DD{also}, separated by commas, e.g. {example}",
                option="date",
            ) from None
    return sorted(set(days))


@cache
def _country_names() -> dict[str, str]:
    """Every country the holiday data covers, by casefolded English name and by code."""
    names = Locale("en").territories
    known: dict[str, str] = {}
    for code in holiday_data.list_supported_countries(include_aliases=False):
        known[code.casefold()] = code
        if code in names:
            known[names[code].casefold()] = code
    for alias in holiday_data.list_supported_countries():  # three-letter codes (USA, DEU)
        known.setdefault(alias.casefold(), holiday_data.country_holidays(alias).country)
    # Names people type that differ from the CLDR ones.
    for alias, code in (("usa", "US"), ("uk", "GB"), ("england", "GB"), ("america", "US")):
        known.setdefault(alias, code)
    return known


def country_name(code: str) -> str:
    return str(Locale("en").territories.get(code, code))


def resolve_country(country: str, subdivision: str | None = None) -> tuple[str, str | None]:
    """A country (code or English name) and optional subdivision (code or name), checked
    against the holiday data; a friendly error with a suggestion otherwise."""
    typed = country.strip()
    known = _country_names()
    code = known.get(typed.casefold())
    if code is None:
        close = difflib.get_close_matches(typed.casefold(), list(known), n=1, cutoff=0.7)
        guess = known[close[0]] if close else None
        hint = f" Did you mean {country_name(guess)} ({guess})?" if guess else ""
        shown = typed if len(typed) <= 30 else typed[:30] + "…"
        raise UserError(
            f"I have no holiday calendar for {shown!r}.{hint} Use a two-letter country code, "
            "e.g. country=US or country=DE.",
            option="country",
        )
    if not subdivision or not subdivision.strip():
        return code, None
    calendar = _public_holidays(code, None)
    named = _region_names(code)
    codes = {s.casefold(): s for s in calendar.subdivisions}
    aliases = getattr(calendar, "subdivisions_aliases", {})
    codes.update({name.casefold(): s for name, s in aliases.items()})
    sub = codes.get(subdivision.strip().casefold())
    if sub is None:
        listed = ", ".join(
            f"{s} ({named[s]})" if s in named else s for s in sorted(calendar.subdivisions)[:12]
        )
        more = ", and more" if len(calendar.subdivisions) > 12 else ""
        which = (
            f"Its regions are: {listed}{more}."
            if calendar.subdivisions
            else f"{country_name(code)} has no regional calendars; leave subdivision out."
        )
        shown = subdivision.strip()[:20]
        raise UserError(
            f"{shown!r} isn't a region of {country_name(code)} I know. {which}",
            option="subdivision",
        )
    return code, sub


def _region_names(country: str) -> dict[str, str]:
    """A country's regions by code, with the first name the holiday data gives each."""
    aliases = getattr(_public_holidays(country, None), "subdivisions_aliases", {})
    return {code: name for name, code in reversed(list(aliases.items()))}


@cache
def _public_holidays(country: str, subdivision: str | None) -> holiday_data.HolidayBase:
    # Years are filled in on first use of each; the object is kept for the process.
    return holiday_data.country_holidays(country, subdiv=subdivision)


@dataclass(frozen=True, slots=True)
class Calendar:
    """A workspace's days off besides weekends: its custom dates and its country's."""

    custom: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        return day in self.custom or self.name_of(day) is not None

    def name_of(self, day: date) -> str | None:
        """The holiday's name when ``day`` is one ("Christmas Day"), else None."""
        if day in self.custom:
            return "your own day off"
        if self.country is None:
            return None
        try:
            return _public_holidays(self.country, self.subdivision).get(day)
        except NotImplementedError:  # a code the installed data no longer knows
            return None

    @property
    def place(self) -> str:
        """Where the public holidays are from: "United States (New York)"."""
        if self.country is None:
            return ""
        where = country_name(self.country)
        if self.subdivision:
            region = _region_names(self.country).get(self.subdivision, self.subdivision)
            where += f" ({region})"
        return where

    def upcoming(self, start: date, *, days: int = 366) -> list[tuple[date, str]]:
        """The holidays from ``start`` on, for ``days`` days, with their names."""
        end = start + timedelta(days=days)
        found: dict[date, str] = {}
        if self.country is not None:
            public = _public_holidays(self.country, self.subdivision)
            for year in range(start.year, end.year + 1):
                public.get(date(year, 1, 1))  # fills in the year
            found = {day: name for day, name in public.items() if start <= day < end}
        for day in self.custom:
            if start <= day < end:
                found.setdefault(day, "your own day off")
        return sorted(found.items())


def workspace_calendar(ws: Workspace) -> Calendar:
    return Calendar(parse_holidays(ws.holidays), ws.holiday_country, ws.holiday_subdivision)
