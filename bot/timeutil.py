"""Timezones, natural-language dates and how times are shown to members."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

from bot.values import UserError
from bot.zones import (
    AUTO_TIMEZONE,
    ZONE_ABBREVIATIONS,
    default_date_order,
    is_fixed_offset,
    resolve_timezone,
    timezone_names,
    zones_for_abbreviation,
)

__all__ = [
    "AUTO_TIMEZONE",
    "DATE_EXAMPLES",
    "DATE_ORDERS",
    "ORDER_NAMES",
    "WEEKDAYS",
    "ZONE_ABBREVIATIONS",
    "DateQuestion",
    "day_label",
    "days_ago",
    "default_date_order",
    "format_when",
    "is_fixed_offset",
    "next_weekly",
    "parse_weekday",
    "parse_when",
    "resolve_timezone",
    "timezone_names",
    "zones_for_abbreviation",
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
_AMPM = r"(?P<ap>am|pm|a\.m\.|p\.m\.)"
# Clock times a member may type: 15:00, 15h, 15h30, 3pm, 3:30 p.m., 15 Uhr, noon.
_CLOCK = re.compile(
    rf"(?<![\w/.:-])(?:at\s+)?(?:(?P<h1>\d{{1,2}})(?::|h)(?P<m1>\d{{2}})(?::\d{{2}})?\s*{_AMPM}?"
    r"|(?P<h2>\d{1,2})\s*(?P<unit>am|pm|a\.m\.|p\.m\.|h|uhr|o'clock)"
    r"|(?P<word>noon|midday|midnight))(?![\w:])",
    re.IGNORECASE,
)
# A bare number where a time belongs ("tomorrow 3", "at 3"): 3am or 3pm? Asked, not guessed.
_BARE_HOUR = re.compile(rf"\b(?:at|{_DAY_WORD})\s+\d{{1,2}}\b(?![:./-]\d)", re.IGNORECASE)
# Shorthand members type, read as words dateparser knows, with a time of day when none is
# typed: "tonight" and "this eve" are 19:00, "eod" is 17:00.
_SHORTHAND = (
    (re.compile(r"\b(?:tmrw|tmrw?|tmw|2moro|2morrow|2mrw|tomoz|tomm?orr?ow)\b"), "tomorrow", None),
    (re.compile(r"\btonight\b|\btonite\b"), "today", (19, 0)),
    (re.compile(r"\b(?:this\s+)?eve(?:ning)?\b"), "", (19, 0)),
    (re.compile(r"\b(?:eod|end\s+of\s+(?:the\s+)?day|cob|close\s+of\s+business)\b"), "", (17, 0)),
    # Words around a date that say nothing about it: "sent yesterday", "met on monday".
    (re.compile(r"^(?:sent|met|held|was|it\s+was|replied|answered)\s+"), "", None),
)
_ISO_T = re.compile(r"\b(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", re.IGNORECASE)
_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\.?")
_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})(?:\2(\d{4}|\d{2}))?\.?")
_WEEKDAY_PHRASE = re.compile(
    r"(?:(?P<which>next|this|coming|last|past|previous)\s+)?(?P<day>[a-z]{3,9})\.?"
)
_TODAYISH = {"today": 0, "tomorrow": 1, "yesterday": -1}
DATE_ORDERS = ("dmy", "mdy", "ymd")
ORDER_NAMES = {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"}


class DateQuestion(UserError):
    """A date that could mean more than one day, or one worth checking before it is saved.

    Not a mistake: ``readings`` are the moments the member may mean, each with a label for
    its button; the command runs again with the one they pick.
    """

    def __init__(self, message: str, readings: tuple[tuple[str, datetime], ...]) -> None:
        super().__init__(message)
        self.readings = readings


def _unreadable(text: str) -> UserError:
    return UserError(f"I couldn't read {text[:40]!r} as a date. Try {DATE_EXAMPLES}.")


def _bad_time(text: str) -> UserError:
    return UserError(
        f"I couldn't read the time in {text!r}. Write it like 3pm, 15:00 or 15h, "
        'e.g. "tomorrow 3pm".'
    )


def _take_clock(text: str, original: str) -> tuple[str, tuple[int, int] | None]:
    """Remove the clock time from ``text``; return the rest and (hour, minute)."""
    found = list(_CLOCK.finditer(text))
    if len(found) > 1:
        raise _bad_time(original)
    if not found:
        if _BARE_HOUR.search(text):
            raise _bad_time(original)
        return text, None
    match = found[0]
    word = match.group("word")
    if word:
        clock = (0, 0) if word == "midnight" else (12, 0)
    else:
        hour = int(match.group("h1") or match.group("h2"))
        minute = int(match.group("m1") or 0)
        marker = (match.group("ap") or match.group("unit") or "").casefold()
        if marker in ("am", "a.m.", "pm", "p.m."):
            if not 1 <= hour <= 12:
                raise _bad_time(original)
            hour = hour % 12 + (12 if marker in _PM else 0)
        if hour > 23 or minute > 59:
            raise _bad_time(original)
        clock = (hour, minute)
    rest = text[: match.start()] + " " + text[match.end() :]
    if _BARE_HOUR.search(rest):
        raise _bad_time(original)
    return rest, clock


def _nearest_year(month: int, day: int, today: date, past: bool, future: bool) -> date | None:
    """The ``day``/``month`` nearest to ``today`` (the latest not after it when ``past``,
    the first not before it when ``future``)."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if past:
        candidates = [c for c in candidates if c <= today]
        return max(candidates, default=None)
    if future:
        return min((c for c in candidates if c >= today), default=None)
    return min(candidates, key=lambda c: abs((c - today).days), default=None)


def day_label(day: date, today: date) -> str:
    """ "Fri 11 Dec", with the year when it isn't this year's."""
    return f"{day:%a} {day.day} {day:%b}" + (f" {day.year}" if day.year != today.year else "")


def _numeric_day(
    text: str, *, order: str, today: date, past: bool, future: bool, ask_swap: bool
) -> tuple[date | None, date | None] | None:
    """A date written in digits: the reading in the member's order (None when that is no
    date), and the other day-month reading when it is a different real date worth asking
    about."""
    match = _YEAR_FIRST.fullmatch(text)
    if match:
        year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
        try:
            return date(year, month, day), None
        except ValueError:
            raise _unreadable(text) from None
    match = _NUMERIC.fullmatch(text)
    if not match:
        return None
    a, b = int(match.group(1)), int(match.group(3))
    typed_year = match.group(4)
    if order == "ymd" and typed_year:
        # 26/12/09 in year-first order.
        year, month, day = 2000 + a, b, int(typed_year)
        try:
            return date(year, month, day), None
        except ValueError:
            raise _unreadable(text) from None
    day, month = (a, b) if order == "dmy" else (b, a)

    def build(d: int, m: int) -> date | None:
        if typed_year:
            y = int(typed_year)
            y = y + 2000 if y < 100 else y
            try:
                return date(y, m, d)
            except ValueError:
                return None
        return _nearest_year(m, d, today, past, future)

    reading = build(day, month)
    other = build(month, day) if day != month else None
    if reading is None and other is None:
        raise UserError(
            f"{text!r} isn't a date I can read in {ORDER_NAMES[order]} order. Write it like "
            f"{_example(order)}, or as 2026-12-09."
        )
    if reading is None:
        return None, other  # only the other way round is a date: asked, not guessed
    return reading, other if ask_swap and other != reading else None


def _example(order: str) -> str:
    return {"dmy": "9/12/2026 or 9.12.2026", "mdy": "12/9/2026", "ymd": "2026/12/09"}[order]


def _weekday_days(text: str, today: date) -> tuple[date, date] | date | None:
    """A weekday, maybe with next/last: the one day meant, or (coming, last week) for a bare
    one that isn't today; None when ``text`` names no weekday."""
    match = _WEEKDAY_PHRASE.fullmatch(text)
    if not match:
        return None
    weekday = parse_weekday(match.group("day"))
    if weekday is None or not WEEKDAYS[weekday].startswith(match.group("day")):
        return None
    ahead = (weekday - today.weekday()) % 7
    coming = today + timedelta(days=ahead or 7)
    last = today - timedelta(days=(7 - ahead) % 7 or 7)
    which = match.group("which")
    if which in ("next", "this", "coming"):
        return today if which == "this" and ahead == 0 else coming
    if which in ("last", "past", "previous"):
        return last
    return today if ahead == 0 else (coming, last)


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    past: bool = False,
    order: str = "mdy",
    ask_weekday: bool = False,
    ask_swap: bool = False,
    future: bool = False,
) -> datetime:
    """Read a natural-language date in the member's timezone; return aware UTC.

    A date without a time of day ("next Tuesday") means 9:00 that day, or the current
    time when the day is today ("today"). ``order`` ("dmy", "mdy" or "ymd") is how the
    member writes dates in digits; ISO dates (2026-12-09) always work. With ``past``,
    dates that could be either ("12/1", "Friday") are read as the most recent one, and a
    moment to come is refused; with ``future`` they are read as the next one ("9/12" in
    December after the 9th is next year's). With ``ask_weekday``, a bare weekday that
    isn't today (the coming one or last week's?), and with ``ask_swap`` digits that read
    as two dates (9/12: 9 Dec or 12 Sep?), raise :class:`DateQuestion` rather than pick
    one; so do digits that are a date only the other way round (13/12 in month/day order).
    """
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > _MAX_DATE_TEXT:
        raise _unreadable(text)
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    today = local_now.date()
    work = _ISO_T.sub(r"\1 ", cleaned.casefold())
    default_clock: tuple[int, int] | None = None
    for pattern, replacement, clock_for in _SHORTHAND:
        if pattern.search(work):
            work = pattern.sub(replacement, work)
            default_clock = clock_for or default_clock
    work, clock = _take_clock(work, cleaned)
    rest = " ".join(re.sub(r"\s*,\s*|\bat\b|\bon\b", " ", work).split())
    clock = clock or default_clock
    readings: list[date] = []
    moment: datetime | None = None  # a moment dateparser read with its time ("in 2 hours")
    two_ways = False  # digits that read as two dates
    if not rest:
        if clock is None:
            raise _unreadable(cleaned)
        readings = [today]
    elif rest in _TODAYISH:
        readings = [today + timedelta(days=_TODAYISH[rest])]
    else:
        numeric = _numeric_day(
            rest, order=order, today=today, past=past, future=future, ask_swap=ask_swap
        )
        days = None if numeric is not None else _weekday_days(rest, today)
        if numeric is not None and numeric[0] is None:
            other = numeric[1]
            assert other is not None
            raise DateQuestion(
                f"{rest!r} isn't a date in {ORDER_NAMES[order]} order, which is how I read "
                f"your dates. Did you mean {day_label(other, today)}? (If you write dates "
                "the other way round, tell me once: /tiara settings date_order=...)",
                ((f"{day_label(other, today)}, yes", _at(other, clock, zone=zone, now=now)),),
            )
        if numeric is not None:
            readings = [d for d in numeric if d is not None]
            two_ways = len(readings) > 1
        elif isinstance(days, tuple):
            coming, last = days
            readings = [last] if past else [coming, last] if ask_weekday else [coming]
        elif days is not None:
            readings = [days]
            # "Friday 4pm" typed on a Friday at noon, for something that happened.
            if (
                past
                and days == today
                and rest.split()[0] not in ("next", "this", "coming")
                and _at(days, clock, zone=zone, now=now) > now
            ):
                readings = [days - timedelta(days=7)]
            # "Monday 3pm" typed on a Monday evening, for something still to come.
            if (
                future
                and days == today
                and rest.split()[0] != "this"
                and _at(days, clock, zone=zone, now=now) <= now
            ):
                readings = [days + timedelta(days=7)]
        else:
            moment = _dateparser(rest, zone=zone, local_now=local_now, past=past, order=order)
            if moment is None:
                raise _unreadable(cleaned)
            if clock is not None or not _RELATIVE_TIME.search(rest):
                readings = [moment.astimezone(zone).date()]
    results = [_at(day, clock, zone=zone, now=now) for day in readings]
    if past and len(results) > 1 and results[0] > now:
        results, readings = results[:1], readings[:1]  # refused below as still to come
    if not readings and moment is not None:
        results = [moment.astimezone(UTC)]
    for result in results:
        if abs(result - now) > timedelta(days=365 * 20):
            raise UserError(
                f"{cleaned!r} is more than 20 years from today; check the year. "
                f"Try {DATE_EXAMPLES}."
            )
    if len(results) > 1:
        first, second = readings
        if two_ways:
            question = (
                f"{cleaned!r} can be read two ways: {day_label(first, today)} in "
                f"{ORDER_NAMES[order]} order, or {day_label(second, today)} the other way "
                "round. Which one? (To stop me asking, say how you write dates: "
                f"/tiara settings date_order={order})"
            )
            labels = (day_label(first, today), day_label(second, today))
        else:
            question = (
                f"Which {first:%A}: the coming one ({day_label(first, today)}) or last "
                f"week's ({day_label(second, today)})?"
            )
            labels = (
                f"{day_label(first, today)}, coming",
                f"{day_label(second, today)}, last week",
            )
        raise DateQuestion(question, tuple(zip(labels, results, strict=True)))
    result = results[0].replace(microsecond=0)
    if past and result > now:
        raise UserError(
            f"{cleaned!r} reads as {format_when(result, tz)}, which hasn't happened yet. "
            'Give the moment it happened, e.g. "yesterday 3pm" or "now".'
        )
    return result


def _at(day: date, clock: tuple[int, int] | None, *, zone: ZoneInfo, now: datetime) -> datetime:
    """``day`` at ``clock`` in ``zone``: 9:00 without a clock, or now when it is today."""
    if clock is None:
        if day == now.astimezone(zone).date():
            return now.astimezone(UTC).replace(microsecond=0)
        clock = (_DEFAULT_MEETING_HOUR, 0)
    return datetime.combine(day, time(*clock), zone).astimezone(UTC)


def _dateparser(
    text: str, *, zone: ZoneInfo, local_now: datetime, past: bool, order: str
) -> datetime | None:
    """Whatever else dateparser reads ("in 2 days", "9 December", "2 hours ago")."""
    parser = DateDataParser(
        languages=["en"],
        settings={
            "TIMEZONE": str(zone.key),
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "past" if past else "current_period",
            "DATE_ORDER": order.upper(),
        },
    )
    try:
        return parser.get_date_data(text).date_obj
    except (ValueError, OverflowError, TypeError, KeyError, IndexError):
        return None


def format_when(when: datetime, tz: str) -> str:
    """Show a moment in the member's timezone, e.g. "Tue 1 Dec 2026, 14:00"."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def days_ago(moment: datetime, now: datetime, tz: str) -> str:
    """How long ago ``moment`` was, by the member's calendar: "today", "yesterday",
    "3 days ago" (a request sent yesterday at 15:00 is "yesterday" at 09:00 today)."""
    zone = ZoneInfo(tz)
    days = (now.astimezone(zone).date() - moment.astimezone(zone).date()).days
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


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
