"""Timezones, natural-language dates and how times are shown to members."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from bot.values import UserError

__all__ = [
    "AUTO_TIMEZONE",
    "DATE_EXAMPLES",
    "WEEKDAYS",
    "format_when",
    "next_weekly",
    "parse_weekday",
    "parse_when",
    "resolve_timezone",
    "timezone_names",
]

DATE_EXAMPLES = '"now", "yesterday 3pm", "next Tuesday 10am", "in 2 days", "2026-12-01 14:00"'
_MAX_DATE_TEXT = 80
_DEFAULT_MEETING_HOUR = 9
_PM = ("pm", "p.m.")
# Words that show a time of day was meant without a clock time ("now", "in 2 hours").
_RELATIVE_TIME = re.compile(
    r"\b(?:noon|midday|midnight|now|hours?|hrs?|minutes?|mins?|seconds?|secs?)\b|T\d{2}",
    re.IGNORECASE,
)
_DAY_WORD = r"(?:today|tomorrow|yesterday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\w*"
# Clock times a member may type: 14:00, 3pm, 3 p.m., "at 3", "tomorrow 3".
_CLOCK = re.compile(
    r"\b(?P<h1>\d{1,2})[:.h](?P<m1>\d{2})\s*(?P<ap1>am|pm|a\.m\.|p\.m\.)?"
    r"|\b(?P<h2>\d{1,2})\s*(?P<ap2>am|pm|a\.m\.|p\.m\.)"
    rf"|\b(?:at|{_DAY_WORD})\s+(?P<h3>\d{{1,2}})\b(?![:./-]\d)",
    re.IGNORECASE,
)


_NOT_MEMBER_ZONES = ("localtime", "posixrules", "Factory")


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {
        name.casefold(): name
        for name in available_timezones()
        if name not in _NOT_MEMBER_ZONES and not name.startswith(("posix/", "right/"))
    }


AUTO_TIMEZONE = "auto"  # settings timezone=auto: follow the platform profile


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every timezone a member can choose, by canonical IANA name, sorted."""
    return tuple(sorted(_zones_by_folded_name().values()))


def resolve_timezone(name: str) -> str:
    """Return the canonical IANA name for ``name`` (any case), or raise a friendly error."""
    cleaned = name.strip().replace(" ", "_")
    canonical = _zones_by_folded_name().get(cleaned.casefold())
    if canonical is None:
        close = difflib.get_close_matches(cleaned, sorted(_zones_by_folded_name().values()), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        shown = name.strip() if len(name.strip()) <= 40 else name.strip()[:40] + "…"
        raise UserError(
            f"{shown!r} is not a timezone I know.{hint} Use an IANA name such as "
            "America/Chicago, Europe/Berlin or Asia/Kolkata."
        )
    return canonical


def _typed_hours(text: str) -> list[set[int]]:
    """For each clock time in ``text``, the hours (0-23) it can mean."""
    found = []
    for match in _CLOCK.finditer(text):
        hour = int(match.group("h1") or match.group("h2") or match.group("h3"))
        marker = (match.group("ap1") or match.group("ap2") or "").casefold()
        if marker:
            hours = {hour % 12 + (12 if marker in _PM else 0)} if 1 <= hour <= 12 else set()
        else:
            hours = {hour, hour + 12} if hour < 12 else {hour}
        found.append({h for h in hours if h < 24})
    return found


def parse_when(text: str, *, tz: str, now: datetime, past: bool = False) -> datetime:
    """Parse a natural-language date in the member's timezone; return aware UTC.

    A date without a time of day ("next Tuesday") means 9:00 that day, or the current
    time when the day is today ("today"). With ``past``, ambiguous dates ("12/1",
    "Friday") are read as the most recent one, and a moment to come is refused.
    """
    from dateparser.date import DateDataParser

    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > _MAX_DATE_TEXT:
        raise UserError(f"I couldn't read {text[:40]!r} as a date. Try {DATE_EXAMPLES}.")
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    parser = DateDataParser(
        languages=["en"],
        settings={
            "TIMEZONE": tz,
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "past" if past else "current_period",
        },
    )
    try:
        parsed = parser.get_date_data(cleaned).date_obj
    except (ValueError, OverflowError, TypeError, KeyError, IndexError):
        parsed = None
    if parsed is None:
        raise UserError(f"I couldn't read {cleaned!r} as a date. Try {DATE_EXAMPLES}.")
    result = parsed.astimezone(UTC)
    typed_hours = _typed_hours(cleaned)
    if typed_hours:
        # dateparser drops a time it can't place ("tomorrow at 3", "25:00"): insist it's there.
        if not any(result.astimezone(zone).hour in hours for hours in typed_hours):
            raise UserError(
                f"I couldn't read the time in {cleaned!r}. Write it like 3pm or 15:00, "
                'e.g. "tomorrow 3pm".'
            )
    elif not _RELATIVE_TIME.search(cleaned):
        local_day = result.astimezone(zone).date()
        if local_day == local_now.date():
            result = now.astimezone(UTC)
        else:
            result = datetime.combine(local_day, time(_DEFAULT_MEETING_HOUR), zone).astimezone(UTC)
    if abs(result - now) > timedelta(days=365 * 20):
        raise UserError(
            f"{cleaned!r} is more than 20 years from today; check the year. Try {DATE_EXAMPLES}."
        )
    result = result.replace(microsecond=0)
    if past and result > now:
        raise UserError(
            f"{cleaned!r} reads as {format_when(result, tz)}, which hasn't happened yet. "
            'Give the moment it happened, e.g. "yesterday 3pm" or "now".'
        )
    return result


def format_when(when: datetime, tz: str) -> str:
    """Show a moment in the member's timezone, e.g. "Tue 1 Dec 2026, 14:00"."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def next_weekly(after: datetime, tz: str, weekday: int, minutes: int) -> datetime:
    """The first moment after ``after`` that is ``weekday`` (0 = Monday) at ``minutes``
    after midnight in ``tz``, as an aware datetime in ``after``'s timezone."""
    zone = ZoneInfo(tz)
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    hours, mins = divmod(minutes, 60)
    while True:
        slot = datetime(day.year, day.month, day.day, hours, mins, tzinfo=zone)
        if slot > after:
            return slot.astimezone(after.tzinfo)
        day += timedelta(days=7)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday(text: str) -> int | None:
    """0 for "monday", "Mon" or "mon."... 6 for Sunday; None if it names no weekday (at
    least three letters are needed)."""
    word = text.strip().casefold().rstrip(".")
    if len(word) < 3:
        return None
    for index, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return index
    return None
