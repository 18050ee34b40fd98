"""The shared text parser and date reading, as a member typing commands meets them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.bootstrap import build_registry
from bot.parsing import parse_command_text
from bot.timeutil import parse_when
from bot.values import UserError

registry = build_registry()

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday


def parse(text: str) -> tuple[str, dict[str, str]]:
    parsed = parse_command_text(registry, text)
    return parsed.command.name, parsed.args


def test_unquoted_values_run_to_the_next_option() -> None:
    assert parse("log contact=Dana Lee org=Acme Health notes=SQL matters") == (
        "log",
        {"contact": "Dana Lee", "org": "Acme Health", "notes": "SQL matters"},
    )


@pytest.mark.parametrize("quote", ['"{}"', "“{}”", "'{}'", "‘{}’"])
def test_straight_and_curly_quotes_group_words(quote: str) -> None:
    _, args = parse(f"log contact={quote.format('Dana Lee')} notes={quote.format('a=b, c')}")
    assert args == {"contact": "Dana Lee", "notes": "a=b, c"}


def test_values_keep_exactly_what_was_typed() -> None:
    notes = "Line one\n  *bold* <!channel> @here & “quotes” 日本語 🎉"
    _, args = parse(f"log contact=Dana notes={notes}")
    assert args["notes"] == notes


def test_apostrophes_inside_words_are_text() -> None:
    _, args = parse("log contact=Dana O'Neil notes=it's Dana's team")
    assert args == {"contact": "Dana O'Neil", "notes": "it's Dana's team"}


def test_positional_shorthand() -> None:
    assert parse("prompts trends for=Dana Lee") == (
        "prompts",
        {"category": "trends", "for": "Dana Lee"},
    )
    assert parse("contact Dana Lee") == ("contact", {"name": "Dana Lee"})
    assert parse("show M3") == ("show", {"id": "M3"})


def test_slash_prefix_case_and_aliases() -> None:
    assert parse("/tiara LOG contact=Dana")[0] == "log"
    assert parse("tiara meetings")[0] == "meetings"
    assert parse("/meetings")[0] == "meetings"
    assert parse("list")[0] == "meetings"
    assert parse("")[0] == "help"


def test_option_names_are_case_insensitive() -> None:
    assert parse("log Contact=Dana")[1] == {"contact": "Dana"}


def test_unknown_command_suggests_the_closest() -> None:
    with pytest.raises(UserError, match="Did you mean `meetings`"):
        parse("meetngs")


def test_unknown_option_suggests_and_explains_quoting() -> None:
    with pytest.raises(UserError) as err:
        parse("log contcat=Dana")
    assert "Did you mean contact=?" in err.value.message
    assert "in quotes" in err.value.message


def test_unclosed_quote_says_how_to_fix() -> None:
    with pytest.raises(UserError, match="never closed"):
        parse('log contact="Dana Lee')


def test_repeated_option_is_refused() -> None:
    with pytest.raises(UserError, match="twice"):
        parse("log contact=A contact=B")


def test_words_where_no_positional_is_taken() -> None:
    with pytest.raises(UserError, match="key=value"):
        parse("meetings please")


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("yesterday 3pm", "America/Chicago", datetime(2026, 11, 17, 21, 0, tzinfo=UTC)),
        ("2026-12-01 14:00", "Europe/Berlin", datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),
        ("next Tuesday 10am", "UTC", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        # A day without a time means 9:00 local that day.
        ("next Tuesday", "Asia/Kolkata", datetime(2026, 11, 24, 3, 30, tzinfo=UTC)),
        ("now", "America/Chicago", NOW),
        ("in 2 hours", "UTC", datetime(2026, 11, 18, 17, 0, tzinfo=UTC)),
    ],
)
def test_dates_are_read_in_the_members_timezone(text: str, tz: str, expected: datetime) -> None:
    assert parse_when(text, tz=tz, now=NOW) == expected


def test_dst_is_respected() -> None:
    # 1 July in Chicago is CDT (UTC-5), not CST (UTC-6).
    assert parse_when("2026-07-01 09:00", tz="America/Chicago", now=NOW) == datetime(
        2026, 7, 1, 14, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["blorp", "the 45th of Smarch", "x" * 500, "99999-01-01"])
def test_unreadable_dates_list_the_forms_that_work(text: str) -> None:
    with pytest.raises(UserError) as err:
        parse_when(text, tz="UTC", now=NOW)
    assert "yesterday 3pm" in err.value.message


@pytest.mark.parametrize("hour", [0, 9, 15, 23])
def test_a_typed_time_wins_whatever_the_clock_says(hour: int) -> None:
    # Regression: dateparser reports "a bare day" when the typed time equals the current time.
    now = NOW.replace(hour=hour)
    assert parse_when("yesterday 3pm", tz="UTC", now=now) == datetime(
        2026, 11, 17, 15, 0, tzinfo=UTC
    )
    assert parse_when("tomorrow", tz="UTC", now=now) == datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    assert parse_when("today", tz="UTC", now=now) == now
