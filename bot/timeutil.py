"""Timezones, natural-language dates and how times are shown to members."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from bot.values import UserError

__all__ = [
    "DATE_EXAMPLES",
    "format_day",
    "format_when",
    "parse_when",
    "resolve_timezone",
]

DATE_EXAMPLES = '"now", "yesterday 3pm", "next Tuesday 10am", "in 2 days", "2026-12-01 14:00"'
_MAX_DATE_TEXT = 80
_DEFAULT_MEETING_HOUR = 9
# Words that show a time of day was given. dateparser's own "period" flag can't be trusted:
# it reports a bare day whenever the typed time equals the current time.
_TIME_GIVEN = re.compile(
    r"\d{1,2}[:.h]\d{2}|\d\s*(?:am|pm|a\.m\.|p\.m\.)|\b(?:noon|midday|midnight|now|o'clock"
    r"|hours?|hrs?|minutes?|mins?|seconds?|secs?)\b|T\d{2}",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def resolve_timezone(name: str) -> str:
    """Return the canonical IANA name for ``name`` (any case), or raise a friendly error."""
    cleaned = name.strip().replace(" ", "_")
    canonical = _zones_by_folded_name().get(cleaned.casefold())
    if canonical is None:
        import difflib

        close = difflib.get_close_matches(cleaned, sorted(_zones_by_folded_name().values()), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UserError(
            f"{name.strip()!r} is not a timezone I know.{hint} Use an IANA name such as "
            "America/Chicago, Europe/Berlin or Asia/Kolkata."
        )
    return canonical


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_when(text: str, *, tz: str, now: datetime) -> datetime:
    """Parse a natural-language date in the member's timezone; return aware UTC.

    A date without a time of day ("next Tuesday") means 9:00 that day, or the current
    time when the day is today ("today").
    """
    from dateparser.date import DateDataParser

    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > _MAX_DATE_TEXT:
        raise UserError(f"I couldn't read {text[:40]!r} as a date. Try {DATE_EXAMPLES}.")
    local_now = now.astimezone(ZoneInfo(tz))
    parser = DateDataParser(
        languages=["en"],
        settings={
            "TIMEZONE": tz,
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
        },
    )
    try:
        data = parser.get_date_data(cleaned)
    except (ValueError, OverflowError, TypeError, KeyError, IndexError):
        data = None
    parsed = data.date_obj if data is not None else None
    if parsed is None:
        raise UserError(f"I couldn't read {cleaned!r} as a date. Try {DATE_EXAMPLES}.")
    result = parsed.astimezone(UTC)
    if not _TIME_GIVEN.search(cleaned):
        local_day = result.astimezone(ZoneInfo(tz)).date()
        if local_day == local_now.date():
            result = now.astimezone(UTC)
        else:
            at_nine = datetime.combine(local_day, time(_DEFAULT_MEETING_HOUR), ZoneInfo(tz))
            result = at_nine.astimezone(UTC)
    if abs(result - now) > timedelta(days=365 * 20):
        raise UserError(
            f"{cleaned!r} is more than 20 years from today; check the year. Try {DATE_EXAMPLES}."
        )
    return result.replace(microsecond=0)


def format_when(when: datetime, tz: str) -> str:
    """Show a moment in the member's timezone, e.g. "Tue 1 Dec 2026, 14:00"."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def format_day(when: datetime, tz: str) -> str:
    """Show the day of a moment in the member's timezone, e.g. "1 Dec 2026"."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%b %Y}"
