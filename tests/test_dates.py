"""Dates are read as the member means them: clock times, shorthand, date order, weekdays
that could be either side of today, surprising dates and timezone abbreviations.

START is Wednesday 18 November 2026, 15:00 UTC (16:00 in Berlin, 10:00 in New York).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.core import Bot
from bot.timeutil import DateQuestion, days_ago, default_date_order, parse_when
from bot.values import UserError
from tests.conftest import START, Member, everything

BERLIN = "Europe/Berlin"


def berlin(day: int, month: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


# -- 1. clock times ----------------------------------------------------------------------


@pytest.mark.parametrize("clock", ["15h", "15h30", "15:00", "3pm", "15 Uhr", "3 p.m.", "15:30"])
@pytest.mark.parametrize(
    ("day", "expected_day"), [("yesterday", 17), ("tomorrow", 19), ("", 18), ("2026-11-20", 20)]
)
def test_every_way_of_writing_a_clock_time_means_that_time(
    clock: str, day: str, expected_day: int
) -> None:
    minute = 30 if "30" in clock else 0
    moment = parse_when(f"{day} {clock}", tz=BERLIN, now=START, order="dmy")
    assert moment == berlin(expected_day, 11, 15, minute)


def test_a_weekday_with_a_clock_time_keeps_the_time() -> None:
    # Past-only, as `request` reads it: last Monday at 15:00, not 09:00.
    assert parse_when("monday 15h", tz=BERLIN, now=START, past=True) == berlin(16, 11, 15)
    assert parse_when("next monday 15h30", tz=BERLIN, now=START) == berlin(23, 11, 15, 30)


@pytest.mark.parametrize("text", ["tomorrow 3", "tomorrow 25:00", "15pm", "13 a.m.", "9h75"])
def test_a_time_that_is_no_time_is_refused_with_examples(text: str) -> None:
    with pytest.raises(UserError, match=r"3pm, 15:00 or 15h"):
        parse_when(text, tz=BERLIN, now=START)


async def test_a_request_sent_monday_15h_is_recorded_at_15h(alice: Member) -> None:
    await alice.ok(f"settings timezone={BERLIN}")
    sent = await alice.ok('request "Q Person" via=email when="monday 15h"')
    assert "Sent Mon 16 Nov 2026, 15:00" in sent.text
    logged = await alice.ok('log "Q Person" when="tomorrow 15h"')
    assert "Thu 19 Nov 2026, 15:00" in everything(logged)


# -- 5. shorthand --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tmrw", berlin(19, 11, 9)),
        ("tmr 3pm", berlin(19, 11, 15)),
        ("2moro 10:30", berlin(19, 11, 10, 30)),
        ("tonight", berlin(18, 11, 19)),
        ("tonight 8pm", berlin(18, 11, 20)),
        ("this eve", berlin(18, 11, 19)),
        ("eod", berlin(18, 11, 17)),
        ("tmrw eod", berlin(19, 11, 17)),
    ],
)
def test_shorthand_is_understood(text: str, expected: datetime) -> None:
    assert parse_when(text, tz=BERLIN, now=START) == expected


async def test_shorthand_works_in_a_command(alice: Member) -> None:
    await alice.ok(f"settings timezone={BERLIN}")
    logged = await alice.ok('log "Sam Ortiz" when="tmrw 15h" venue=video')
    assert "Thu 19 Nov 2026, 15:00" in everything(logged)


# -- 7. timezones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("EST", "America/New_York"),
        ("et", "America/New_York"),
        ("CST", "America/Chicago"),
        ("PT", "America/Los_Angeles"),
        ("MST", "America/Denver"),
        ("CET", "Europe/Berlin"),
        ("IST", "Asia/Kolkata"),
        ("JST", "Asia/Tokyo"),
        ("GMT", "Europe/London"),
        ("AEST", "Australia/Sydney"),
    ],
)
async def test_a_zone_abbreviation_is_confirmed_as_a_real_zone(
    bot: Bot, alice: Member, typed: str, zone: str
) -> None:
    asked = await alice(f"settings timezone={typed}")
    assert not asked.error
    assert "usually means" in asked.text and f"({zone})." in asked.text
    assert await bot.timezone_of(alice.ref) == "UTC"  # nothing saved yet
    assert asked.buttons[0].label == f"Use {zone}"
    assert "type it again with your city's zone" in asked.text  # no button to a help page
    saved = await alice.click(f"Use {zone}")
    assert not saved.error
    assert await bot.timezone_of(alice.ref) == zone


@pytest.mark.parametrize("typed", ["Etc/GMT+5", "etc/gmt-3"])
async def test_a_fixed_offset_zone_is_never_chosen_silently(
    bot: Bot, alice: Member, typed: str
) -> None:
    asked = await alice(f"settings timezone={typed}")
    assert not asked.error and "fixed offset" in asked.text
    assert await bot.timezone_of(alice.ref) == "UTC"
    await alice.click(asked.buttons[0].label)
    assert (await bot.timezone_of(alice.ref)).casefold() == typed.casefold()


async def test_a_real_zone_and_utc_are_taken_at_once(bot: Bot, alice: Member) -> None:
    await alice.ok("settings timezone=America/Chicago")
    assert await bot.timezone_of(alice.ref) == "America/Chicago"
    shown = await alice.ok("settings timezone=UTC")
    assert shown.title == "Settings saved"


# -- 2. date order ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "order"),
    [
        ("Europe/Berlin", "dmy"),
        ("Europe/London", "dmy"),
        ("America/New_York", "mdy"),
        ("America/Chicago", "mdy"),
        ("Asia/Tokyo", "ymd"),
        ("Asia/Kolkata", "dmy"),
        ("UTC", "mdy"),
    ],
)
def test_the_date_order_follows_the_members_zone(zone: str, order: str) -> None:
    assert default_date_order(zone) == order


async def test_a_berlin_member_writes_day_first(alice: Member) -> None:
    await alice.ok(f"settings timezone={BERLIN}")
    shown = await alice.ok("settings")
    assert "day/month/year" in everything(shown) and "usual for your timezone" in everything(shown)
    assert "date_order=dmy stops that" in everything(shown)
    # Reading 9/12 two ways is asked while the order only comes from the zone.
    asked = await alice('log "Dana Lee" when=9/12/2026')
    assert not asked.error and [b.label for b in asked.buttons][:2] == ["Wed 9 Dec", "Sat 12 Sep"]
    assert "M1" not in everything(await alice.ok("meetings"))
    logged = await alice.click("Wed 9 Dec", asked)
    assert "Wed 9 Dec 2026, 09:00" in everything(logged)


async def test_a_chosen_date_order_reads_without_asking(alice: Member) -> None:
    await alice.ok(f"settings timezone={BERLIN} date_order=dmy")
    shown = await alice.ok("settings")
    assert "usual for your timezone" not in everything(shown)
    logged = await alice.ok('log "Dana Lee" when=9/12/2026')
    assert "Wed 9 Dec 2026, 09:00" in everything(logged)
    dotted = await alice.ok('log "Ann Wu" when="09.12.2026 15h"')
    assert "Wed 9 Dec 2026, 15:00" in everything(dotted)
    iso = await alice.ok('log "Kim Park" when=2026-12-10')
    assert "Thu 10 Dec 2026, 09:00" in everything(iso)


async def test_a_day_and_month_without_a_year_take_the_nearest_sensible_year(
    alice: Member,
) -> None:
    await alice.ok(f"settings timezone={BERLIN} date_order=dmy")
    coming = await alice.ok('log "Dana Lee" when=13/12')
    assert "Sun 13 Dec 2026" in everything(coming)
    # Past-only: the last 13 December, 340 days ago, which is surprising: confirmed first.
    asked = await alice('request "Ann Wu" via=email when=13/12')
    assert "Sat 13 Dec 2025" in asked.text and "R1" not in everything(asked)
    sent = await alice.click("Yes, Sat 13 Dec 2025")
    assert "Sent Sat 13 Dec 2025, 09:00" in sent.text


async def test_a_date_that_reads_only_the_other_way_round_is_asked(alice: Member) -> None:
    await alice.ok("settings timezone=America/New_York date_order=mdy")
    asked = await alice('log "Dana Lee" when=13/12/2026')
    assert not asked.error and "isn't a date in month/day/year order" in asked.text
    logged = await alice.click("Sun 13 Dec, yes")
    assert "Sun 13 Dec 2026, 09:00" in everything(logged)


async def test_a_wrong_date_order_is_refused_kindly(alice: Member) -> None:
    asked = await alice("settings date_order=dym")
    assert asked.error and "dmy" in asked.text


async def test_date_order_auto_goes_back_to_the_zones(alice: Member) -> None:
    await alice.ok(f"settings timezone={BERLIN} date_order=mdy")
    assert "month/day/year" in everything(await alice.ok("settings"))
    await alice.ok("settings date_order=auto")
    assert "day/month/year" in everything(await alice.ok("settings"))


# -- 3. a bare weekday -------------------------------------------------------------------------


@pytest.fixture
def tuesday(clock: FixedClock) -> datetime:
    # Tuesday 8 December 2026, 12:00 in Berlin.
    clock.set(berlin(8, 12, 12))
    return clock.now()


async def test_a_bare_weekday_in_log_asks_which_one(alice: Member, tuesday: datetime) -> None:
    await alice.ok(f"settings timezone={BERLIN}")
    asked = await alice('log "Dana Lee" when="friday 2pm"')
    assert not asked.error
    labels = [b.label for b in asked.buttons]
    assert labels[:2] == ["Fri 11 Dec, coming", "Fri 4 Dec, last week"]
    assert "M1" not in everything(await alice.ok("meetings"))
    await alice.click("Fri 4 Dec, last week", asked)
    assert "Fri 4 Dec 2026, 14:00" in everything(await alice.ok("show M1"))
    again = await alice('log "Ann Wu" when="friday 2pm"')
    upcoming = await alice.click("Fri 11 Dec, coming", again)
    assert "Upcoming" in (upcoming.title or "") and "Fri 11 Dec 2026, 14:00" in everything(upcoming)


async def test_past_only_commands_take_the_past_weekday(alice: Member, tuesday: datetime) -> None:
    await alice.ok(f"settings timezone={BERLIN}")
    sent = await alice.ok('request "Dana Lee" via=email when="friday 2pm"')
    assert "Sent Fri 4 Dec 2026, 14:00" in sent.text


async def test_a_weekday_that_is_today_or_has_next_is_not_asked(
    alice: Member, tuesday: datetime
) -> None:
    await alice.ok(f"settings timezone={BERLIN}")
    assert "Tue 8 Dec 2026, 17:00" in everything(await alice.ok('log "A B" when="tuesday 5pm"'))
    assert "Fri 11 Dec 2026" in everything(await alice.ok('log "C D" when="next friday"'))
    await alice.ok('log "E F" when="last friday"')
    assert "Fri 4 Dec 2026, 09:00" in everything(await alice.ok("show M3"))


async def test_the_question_offers_the_form_to_change_the_date(
    alice: Member, tuesday: datetime
) -> None:
    asked = await alice('log "Dana Lee" when="friday 2pm" notes="SQL matters"')
    change = [b for b in asked.buttons if b.label == "Change the date"]
    assert change and change[0].opens_form
    assert change[0].args == {"contact": "Dana Lee", "notes": "SQL matters"}


# -- 4. surprising dates -----------------------------------------------------------------------


async def test_a_request_sent_months_ago_is_confirmed_first(bot: Bot, alice: Member) -> None:
    asked = await alice('request "Dana Lee" via=email when=2026-07-01')
    assert not asked.error and "140 days ago" in asked.text
    assert "R1" not in everything(await alice.ok("meetings"))
    sent = await alice.click("Yes, Wed 1 Jul 2026", asked)
    assert "Sent Wed 1 Jul 2026" in sent.text
    # Saving it plans no burst of overdue reminders: at most one is due now.
    async with bot.store.unit() as uow:
        member = await uow.members.find("test", "cohort", "alice")
        assert member is not None
        due = [
            n
            for n in await uow.nudges.pending(member.id, limit=50)
            if n.due_at <= START + timedelta(days=1)
        ]
    assert len(due) <= 1


async def test_a_meeting_more_than_a_year_away_is_confirmed_first(alice: Member) -> None:
    asked = await alice('log "Dana Lee" when=2028-01-05')
    assert not asked.error and "more than a year from now" in asked.text
    assert "M1" not in everything(await alice.ok("meetings"))
    logged = await alice.click("Yes, Wed 5 Jan 2028", asked)
    assert "Wed 5 Jan 2028" in everything(logged)


async def test_recent_dates_are_saved_without_a_question(alice: Member) -> None:
    sent = await alice.ok('request "Dana Lee" via=email when="2 weeks ago"')
    assert not sent.buttons or "Yes," not in sent.buttons[0].label


def test_question_readings_carry_the_clock_time() -> None:
    with pytest.raises(DateQuestion) as asked:
        parse_when("friday 2pm", tz=BERLIN, now=START, ask_weekday=True)
    assert [m for _, m in asked.value.readings] == [berlin(20, 11, 14), berlin(13, 11, 14)]


# -- 6. relative labels ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "now", "label"),
    [
        (berlin(17, 11, 15), berlin(18, 11, 9), "yesterday"),  # 18 hours, but yesterday
        (berlin(18, 11, 1), berlin(18, 11, 23), "today"),
        (berlin(15, 11, 23), berlin(18, 11, 1), "3 days ago"),
    ],
)
def test_how_long_ago_counts_the_members_calendar_days(
    sent: datetime, now: datetime, label: str
) -> None:
    assert days_ago(sent, now, BERLIN) == label


async def test_a_request_sent_yesterday_afternoon_is_not_shown_as_sent_today(
    bot: Bot, clock: FixedClock
) -> None:
    alice = Member(bot, "alice")
    clock.set(START.replace(hour=9))  # Wed 09:00: yesterday 15:00 was 18 hours ago
    await alice.ok('request "Q Person" when="yesterday 3pm"')
    shown = everything(await alice.ok("meetings"))
    assert "sent yesterday" in shown and "sent today" not in shown


# -- 8. what the walk of issue 19 found ------------------------------------------------------


def test_filler_words_before_a_date_are_ignored() -> None:
    for typed in ("sent yesterday 3pm", "met yesterday 3pm", "was yesterday 3pm"):
        assert parse_when(typed, tz="UTC", now=START, past=True) == datetime(
            2026, 11, 17, 15, tzinfo=UTC
        )


async def test_check_back_reads_a_weekday_forward_without_asking(alice: Member) -> None:
    """START is a Wednesday, 15:00: "wednesday 10am" is next week's, "friday" this one's."""
    await alice.ok('request "Dana Lee" via=email when="2 days ago"')
    answer = await alice.ok('reply "Dana Lee" outcome=later back="wednesday 10am"')
    assert "Wed 25 Nov 2026, 10:00" in answer.text and not answer.buttons
    await alice.ok('request "Sam Ortiz" via=email when="2 days ago"')
    friday = await alice.ok('reply "Sam Ortiz" outcome=later back="friday 2pm"')
    assert "Fri 20 Nov 2026, 14:00" in friday.text


async def test_an_on_off_setting_suggests_what_was_meant(alice: Member) -> None:
    typo = await alice("settings nudges=of")
    assert typo.error and "Did you mean nudges=off?" in typo.text
    assert "on or off" in (await alice("settings nudges=maybe")).text


async def test_a_date_question_gives_an_example_from_today(alice: Member) -> None:
    """The example follows the (moved) clock and the option: a past one for a past date."""
    sent = await alice('request "Dana Lee" when="2020-01-01"')
    assert 'when="2026-11-17 15:00"' in sent.text  # START is 18 Nov: yesterday
    meeting = await alice('log "Dana Lee" when="2020-01-01"')
    assert 'when="2026-11-19 15:00"' in meeting.text  # either way: tomorrow


def test_a_date_to_come_in_digits_is_the_next_one() -> None:
    """A check-back typed as 9/12 on 10 Dec is next year's 9 Dec, never one gone by."""
    thursday = datetime(2026, 12, 10, 15, tzinfo=UTC)
    read = parse_when("9/12", tz="UTC", now=thursday, order="dmy", future=True)
    assert read == datetime(2027, 12, 9, 9, tzinfo=UTC)
    nearest = parse_when("9/12", tz="UTC", now=thursday, order="dmy")
    assert nearest.date().isoformat() == "2026-12-09"  # either way: the nearest
