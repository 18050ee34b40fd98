"""Over generated date text in every date order: a reading is the intended date or a clear
question (buttons, or an error saying what to type), never silently another date."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timeutil import DATE_ORDERS, WEEKDAYS, DateQuestion, parse_when
from bot.values import UserError
from tests.conftest import START

EXAMPLES = int(os.environ.get("TIARA_PROPERTY_EXAMPLES", "50"))
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Pacific/Auckland")


def _local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def _render(day: date, order: str, sep: str, *, year: bool, pad: bool) -> str:
    d = f"{day.day:02d}" if pad else str(day.day)
    m = f"{day.month:02d}" if pad else str(day.month)
    if order == "dmy":
        parts = [d, m] + ([str(day.year)] if year else [])
    elif order == "mdy":
        parts = [m, d] + ([str(day.year)] if year else [])
    else:
        parts = ([str(day.year)] if year else []) + [m, d]
    return sep.join(parts)


def _check(text: str, intended: date, *, tz: str, order: str, chosen: bool, past: bool) -> None:
    now = START
    try:
        moment = parse_when(text, tz=tz, now=now, past=past, order=order, ask_swap=not chosen)
    except DateQuestion as question:
        days = [_local_day(m, tz) for _, m in question.readings]
        assert intended in days, f"{text!r}: asked about {days}, not {intended}"
        assert question.message.endswith(")") or "?" in question.message
        return
    except UserError as err:
        # Only a date still to come, for something that happened, is refused, saying why.
        assert past and intended >= _local_day(now, tz), f"{text!r} refused: {err.message}"
        assert "hasn't happened yet" in err.message and "e.g." in err.message
        return
    assert _local_day(moment, tz) == intended, f"{text!r} in {order} read as {moment}"


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    offset=st.integers(min_value=-700, max_value=700),
    order=st.sampled_from(DATE_ORDERS),
    sep=st.sampled_from("/.-"),
    pad=st.booleans(),
    chosen=st.booleans(),
    past=st.booleans(),
    tz=st.sampled_from(ZONES),
)
def test_dates_with_a_year_read_as_intended_or_ask(
    offset: int, order: str, sep: str, pad: bool, chosen: bool, past: bool, tz: str
) -> None:
    intended = _local_day(START, tz) + timedelta(days=offset)
    text = _render(intended, order, sep, year=True, pad=pad)
    _check(text, intended, tz=tz, order=order, chosen=chosen, past=past)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    offset=st.integers(min_value=-150, max_value=150),
    order=st.sampled_from(DATE_ORDERS),
    sep=st.sampled_from("/."),
    chosen=st.booleans(),
    tz=st.sampled_from(ZONES),
)
def test_dates_without_a_year_take_the_nearest_one(
    offset: int, order: str, sep: str, chosen: bool, tz: str
) -> None:
    intended = _local_day(START, tz) + timedelta(days=offset)
    text = _render(intended, order, sep, year=False, pad=False)
    _check(text, intended, tz=tz, order=order, chosen=chosen, past=False)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    back=st.integers(min_value=0, max_value=330),
    order=st.sampled_from(DATE_ORDERS),
    chosen=st.booleans(),
    tz=st.sampled_from(ZONES),
)
def test_past_only_dates_without_a_year_are_the_last_one(
    back: int, order: str, chosen: bool, tz: str
) -> None:
    intended = _local_day(START, tz) - timedelta(days=back)
    text = _render(intended, order, "/", year=False, pad=False)
    _check(text, intended, tz=tz, order=order, chosen=chosen, past=True)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    weekday=st.integers(min_value=0, max_value=6),
    which=st.sampled_from(["", "next ", "last "]),
    clock=st.sampled_from(["", " 3pm", " 15h", " 15:30", " 9am"]),
    short=st.booleans(),
    past=st.booleans(),
    ask=st.booleans(),
    tz=st.sampled_from(ZONES),
)
def test_weekdays_land_on_that_weekday_or_ask(
    weekday: int, which: str, clock: str, short: bool, past: bool, ask: bool, tz: str
) -> None:
    name = WEEKDAYS[weekday][:3] if short else WEEKDAYS[weekday]
    text = f"{which}{name}{clock}"
    today = _local_day(START, tz)
    try:
        moment = parse_when(text, tz=tz, now=START, past=past, ask_weekday=ask)
    except DateQuestion as question:
        assert ask and not past and not which
        days = [_local_day(m, tz) for _, m in question.readings]
        assert [d.weekday() for d in days] == [weekday, weekday]
        assert days[0] > today > days[1]
        return
    except UserError as err:
        assert past and "hasn't happened" in err.message
        return
    day = _local_day(moment, tz)
    assert day.weekday() == weekday
    assert abs((day - today).days) <= 7
    if which == "last " or past:
        assert day <= today
    if which == "next ":
        assert day > today
    if clock:
        hour = {" 3pm": 15, " 15h": 15, " 15:30": 15, " 9am": 9}[clock]
        assert moment.astimezone(ZoneInfo(tz)).hour == hour


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    days=st.integers(min_value=1, max_value=60),
    phrase=st.sampled_from(["in {n} days", "{n} days ago"]),
    tz=st.sampled_from(ZONES),
)
def test_relative_phrases_count_days(days: int, phrase: str, tz: str) -> None:
    sign = -1 if "ago" in phrase else 1
    moment = parse_when(phrase.format(n=days), tz=tz, now=START)
    assert _local_day(moment, tz) == _local_day(START, tz) + timedelta(days=sign * days)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    word=st.sampled_from(["tomorrow", "tmrw", "tmr", "2moro", "yesterday", "today"]),
    tz=st.sampled_from(ZONES),
)
def test_day_words_and_shorthand(word: str, tz: str) -> None:
    shift = {"yesterday": -1, "today": 0}.get(word, 1)
    moment = parse_when(word, tz=tz, now=START)
    assert _local_day(moment, tz) == _local_day(START, tz) + timedelta(days=shift)
