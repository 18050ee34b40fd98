"""When reminders reach a member, in their local time (SQLite and PostgreSQL).

Every test drives the bot the way a workspace does: members type commands, the clock
moves, and the scheduler ticks. What counts is what lands in the member's DMs and when,
read on the member's own wall clock. Expected instants are worked out by hand in the
comments (UTC offsets: New York EST -5 / EDT -4, Los Angeles PST -8, Kolkata +5:30,
Berlin CET +1, Chicago CST -6 / CDT -5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from adapters.bootstrap import build_app
from bot.businessdays import add_business_days, is_business_day, parse_holidays
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import RecordingNotifier
from bot.nudges.deliver import TickReport
from bot.nudges.rhythm import Rhythm
from bot.values import Message, UserRef
from storage.models import Workspace
from storage.store import Store
from tests.conftest import Member, everything

NEW_YORK = "America/New_York"
LOS_ANGELES = "America/Los_Angeles"
KOLKATA = "Asia/Kolkata"
BERLIN = "Europe/Berlin"
CHICAGO = "America/Chicago"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_text(moment: datetime, tz: str) -> str:
    """A moment on the member's wall clock, like "Sun 08 Mar 09:00"."""
    return f"{moment.astimezone(ZoneInfo(tz)):%a %d %b %H:%M}"


@dataclass(frozen=True)
class Arrival:
    """One DM and the instant the tick that sent it ran."""

    at: datetime
    user: str
    message: Message


@dataclass
class Cohort:
    """A bot with a recording notifier, the clock it runs on, and its members."""

    bot: Bot
    notifier: RecordingNotifier
    clock: FixedClock
    report: TickReport | None = None  # what the latest tick did

    def member(self, user: str) -> Member:
        return Member(self.bot, user)

    def _dms_since(self, start: int) -> list[Arrival]:
        now = self.clock.now()
        return [
            Arrival(now, sent.to.user, sent.message)
            for sent in self.notifier.sent[start:]
            if isinstance(sent.to, UserRef)
        ]

    async def tick_at(self, when: datetime) -> list[Arrival]:
        """Move the clock to ``when``, tick once, and return the DMs that tick sent."""
        self.clock.set(when)
        start = len(self.notifier.sent)
        self.report = await self.bot.tick()
        return self._dms_since(start)

    async def run_until(self, end: datetime) -> list[Arrival]:
        """Let time pass until ``end`` with a scheduler that never misses a due moment.

        Ticks now, then jumps from one due nudge to the next (as a tick every few seconds
        would see them), and finally ticks at ``end``.
        """
        arrivals = await self.tick_at(self.clock.now())
        while (due := await self.bot.ticker.next_due(end)) is not None:
            arrivals += await self.tick_at(due)
        arrivals += await self.tick_at(end)
        return arrivals

    async def set_policy(self, policy: str, holidays: Sequence[str] = ()) -> None:
        """What a coach will set with the CLI: the workspace's follow-up policy."""
        async with self.bot.store.transaction() as session:
            await session.execute(
                update(Workspace).values(followup_policy=policy, holidays=list(holidays))
            )


def timeline(arrivals: Sequence[Arrival], user: str, tz: str) -> list[tuple[str, str]]:
    """(local time, title) of each DM ``user`` got, in order."""
    return [(local_text(a.at, tz), a.message.title or "") for a in arrivals if a.user == user]


@pytest.fixture
async def cohort(empty_store: Store, clock: FixedClock) -> Cohort:
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    return Cohort(app.bot, notifier, clock)


# -- 1. daylight saving time in New York ---------------------------------------------


@pytest.mark.parametrize(
    ("now", "meeting", "not_yet", "prep_at", "expected"),
    [
        pytest.param(
            utc(2026, 3, 4, 15),  # Wed 4 Mar, 10:00 EST
            "2026-03-09 10:00",  # Mon 9 Mar 10:00 EDT = 14:00 UTC, the day after spring-forward
            utc(2026, 3, 8, 12, 59),  # Sun 8:59 EDT
            utc(2026, 3, 8, 13),  # Sun 8 Mar 9:00 EDT
            [
                ("Sun 08 Mar 09:00", "Prepare for Dana"),
                ("Mon 09 Mar 11:00", "How did it go with Dana?"),
                # 21 h after 10:00 is 7:00, in the quiet hours: moved to 8:00
                ("Tue 10 Mar 08:00", "Last call: thank Dana by Tue 10 Mar 2026, 10:00"),
            ],
            id="spring-forward",
        ),
        pytest.param(
            utc(2026, 10, 28, 15),  # Wed 28 Oct, 11:00 EDT
            "2026-11-02 10:00",  # Mon 2 Nov 10:00 EST = 15:00 UTC, the day after fall-back
            utc(2026, 11, 1, 13, 59),  # Sun 8:59 EST (9:00 on the old offset would be 13:00)
            utc(2026, 11, 1, 14),  # Sun 1 Nov 9:00 EST
            [
                ("Sun 01 Nov 09:00", "Prepare for Dana"),
                ("Mon 02 Nov 11:00", "How did it go with Dana?"),
                ("Tue 03 Nov 08:00", "Last call: thank Dana by Tue 3 Nov 2026, 10:00"),
            ],
            id="fall-back",
        ),
    ],
)
async def test_prep_arrives_the_day_before_at_nine_local_across_dst(
    cohort: Cohort,
    now: datetime,
    meeting: str,
    not_yet: datetime,
    prep_at: datetime,
    expected: list[tuple[str, str]],
) -> None:
    """A meeting the day after a DST change gets its prep DM at 9:00 on the new clock."""
    cohort.clock.set(now)
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={NEW_YORK}")
    logged = await alice.ok(f'log contact=Dana org=Acme when="{meeting}" venue=video')
    assert logged.title is not None and logged.title.endswith(", 10:00")

    assert await cohort.tick_at(not_yet - timedelta(hours=1)) == []
    assert await cohort.tick_at(not_yet) == []
    (prep,) = await cohort.tick_at(prep_at)
    assert prep.message.title == "Prepare for Dana"
    assert "You meet Dana (Acme)" in prep.message.text and ", 10:00 (video)." in prep.message.text
    assert "Full checklist" in [b.label for b in prep.message.buttons]

    later = await cohort.run_until(prep_at + timedelta(days=10))
    got = timeline(later, "alice", NEW_YORK)
    assert [(local_text(prep_at, NEW_YORK), "Prepare for Dana"), *got] == expected


@pytest.mark.parametrize(
    ("sent", "eight_local", "nine_local", "expected"),
    [
        pytest.param(
            # Sat 7 Mar 23:30 EST = Sun 8 Mar 04:30 UTC: already Sunday in UTC.
            utc(2026, 3, 8, 4, 30),
            # Two weeks on is Sat 21 Mar: follow-ups move off weekends, to Monday.
            utc(2026, 3, 23, 12),  # Mon 23 Mar 8:00 EDT
            utc(2026, 3, 23, 13),  # Mon 23 Mar 9:00 EDT
            [
                ("Mon 23 Mar 09:00", "Follow up with Dana"),
                ("Mon 06 Apr 09:00", "Last follow-up with Dana"),
                ("Mon 20 Apr 09:00", "Time to move on from Dana"),
            ],
            id="spring-forward",
        ),
        pytest.param(
            # Sat 31 Oct 23:30 EDT = Sun 1 Nov 03:30 UTC, hours before fall-back.
            utc(2026, 11, 1, 3, 30),
            utc(2026, 11, 16, 13),  # Mon 16 Nov 8:00 EST
            utc(2026, 11, 16, 14),  # Mon 16 Nov 9:00 EST
            [
                ("Mon 16 Nov 09:00", "Follow up with Dana"),
                ("Mon 30 Nov 09:00", "Last follow-up with Dana"),
                ("Mon 14 Dec 09:00", "Time to move on from Dana"),
            ],
            id="fall-back",
        ),
    ],
)
async def test_follow_up_after_dst_change_comes_at_nine_local(
    cohort: Cohort,
    sent: datetime,
    eight_local: datetime,
    nine_local: datetime,
    expected: list[tuple[str, str]],
) -> None:
    """A request sent late on the eve of a DST change is followed up at 9:00, not 8 or 10."""
    cohort.clock.set(sent)
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={NEW_YORK}")
    await alice.ok("request contact=Dana via=email")

    assert await cohort.tick_at(eight_local) == []
    assert await cohort.tick_at(nine_local - timedelta(minutes=1)) == []
    (follow_up,) = await cohort.tick_at(nine_local)
    assert follow_up.message.title == "Follow up with Dana"
    assert "via email, with no reply yet" in follow_up.message.text

    rest = await cohort.run_until(sent + timedelta(days=90))
    got = timeline(rest, "alice", NEW_YORK)
    assert [(local_text(nine_local, NEW_YORK), "Follow up with Dana"), *got] == expected


async def test_thank_you_out_of_quiet_hours_across_spring_forward(cohort: Cohort) -> None:
    """A thank-you that would fall in the night of spring-forward waits for 8:00 EDT."""
    # Sat 7 Mar 20:00 EST = Sun 8 Mar 01:00 UTC; logged five minutes later.
    cohort.clock.set(utc(2026, 3, 8, 1, 5))
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={NEW_YORK}")
    logged = await alice.ok('log contact=Dana when="today 20:00"')
    # 24 hours after 20:00 EST is 21:00 EDT the next day.
    assert "Send a thank-you by Sun 8 Mar 2026, 21:00" in logged.text

    # Two hours after: 22:00 EST, quiet. The quiet hours end at 8:00 EDT = 12:00 UTC.
    assert await cohort.tick_at(utc(2026, 3, 8, 3)) == []
    assert await cohort.tick_at(utc(2026, 3, 8, 11, 59)) == []  # 7:59 EDT
    (first,) = await cohort.tick_at(utc(2026, 3, 8, 12))
    assert first.message.title == "Time for your thank-you to Dana"

    rest = await cohort.run_until(utc(2026, 3, 20))
    # 21 hours after the meeting: 22:00 UTC = 18:00 EDT.
    assert timeline(rest, "alice", NEW_YORK) == [
        ("Sun 08 Mar 18:00", "Last call: thank Dana by Sun 8 Mar 2026, 21:00")
    ]


@pytest.mark.parametrize(
    ("planned", "outage_ends", "quiet_ends"),
    [
        pytest.param(
            utc(2026, 2, 21, 16),  # Sat 21 Feb 11:00 EST: check back Sat 7 Mar 20:30 EST
            utc(2026, 3, 8, 7, 30),  # back at Sun 8 Mar 3:30 EDT, in the quiet hours
            utc(2026, 3, 8, 12),  # Sun 8 Mar 8:00 EDT
            id="spring-forward",
        ),
        pytest.param(
            utc(2026, 10, 17, 15),  # Sat 17 Oct 11:00 EDT: check back Sat 31 Oct 20:30 EDT
            utc(2026, 11, 1, 6, 30),  # back at Sun 1 Nov 1:30 EST (the second 1:30)
            utc(2026, 11, 1, 13),  # Sun 1 Nov 8:00 EST
            id="fall-back",
        ),
    ],
)
async def test_nudge_held_through_quiet_hours_that_span_a_dst_change(
    cohort: Cohort, planned: datetime, outage_ends: datetime, quiet_ends: datetime
) -> None:
    """A nudge due before an outage waits, after it, for 8:00 on the new clock."""
    cohort.clock.set(planned)
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={NEW_YORK}")
    await alice.ok("request contact=Dana via=email")
    back = (planned + timedelta(days=14)).astimezone(ZoneInfo(NEW_YORK)).date()
    await alice.ok(f'reply Dana outcome=later back="{back.isoformat()} 20:30"')

    assert await cohort.tick_at(outage_ends) == []  # due hours ago, but it's night now
    assert cohort.report is not None and cohort.report.deferred == 1
    assert await cohort.tick_at(quiet_ends - timedelta(hours=1)) == []  # 7:00 local
    assert await cohort.tick_at(quiet_ends - timedelta(minutes=1)) == []
    (held,) = await cohort.tick_at(quiet_ends)
    assert held.message.title == "Check back with Dana"
    assert local_text(held.at, NEW_YORK).endswith("08:00")


def test_rhythm_reads_wall_clock_times_on_dst_days() -> None:
    """Nudge time and quiet hours are wall-clock times, whatever the UTC offset that day."""
    rhythm = Rhythm(NEW_YORK)  # quiet 21-8, nudges at 9
    assert rhythm.at_nudge_time(date(2026, 3, 7)) == utc(2026, 3, 7, 14)  # EST
    assert rhythm.at_nudge_time(date(2026, 3, 8)) == utc(2026, 3, 8, 13)  # EDT
    assert rhythm.at_nudge_time(date(2026, 11, 1)) == utc(2026, 11, 1, 14)  # EST
    # Sat 22:00 EST is quiet until Sun 8:00 EDT; Sat 22:00 EDT until Sun 8:00 EST.
    assert rhythm.after_quiet(utc(2026, 3, 8, 3)) == utc(2026, 3, 8, 12)
    assert rhythm.after_quiet(utc(2026, 11, 1, 2)) == utc(2026, 11, 1, 13)
    # Both 1:30s of the fall-back night are quiet; 3:30 EDT on spring-forward night too.
    assert rhythm.is_quiet(utc(2026, 11, 1, 5, 30)) and rhythm.is_quiet(utc(2026, 11, 1, 6, 30))
    assert rhythm.is_quiet(utc(2026, 3, 8, 7, 30))
    # Half an hour before the quiet hours begin, counted back across the change.
    assert rhythm.before_quiet(utc(2026, 3, 8, 7, 30)) == utc(2026, 3, 8, 1, 30)  # 20:30 EST
    # 2:30 doesn't exist on spring-forward day: it lands just after the gap (3:30 EDT).
    assert rhythm.at(date(2026, 3, 8), 150) == utc(2026, 3, 8, 7, 30)


# -- 2. one workspace, two timezones ---------------------------------------------------


async def test_members_in_different_timezones_each_get_their_own_mornings(
    cohort: Cohort,
) -> None:
    """Alice in Los Angeles and Ravi in Kolkata get their nudges on their own clocks."""
    # START: Wed 18 Nov 15:00 UTC = 7:00 PST (Alice, still quiet) = 20:30 IST (Ravi).
    alice, ravi = cohort.member("alice"), cohort.member("ravi")
    await alice.ok(f"settings timezone={LOS_ANGELES}")
    await ravi.ok(f"settings timezone={KOLKATA}")
    for member in (alice, ravi):
        await member.ok("request contact=Dana via=email")
        await member.ok("log contact=Sam when=now")
        await member.ok('log contact=Lee when="next Friday 10am"')

    arrivals = await cohort.run_until(utc(2027, 1, 10))
    assert timeline(arrivals, "alice", LOS_ANGELES) == [
        ("Wed 18 Nov 09:00", "Time for your thank-you to Sam"),
        # 21 h after 7:00 is 4:00, quiet; 8:00 would be past the deadline: 20:30 the evening before
        ("Wed 18 Nov 20:30", "Last call: thank Sam by Thu 19 Nov 2026, 07:00"),
        ("Thu 19 Nov 09:00", "Prepare for Lee"),
        ("Fri 20 Nov 11:00", "How did it go with Lee?"),
        ("Sat 21 Nov 08:00", "Last call: thank Lee by Sat 21 Nov 2026, 10:00"),
        ("Wed 02 Dec 09:00", "Follow up with Dana"),
        ("Wed 16 Dec 09:00", "Last follow-up with Dana"),
        ("Wed 30 Dec 09:00", "Time to move on from Dana"),
    ]
    assert timeline(arrivals, "ravi", KOLKATA) == [
        # 22:30 IST is quiet: the next morning at 8:00 (02:30 UTC)
        ("Thu 19 Nov 08:00", "Time for your thank-you to Sam"),
        ("Thu 19 Nov 09:00", "Prepare for Lee"),
        ("Thu 19 Nov 17:30", "Last call: thank Sam by Thu 19 Nov 2026, 20:30"),
        ("Fri 20 Nov 11:00", "How did it go with Lee?"),
        ("Sat 21 Nov 08:00", "Last call: thank Lee by Sat 21 Nov 2026, 10:00"),
        ("Wed 02 Dec 09:00", "Follow up with Dana"),
        ("Wed 16 Dec 09:00", "Last follow-up with Dana"),
        ("Wed 30 Dec 09:00", "Time to move on from Dana"),
    ]
    # The same follow-up, thirteen and a half hours apart in UTC.
    follow_ups = {a.user: a.at for a in arrivals if a.message.title == "Follow up with Dana"}
    assert follow_ups == {"ravi": utc(2026, 12, 2, 3, 30), "alice": utc(2026, 12, 2, 17)}


# -- 3. the 3B7 policy: business days --------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "holidays", "expected"),
    [
        pytest.param(
            utc(2026, 11, 20, 15),  # Friday
            [],
            [
                ("Wed 25 Nov 09:00", "Three business days: try a second person at Acme"),
                ("Tue 01 Dec 09:00", "Follow up with Dana"),
            ],
            id="friday",
        ),
        pytest.param(
            utc(2026, 11, 21, 15),  # Saturday: counts from Monday, so the same days
            [],
            [
                ("Wed 25 Nov 09:00", "Three business days: try a second person at Acme"),
                ("Tue 01 Dec 09:00", "Follow up with Dana"),
            ],
            id="saturday",
        ),
        pytest.param(
            utc(2026, 11, 20, 15),
            ["2026-11-24", "2026-11-26"],  # Tuesday and Thanksgiving Thursday off
            [
                ("Fri 27 Nov 09:00", "Three business days: try a second person at Acme"),
                ("Thu 03 Dec 09:00", "Follow up with Dana"),
            ],
            id="friday-two-holidays",
        ),
        pytest.param(
            utc(2026, 11, 20, 15),
            ["2026-11-22", "2026-11-23", "not a date"],  # a Sunday holiday counts once
            [
                ("Thu 26 Nov 09:00", "Three business days: try a second person at Acme"),
                ("Wed 02 Dec 09:00", "Follow up with Dana"),
            ],
            id="friday-monday-holiday",
        ),
    ],
)
async def test_3b7_second_person_on_day_3_and_one_follow_up_on_day_7(
    cohort: Cohort, sent: datetime, holidays: list[str], expected: list[tuple[str, str]]
) -> None:
    """Under 3B7 exactly two DMs come: a second person on business day 3, a follow-up on 7."""
    cohort.clock.set(sent)
    alice = cohort.member("alice")
    await alice.ok("settings")
    await cohort.set_policy("3b7", holidays)
    recorded = await alice.ok("request contact=Dana org=Acme via=email")
    weekday, day_of_month = expected[0][0].split()[:2]
    promise = f"I'll remind you {weekday} {int(day_of_month)} Nov 2026, 09:00 to write to a second"
    assert promise in recorded.text

    arrivals = await cohort.run_until(sent + timedelta(days=120))
    assert timeline(arrivals, "alice", "UTC") == expected
    second = arrivals[0].message
    assert "write to someone else at Acme" in second.text
    assert {"They agreed", "They declined"} <= {b.label for b in second.buttons}


async def test_3b7_counts_business_days_from_the_members_local_date(cohort: Cohort) -> None:
    """Thursday evening in Los Angeles (already Friday in UTC) counts from Thursday."""
    cohort.clock.set(utc(2026, 11, 20, 4))  # Thu 19 Nov 20:00 PST
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={LOS_ANGELES}")
    await cohort.set_policy("3b7")
    await alice.ok("request contact=Dana org=Acme via=email")

    arrivals = await cohort.run_until(utc(2027, 1, 31))
    assert timeline(arrivals, "alice", LOS_ANGELES) == [
        ("Tue 24 Nov 09:00", "Three business days: try a second person at Acme"),
        ("Mon 30 Nov 09:00", "Follow up with Dana"),
    ]


@pytest.mark.parametrize("when", ["before the second person", "after the second person"])
async def test_3b7_reply_stops_both_timers(cohort: Cohort, when: str) -> None:
    """A reply under 3B7 cancels whatever is left of the second-person and follow-up DMs."""
    cohort.clock.set(utc(2026, 11, 20, 15))  # Friday
    alice = cohort.member("alice")
    await alice.ok("settings")
    await cohort.set_policy("3b7")
    await alice.ok("request contact=Dana org=Acme via=email")

    if when == "before the second person":
        cohort.clock.set(utc(2026, 11, 23, 10))  # Monday
        await alice.ok("reply contact=Dana outcome=later")
        # "later" plans only its check-back, in two weeks.
        expected: list[str | None] = ["Check back with Dana"]
        later = ["Check back with Dana"]
    else:
        (second,) = await cohort.tick_at(utc(2026, 11, 25, 9))
        cohort.clock.set(utc(2026, 11, 25, 11))
        await alice.click("They agreed", second.message)
        expected = ["Three business days: try a second person at Acme"]
        later = []
    assert [a.message.title for a in await cohort.run_until(utc(2027, 2, 1))] == later
    assert [m.title for m in cohort.notifier.dms_to("alice")] == expected


def test_business_days_skip_weekends_and_holidays() -> None:
    """Business days: Friday + 3 is Wednesday; holidays (ISO dates) are skipped too."""
    friday = date(2026, 11, 20)
    assert add_business_days(friday, 3) == date(2026, 11, 25)
    assert add_business_days(friday, 7) == date(2026, 12, 1)
    holidays = parse_holidays(["2026-11-26", "junk"])
    assert holidays == frozenset({date(2026, 11, 26)})
    assert not is_business_day(date(2026, 11, 26), holidays)
    assert add_business_days(friday, 7, holidays) == date(2026, 12, 2)
    assert add_business_days(date(2026, 11, 22), 3) == date(2026, 11, 25)  # from a Sunday


# -- 4. the seeds policy -----------------------------------------------------------------


async def test_seeds_follow_up_at_14_last_at_28_move_on_at_42_then_nothing(
    cohort: Cohort,
) -> None:
    """Seeds: a follow-up after 14 days, the last at 28, move on at 42, and then silence."""
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={CHICAGO}")  # START is Wed 18 Nov 9:00 CST
    recorded = await alice.ok("request contact=Dana org=Acme via=linkedin")
    assert "I'll remind you Wed 2 Dec 2026, 09:00 to follow up" in recorded.text

    assert await cohort.tick_at(utc(2026, 12, 2, 14, 59)) == []  # Wed 2 Dec 8:59 CST
    (first,) = await cohort.tick_at(utc(2026, 12, 2, 15))
    assert first.message.title == "Follow up with Dana"
    assert "14 days ago via linkedin, with no reply yet" in first.message.text

    rest = await cohort.run_until(utc(2027, 6, 1))
    assert timeline(rest, "alice", CHICAGO) == [
        ("Wed 16 Dec 09:00", "Last follow-up with Dana"),
        ("Wed 30 Dec 09:00", "Time to move on from Dana"),
    ]
    assert "/tiara reply R1 outcome=scheduled" in rest[-1].message.text


async def test_seeds_reply_after_first_follow_up_cancels_the_rest(cohort: Cohort) -> None:
    """Clicking "They agreed" on the first follow-up stops the last follow-up and move-on."""
    alice = cohort.member("alice")
    await alice.ok("request contact=Dana via=email")
    (first,) = await cohort.tick_at(utc(2026, 12, 2, 9))
    cohort.clock.set(utc(2026, 12, 5, 12))
    replied = await alice.click("They agreed", first.message)
    assert replied.title == "R1: Dana replied (scheduled)"

    assert await cohort.run_until(utc(2027, 6, 1)) == []
    assert [m.title for m in cohort.notifier.dms_to("alice")] == ["Follow up with Dana"]


async def test_follow_up_counts_calendar_days_since_the_request(cohort: Cohort) -> None:
    """The follow-up two weeks after an afternoon request says "14 days ago", not 13."""
    alice = cohort.member("alice")
    await alice.ok("request contact=Dana via=email")  # Wed 18 Nov 15:00
    (first,) = await cohort.tick_at(utc(2026, 12, 2, 9))  # Wed 2 Dec 9:00
    assert "You asked Dana for a conversation 14 days ago" in first.message.text


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        pytest.param(
            20,  # Thu 29 Oct: day 14 (12 Nov) is past, day 28 (26 Nov) and 42 (10 Dec) to come
            [
                ("Wed 18 Nov 09:00", "Follow up with Dana"),
                ("Thu 26 Nov 09:00", "Last follow-up with Dana"),
                ("Thu 10 Dec 09:00", "Time to move on from Dana"),
            ],
            id="20-days",
        ),
        pytest.param(
            30,  # Mon 19 Oct: days 14 and 28 both past; only the last follow-up still matters
            [
                ("Wed 18 Nov 09:00", "Last follow-up with Dana"),
                ("Mon 30 Nov 09:00", "Time to move on from Dana"),
            ],
            id="30-days",
        ),
    ],
)
async def test_seeds_request_logged_late_gets_only_the_steps_still_relevant(
    cohort: Cohort, ago: int, expected: list[tuple[str, str]]
) -> None:
    """A request logged late gets one overdue reminder now (never two), then the rest."""
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={CHICAGO}")  # 9:00 CST
    await alice.ok(f'request contact=Dana via=email when="{ago} days ago"')

    arrivals = await cohort.run_until(utc(2027, 6, 1))
    assert timeline(arrivals, "alice", CHICAGO) == expected
    assert f"You asked Dana for a conversation {ago} days ago" in arrivals[0].message.text


async def test_a_request_logged_late_in_the_day_waits_for_the_next_morning(
    cohort: Cohort,
) -> None:
    """Saving an old request never answers with a DM at once: its one overdue reminder
    comes at the member's next nudge time."""
    alice = cohort.member("alice")
    await alice.ok("settings timezone=UTC")  # 15:00 for her: today's 09:00 has passed
    await alice.ok('request contact=Dana via=email when="20 days ago"')

    arrivals = await cohort.run_until(utc(2026, 11, 20))
    assert timeline(arrivals, "alice", "UTC") == [("Thu 19 Nov 09:00", "Follow up with Dana")]


# -- 5. quiet hours across midnight -----------------------------------------------------


@pytest.mark.parametrize(
    ("quiet", "expected"),
    [
        pytest.param(
            "22-7",
            [
                ("Thu 19 Nov 07:00", "Time for your thank-you to Dana"),
                ("Thu 19 Nov 18:30", "Last call: thank Dana by Thu 19 Nov 2026, 21:30"),
            ],
            id="quiet-22-7",
        ),
        pytest.param(
            "off",
            [
                ("Wed 18 Nov 23:30", "Time for your thank-you to Dana"),
                ("Thu 19 Nov 18:30", "Last call: thank Dana by Thu 19 Nov 2026, 21:30"),
            ],
            id="quiet-off",
        ),
    ],
)
async def test_thank_you_after_an_evening_meeting_respects_quiet_hours(
    cohort: Cohort, quiet: str, expected: list[tuple[str, str]]
) -> None:
    """A 21:30 meeting: with quiet=22-7 the thank-you waits for 7:00; with quiet=off, 23:30."""
    cohort.clock.set(utc(2026, 11, 18, 20, 45))  # Wed 21:45 in Berlin
    alice = cohort.member("alice")
    shown = await alice.ok(f"settings timezone={BERLIN} quiet={quiet}")
    fields = {f.label: f.value for f in shown.fields}
    assert fields["Quiet hours"] == ("22:00 to 07:00" if quiet == "22-7" else "none")
    await alice.ok('log contact=Dana when="today 21:30"')

    night = await cohort.tick_at(utc(2026, 11, 18, 22, 30))  # 23:30 in Berlin
    rest = await cohort.run_until(utc(2027, 1, 31))
    assert timeline(night, "alice", BERLIN) + timeline(rest, "alice", BERLIN) == expected


async def test_nudge_due_before_an_outage_waits_for_the_end_of_quiet_hours(
    cohort: Cohort,
) -> None:
    """Back from an outage at 23:30, a follow-up due at 9:00 waits until quiet hours end."""
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={BERLIN} quiet=22-7")
    await alice.ok("request contact=Dana via=email")  # Wed 18 Nov: due Wed 2 Dec 9:00 CET

    # The bot was down from before 9:00 until 23:30 on Wed 2 Dec.
    assert await cohort.tick_at(utc(2026, 12, 2, 22, 30)) == []
    assert cohort.report is not None and cohort.report.deferred == 1
    assert await cohort.tick_at(utc(2026, 12, 3, 3)) == []  # 4:00 in Berlin
    assert await cohort.tick_at(utc(2026, 12, 3, 5, 59)) == []  # 6:59
    (held,) = await cohort.tick_at(utc(2026, 12, 3, 6))  # 7:00
    assert held.message.title == "Follow up with Dana"


async def test_prep_comes_the_day_before_even_with_a_nudge_time_in_quiet_hours(
    cohort: Cohort,
) -> None:
    """nudge_time=7:00 with quiet 21-8: the prep DM still comes on the day before the meeting."""
    alice = cohort.member("alice")
    await alice.ok("settings nudge_time=7:00")
    await alice.ok('log contact=Lee when="next Friday 10am"')  # Fri 20 Nov 10:00 UTC

    arrivals = await cohort.run_until(utc(2026, 11, 20, 10))
    (prep,) = [a for a in arrivals if a.message.title == "Prepare for Lee"]
    assert local_text(prep.at, "UTC").startswith("Thu 19 Nov")  # not Wed 18 Nov 20:30


def test_quiet_hours_spanning_midnight() -> None:
    """quiet=22-7: 21:59 and 7:00 are not quiet, 22:00 to 6:59 is; "off" is never quiet."""
    rhythm = Rhythm("UTC", 22 * 60, 7 * 60)
    assert not rhythm.is_quiet(utc(2026, 11, 18, 21, 59))
    assert rhythm.is_quiet(utc(2026, 11, 18, 22)) and rhythm.is_quiet(utc(2026, 11, 19, 6, 59))
    assert not rhythm.is_quiet(utc(2026, 11, 19, 7))
    assert rhythm.after_quiet(utc(2026, 11, 18, 23, 30)) == utc(2026, 11, 19, 7)
    assert rhythm.after_quiet(utc(2026, 11, 19, 1)) == utc(2026, 11, 19, 7)
    assert rhythm.before_quiet(utc(2026, 11, 19, 1)) == utc(2026, 11, 18, 21, 30)
    off = Rhythm("UTC", 0, 0)
    assert not any(off.is_quiet(utc(2026, 11, 18, h)) for h in range(24))


# -- 6. thank-you reminders --------------------------------------------------------------


async def test_thank_you_first_reminder_then_last_call_then_nothing(cohort: Cohort) -> None:
    """After a meeting: a thank-you DM two hours later, a last call at 21 hours, no more."""
    alice = cohort.member("alice")
    await alice.ok("log contact=Dana org=Acme notes=SQL matters more than Python")  # 15:00

    assert await cohort.tick_at(utc(2026, 11, 18, 16, 59)) == []
    (first,) = await cohort.tick_at(utc(2026, 11, 18, 17))
    assert first.message.title == "Time for your thank-you to Dana"
    assert "“SQL matters more than Python”" in first.message.text
    assert [b.label for b in first.message.buttons][:2] == ["Thank-you sent", "Done"]

    assert await cohort.tick_at(utc(2026, 11, 19, 11, 59)) == []
    (last,) = await cohort.tick_at(utc(2026, 11, 19, 12))
    assert last.message.title == "Last call: thank Dana by Thu 19 Nov 2026, 15:00"
    # Keep-in-touch comes three months on (18 Feb); nothing about the thank-you before then.
    assert await cohort.run_until(utc(2027, 2, 17)) == []


@pytest.mark.parametrize("how", ["thanks M1 before the first", "button on the first DM"])
async def test_recording_the_thank_you_stops_the_reminders(cohort: Cohort, how: str) -> None:
    """`thanks M1` (or the DM's button) means no more thank-you reminders for that meeting."""
    alice = cohort.member("alice")
    await alice.ok("log contact=Dana")
    if how == "thanks M1 before the first":
        cohort.clock.set(utc(2026, 11, 18, 16))
        await alice.ok("thanks M1")
        expected: list[str] = []
    else:
        (first,) = await cohort.tick_at(utc(2026, 11, 18, 17))
        cohort.clock.set(utc(2026, 11, 18, 18))
        recorded = await alice.click("Thank-you sent", first.message)
        assert recorded.title == "Thank-you to Dana recorded"
        expected = ["Time for your thank-you to Dana"]
    assert await cohort.run_until(utc(2027, 2, 17)) == []
    assert [m.title for m in cohort.notifier.dms_to("alice")] == expected


@pytest.mark.parametrize("back_after", [timedelta(hours=24), timedelta(days=3)])
async def test_no_thank_you_reminder_after_the_24_hours(
    cohort: Cohort, back_after: timedelta
) -> None:
    """Back from an outage past the 24-hour mark, the tick sends no stale thank-you DM."""
    alice = cohort.member("alice")
    await alice.ok("log contact=Dana")
    held = utc(2026, 11, 18, 15)

    report_at = held + back_after
    cohort.clock.set(report_at)
    report = await cohort.bot.tick()
    assert cohort.notifier.dms_to("alice") == []
    assert (report.expired, report.sent) == (2, 0)
    assert await cohort.run_until(utc(2027, 2, 17)) == []


async def test_outage_before_the_last_call_sends_one_thank_you_reminder(cohort: Cohort) -> None:
    """Back from an outage at 22 hours, the member gets the last call alone, not twice."""
    alice = cohort.member("alice")
    await alice.ok("log contact=Dana")

    (dm,) = await cohort.tick_at(utc(2026, 11, 19, 13))  # 22 hours later
    assert dm.message.title == "Last call: thank Dana by Thu 19 Nov 2026, 15:00"
    assert "Time for your thank-you" not in everything(dm.message)


# -- 7. changing things after the reminders are planned ---------------------------------


async def test_changing_timezone_moves_pending_follow_ups_to_the_new_nine_oclock(
    cohort: Cohort,
) -> None:
    """After `settings timezone=Asia/Kolkata`, follow-ups come at 9:00 in Kolkata."""
    alice = cohort.member("alice")
    await alice.ok("request contact=Dana via=email")  # Wed 18 Nov 15:00 UTC = 20:30 IST
    await alice.ok(f"settings timezone={KOLKATA}")

    arrivals = await cohort.run_until(utc(2027, 3, 1))
    assert timeline(arrivals, "alice", KOLKATA) == [
        ("Wed 02 Dec 09:00", "Follow up with Dana"),
        ("Wed 16 Dec 09:00", "Last follow-up with Dana"),
        ("Wed 30 Dec 09:00", "Time to move on from Dana"),
    ]
    assert arrivals[0].at == utc(2026, 12, 2, 3, 30)


async def test_changing_quiet_hours_moves_a_planned_thank_you(cohort: Cohort) -> None:
    """A thank-you held for 8:00 by the default quiet hours comes at 7:00 after quiet=22-7."""
    cohort.clock.set(utc(2026, 11, 18, 20, 45))  # Wed 21:45 in Berlin
    alice = cohort.member("alice")
    await alice.ok(f"settings timezone={BERLIN}")  # quiet hours 21-8 by default
    await alice.ok('log contact=Dana when="today 21:30"')
    await alice.ok("settings quiet=22-7")

    arrivals = await cohort.run_until(utc(2027, 1, 31))
    assert timeline(arrivals, "alice", BERLIN) == [
        ("Thu 19 Nov 07:00", "Time for your thank-you to Dana"),
        ("Thu 19 Nov 18:30", "Last call: thank Dana by Thu 19 Nov 2026, 21:30"),
    ]


async def test_snoozed_follow_up_stays_snoozed_when_settings_change(cohort: Cohort) -> None:
    """A follow-up snoozed for a week doesn't come back the next day after a settings change."""
    alice = cohort.member("alice")
    await alice.ok("request contact=Dana via=email")
    (first,) = await cohort.tick_at(utc(2026, 12, 2, 9))
    cohort.clock.set(utc(2026, 12, 2, 10))
    snoozed = await alice.click("Snooze 1 week", first.message)
    assert (snoozed.title or "").startswith("Snoozed N1 until Wed 9 Dec 2026")
    cohort.clock.set(utc(2026, 12, 3, 10))
    await alice.ok("settings nudge_time=10:00")

    arrivals = await cohort.run_until(utc(2026, 12, 20))
    assert arrivals[0].message.title == "Follow up with Dana"
    assert arrivals[0].at.date() == date(2026, 12, 9)  # not Thu 3 Dec, right away


async def test_policy_switch_never_mixes_seeds_and_3b7_reminders(cohort: Cohort) -> None:
    """A request gets one policy's reminders, even after a policy switch and a re-plan."""
    alice = cohort.member("alice")
    await alice.ok("request contact=Dana org=Acme via=email")  # seeds, Wed 18 Nov
    await cohort.set_policy("3b7")
    cohort.clock.set(utc(2026, 11, 19, 10))
    await alice.ok("settings quiet=22-7")  # any change of rhythm re-plans

    arrivals = await cohort.run_until(utc(2027, 3, 1))
    titles = [a.message.title for a in arrivals]
    seeds = ["Follow up with Dana", "Last follow-up with Dana", "Time to move on from Dana"]
    three_b_seven = ["Three business days: try a second person at Acme", "Follow up with Dana"]
    assert titles in (seeds, three_b_seven)


async def test_rescheduled_meeting_gets_its_prep_the_day_before_the_new_date(
    cohort: Cohort,
) -> None:
    """Moved from Friday to next Wednesday after Thursday's prep: a new prep on Tuesday."""
    alice = cohort.member("alice")
    await alice.ok('log contact=Lee when="next Friday 10am"')  # Fri 20 Nov 10:00 UTC
    (prep,) = await cohort.tick_at(utc(2026, 11, 19, 9))
    assert prep.message.title == "Prepare for Lee"
    cohort.clock.set(utc(2026, 11, 19, 14))
    await alice.ok('edit M1 when="2026-11-25 10:00"')

    arrivals = await cohort.run_until(utc(2026, 11, 30))
    assert timeline(arrivals, "alice", "UTC") == [
        ("Tue 24 Nov 09:00", "Prepare for Lee"),
        ("Wed 25 Nov 11:00", "How did it go with Lee?"),
        ("Thu 26 Nov 08:00", "Last call: thank Lee by Thu 26 Nov 2026, 10:00"),
    ]
