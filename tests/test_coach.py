"""Coaches: who is one, what they see (counts, never notes or contacts), what they change,
the weekly digest, and the audit of it all."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.bootstrap import build_app
from bot.config import Settings
from bot.core import Bot
from bot.notify import DeliveryError, RecordingNotifier
from bot.values import Invocation, Message, UserRef
from storage.models import AuditEvent, Nudge, PracticeRound, Workspace
from storage.models import Member as MemberRow
from storage.store import Store
from tests.conftest import START, FixedClock, Member, everything

pytestmark = pytest.mark.postgres

# What students wrote: none of it may ever reach a coach.
SECRETS = (
    "Priya Raman",
    "Quillfeather Labs",
    "layoffs are coming in March",
    "send Priya the portfolio link",
    "Zed Okonkwo",
    "Nightjar Analytics",
    "salary was 95k",
    "intro to the hiring manager",
)


@dataclass
class Cohort:
    bot: Bot
    clock: FixedClock
    notifier: RecordingNotifier
    store: Store
    coach: Member
    alice: Member
    bob: Member


@pytest.fixture
async def cohort(empty_store: Store) -> AsyncIterator[Cohort]:
    clock = FixedClock(START)
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC", coaches="coachy")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    bot = app.bot
    yield Cohort(
        bot=bot,
        clock=clock,
        notifier=notifier,
        store=empty_store,
        coach=Member(bot, "coachy"),
        alice=Member(bot, "alice"),
        bob=Member(bot, "bob"),
    )


async def seed(c: Cohort) -> None:
    """Alice: two requests (one answered), two meetings with notes and follow-ups (one
    thanked within the day, one late), a referral. Bob: one meeting, nothing thanked."""
    await c.alice.ok(
        'request contact="Priya Raman" org="Quillfeather Labs" via=email when="6 days ago"'
    )
    await c.alice.ok(
        'request contact="Zed Okonkwo" org="Nightjar Analytics" via=linkedin when="5 days ago"'
    )
    await c.alice.ok('reply contact="Priya Raman" outcome=scheduled')
    await c.alice.ok(
        'log contact="Priya Raman" when="4 days ago" notes="layoffs are coming in March" '
        'followups="send Priya the portfolio link" referrals="Zed Okonkwo"'
    )
    await c.alice.ok('thanks M1 when="3 days ago"')
    await c.alice.ok('log contact="Zed Okonkwo" when="3 days ago" notes="salary was 95k"')
    await c.alice.ok("thanks M2")  # today: two days late
    await c.bob.ok(
        'log contact="Zed Okonkwo" when="2 days ago" followups="intro to the hiring manager"'
    )


def shown(message: Message) -> str:
    """Everything a coach could read in a message, attachments included."""
    parts = [everything(message)]
    for attachment in message.attachments:
        parts.append(attachment.filename + attachment.title)
        parts.append(attachment.data.decode("utf-8", errors="replace"))
    return "\n".join(parts)


def field(message: Message, label: str) -> str:
    return next(f.value for f in message.fields if f.label == label)


# -- who is a coach ----------------------------------------------------------------------

# Every coach command, with values that change something where it can.
COACH_CALLS = {
    ("coach", "stats"): ["coach stats", "coach stats weeks=1", "coach stats weeks=12"],
    ("coach", "audit"): ["coach audit"],
    ("coach", "policy"): ["coach policy", "coach policy 3b7"],
    ("coach", "holidays"): ["coach holidays", "coach holidays add 2026-12-24"],
    ("coach", "cadence"): ["coach cadence", "coach cadence day=tue time=9:30 every=2"],
    ("coach", "channel"): ["coach channel", "coach channel #practice"],
    ("coach", "digest"): ["coach digest on", "coach digest"],
    ("coach", "round"): ["coach round now"],
}


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
def test_every_coach_command_is_covered_by_these_tests(cohort: Cohort) -> None:
    coach_only = {c.path for c in cohort.bot.registry if c.coach_only}
    assert coach_only == set(COACH_CALLS)


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_a_student_is_told_coach_only_and_nothing_changes(cohort: Cohort) -> None:
    await cohort.alice.ok("practice join")
    for calls in COACH_CALLS.values():
        for text in calls:
            answer = await cohort.alice(text)
            assert answer.error and answer.text.startswith("Only coaches"), text
            assert not answer.attachments
    async with cohort.store.transaction() as session:
        ws = (await session.scalars(select(Workspace))).one()
        assert ws.followup_policy == "seeds" and ws.holidays == []
        assert ws.practice_channel is None and ws.practice_day == 0
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_coaches_come_from_the_setting_the_platform_or_one_workspace(
    empty_store: Store,
) -> None:
    settings = Settings(_env_file=None, coaches="U1, cohort:U2")  # type: ignore[call-arg]
    bot = (await build_app(settings, clock=FixedClock(START), store=empty_store)).bot

    async def stats(user: str, workspace: str = "cohort", admin: bool = False) -> Message:
        ref = UserRef("test", workspace, user)
        return await bot.dispatch(Invocation(("coach", "stats"), {}, ref, platform_admin=admin))

    assert not (await stats("U1")).error
    assert not (await stats("U1", "other")).error  # a plain id is a coach everywhere
    assert not (await stats("U2")).error
    assert (await stats("U2", "other")).error  # workspace:user is a coach there only
    assert (await stats("U3")).error
    assert not (await stats("U3", admin=True)).error  # a Slack admin, a Discord manager


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_help_lists_coach_commands_to_coaches_only(cohort: Cohort) -> None:
    assert "coach stats" in (await cohort.coach.ok("help")).text
    assert "coach" not in (await cohort.alice.ok("help")).text


# -- what a coach sees -------------------------------------------------------------------


async def test_no_coach_output_ever_holds_a_note_a_follow_up_or_a_contact(cohort: Cohort) -> None:
    await seed(cohort)
    await cohort.alice.ok("practice join")
    await cohort.bob.ok("practice join")
    seen: list[str] = []
    for calls in COACH_CALLS.values():
        for text in calls:
            answer = await cohort.coach.ok(text)
            seen.append(shown(answer))
    cohort.clock.advance(timedelta(days=7))
    await cohort.bot.tick()  # the digest, the practice round
    seen += [shown(m) for m in cohort.notifier.dms_to("coachy")]
    assert any("Cohort progress" in s for s in seen)
    assert any("weekly digest" in s for s in seen)
    text = "\n".join(seen)
    for secret in SECRETS:
        assert secret not in text
        assert secret.casefold() not in text.casefold()


async def test_stats_count_what_students_did(cohort: Cohort) -> None:
    await seed(cohort)
    answer = await cohort.coach.ok("coach stats")
    assert field(answer, "Members") == "2 (2 active this week)"  # the coach isn't counted
    # Zed never replied, but meeting him answers the request too.
    assert field(answer, "Requests sent") == "2 (100% got a reply)"
    assert field(answer, "Meetings held") == "3"
    # Alice thanked one within the day and one late; Bob's 24 hours have passed unthanked.
    assert field(answer, "Thank-yous within 24 h") == "1 of 3 (33%)"
    assert "• alice: 2 requests · 2 meetings · 1/2 thank-yous on time" in answer.text
    assert "• bob: 0 requests · 1 meeting · 0/1 thank-yous on time" in answer.text
    (chart,) = answer.attachments
    assert chart.mime == "image/png" and chart.data.startswith(b"\x89PNG\r\n\x1a\n")
    # A week's window leaves out what happened before it.
    week = await cohort.coach.ok("coach stats weeks=1")
    assert field(week, "Requests sent") == "2 (100% got a reply)"
    cohort.clock.advance(timedelta(days=8))
    later = await cohort.coach.ok("coach stats weeks=1")
    assert field(later, "Meetings held") == "0"
    assert field(later, "Members") == "2 (0 active this week)"


async def test_stats_drop_a_member_who_erased_their_data(cohort: Cohort) -> None:
    """After forget-me, the coach's counts, list and digest know nothing of them."""
    await seed(cohort)
    await cohort.alice.ok("practice join")
    await cohort.alice.click("Erase everything", await cohort.alice.ok("forget-me"))
    answer = await cohort.coach.ok("coach stats")
    assert field(answer, "Members") == "1 (1 active this week)"
    assert field(answer, "Meetings held") == "1"
    assert field(answer, "Requests sent") == "0"
    assert "alice" not in shown(answer)
    assert field(answer, "Practice").startswith("0 joined")


async def test_the_weekly_chart_counts_meetings_and_thank_yous_in_their_weeks(
    cohort: Cohort,
) -> None:
    from bot.coach.stats import week_starts
    from storage.coach import CoachRepo

    await seed(cohort)
    # START is Wednesday 18 Nov 15:00. Meetings with no time given are at 09:00: Alice's on
    # Saturday 14 and Sunday 15 (thanked on Sunday and today), Bob's on Monday 16.
    async with cohort.store.transaction() as session:
        ws = (await session.scalars(select(Workspace))).one()
        counts = await CoachRepo(session).weekly(ws.id, week_starts(START, "UTC", 3))
    assert [s.date().isoformat() for s in counts.starts] == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
    ]
    assert counts.meetings == [0, 2, 1]
    assert counts.thanks == [0, 1, 1]


async def test_stats_name_who_cant_be_reached_and_who_went_quiet(cohort: Cohort) -> None:
    cohort.notifier.failures["bob"] = DeliveryError("dms_closed", permanent=True)
    await cohort.bob.ok('log contact="Zed Okonkwo" when="in 2 hours"')
    await cohort.alice.ok("help")
    cohort.clock.advance(timedelta(days=1))
    await cohort.bot.tick()  # Bob's prep reminder bounces: his DMs are closed
    cohort.clock.advance(timedelta(days=15))
    await Member(cohort.bot, "carol").ok("help")
    answer = await cohort.coach.ok("coach stats")
    assert "Can't be reached (DMs closed or left): bob." in answer.text
    assert "Gone quiet (2 weeks or more without Tiara): alice." in answer.text
    assert "carol" not in answer.text.split("Members\n")[0]


async def test_a_big_cohort_gets_its_whole_table_as_a_csv(cohort: Cohort) -> None:
    from bot.coach.stats import MAX_LINES

    for n in range(MAX_LINES + 5):
        await Member(cohort.bot, f"student{n:02d}").ok("help")
    answer = await cohort.coach.ok("coach stats")
    assert "…and 5 more" in answer.text
    table = next(a for a in answer.attachments if a.mime == "text/csv")
    rows = list(csv.DictReader(io.StringIO(table.data.decode("utf-8-sig"))))
    assert sorted(r["member"] for r in rows) == [f"student{n:02d}" for n in range(MAX_LINES + 5)]


# -- what a coach changes ----------------------------------------------------------------


async def test_policy_and_holidays_move_a_students_pending_follow_ups(cohort: Cohort) -> None:
    await cohort.alice.ok('request contact="Priya Raman" via=email')

    async def follow_up_due() -> str:
        async with cohort.store.transaction() as session:
            due = await session.scalar(
                select(func.min(Nudge.due_at)).where(
                    Nudge.kind.in_(("follow_up", "second_contact")), Nudge.status == "pending"
                )
            )
        assert due is not None
        return due.date().isoformat()

    assert await follow_up_due() == "2026-12-02"  # seeds: two weeks on
    await cohort.coach.ok("coach holidays add 2026-11-23")  # seeds counts no business days
    assert await follow_up_due() == "2026-12-02"
    answer = await cohort.coach.ok("coach policy 3b7")
    assert answer.title == "Follow-up policy changed"
    assert await follow_up_due() == "2026-11-24"  # business day 3: Monday is a holiday
    await cohort.coach.ok("coach holidays remove 2026-11-23")
    assert await follow_up_due() == "2026-11-23"  # Monday again
    await cohort.coach.ok("coach policy seeds")
    assert await follow_up_due() == "2026-12-02"  # and back: 3b7's steps are gone
    async with cohort.store.transaction() as session:
        kinds = await session.scalars(select(Nudge.kind).where(Nudge.status == "pending"))
        assert "second_contact" not in set(kinds)


async def test_a_policy_switch_leaves_requests_whose_follow_ups_are_all_behind_them(
    cohort: Cohort,
) -> None:
    """3b7's steps were all sent weeks ago; switching to seeds must not send its last step
    ("time to move on") at once for every such request."""
    await cohort.coach.ok("coach policy 3b7")
    await cohort.alice.ok('request contact="Priya Raman" via=email')
    for days in (5, 9, 30):
        cohort.clock.set(START + timedelta(days=days))
        await cohort.bot.tick()
    sent = [m.title for m in cohort.notifier.dms_to("alice")]
    assert len(sent) == 2  # the second person on day 3, the follow-up on day 7
    await cohort.coach.ok("coach policy seeds")
    cohort.clock.advance(timedelta(hours=1))
    await cohort.bot.tick()
    assert [m.title for m in cohort.notifier.dms_to("alice")] == sent


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_holidays_add_and_remove_and_bad_dates_change_nothing(cohort: Cohort) -> None:
    answer = await cohort.coach("coach holidays add christmas")
    assert answer.error and "YYYY-MM-DD" in answer.text
    assert (
        "2026-12-24, 2026-12-31"
        in (
            await cohort.coach.ok("coach holidays add 2026-12-31")
            and await cohort.coach.ok("coach holidays add 2026-12-24")
        ).text
    )
    again = await cohort.coach("coach holidays add 2026-12-24")
    assert again.error and "already" in again.text
    assert (
        "none"
        in (
            await cohort.coach.ok("coach holidays remove 2026-12-24")
            and await cohort.coach.ok("coach holidays remove 2026-12-31")
        ).text
    )
    async with cohort.store.transaction() as session:
        assert (await session.scalars(select(Workspace))).one().holidays == []


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_cadence_moves_the_next_round_and_bad_values_say_what_to_type(
    cohort: Cohort,
) -> None:
    await cohort.alice.ok("practice join")  # next round: Monday 23 Nov 10:00
    answer = await cohort.coach.ok("coach cadence day=thursday time=2pm")
    assert "Thursday at 14:00, every week" in answer.text
    assert "Thu 19 Nov 2026, 14:00" in answer.text
    for bad, hint in (
        ("day=someday", "like monday"),
        ("day=wendesday", "Did you mean wednesday?"),
        ("time=teatime", "like 10:00"),
    ):
        wrong = await cohort.coach(f"coach cadence {bad}")
        assert wrong.error and hint in wrong.text
    assert "Thursday at 14:00" in (await cohort.coach.ok("coach cadence")).text


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("#practice", "practice"),
        ("<#C0123ABC|practice>", "C0123ABC"),
        ("<#987654321>", "987654321"),
    ],
)
async def test_channel_accepts_how_each_platform_writes_a_channel(
    cohort: Cohort, typed: str, stored: str
) -> None:
    await cohort.coach.ok(f"coach channel {typed}")
    async with cohort.store.transaction() as session:
        assert (await session.scalars(select(Workspace))).one().practice_channel == stored


async def test_round_now_pairs_everyone_at_the_next_tick(cohort: Cohort) -> None:
    refused = await cohort.coach("coach round now")
    assert refused.error and "practice join" in refused.text
    await cohort.alice.ok("practice join")
    await cohort.bob.ok("practice join")
    await cohort.coach.ok("coach round now")
    await cohort.bot.tick()
    async with cohort.store.transaction() as session:
        rounds = (await session.scalars(select(PracticeRound))).all()
    assert len(rounds) == 1 and rounds[0].started_at == START
    groups = [s.to for s in cohort.notifier.sent if isinstance(s.to, tuple)]
    assert [sorted(u.user for u in group) for group in groups] == [["alice", "bob"]]


async def test_the_digest_arrives_monday_with_a_chart_and_stops_when_turned_off(
    cohort: Cohort,
) -> None:
    await seed(cohort)
    answer = await cohort.coach.ok("coach digest on")
    assert "Mon 23 Nov 2026, 09:00" in answer.text
    await cohort.bot.tick()
    assert cohort.notifier.dms_to("coachy") == []
    cohort.clock.set(START + timedelta(days=4))  # Sunday: the digest counts the last 7 days
    await cohort.bob.ok('log contact="Zed Okonkwo" when="yesterday 4pm"')
    cohort.clock.set(START + timedelta(days=5, hours=-6))  # Monday 09:00 UTC
    await cohort.bot.tick()
    await cohort.bot.tick()
    (digest,) = cohort.notifier.dms_to("coachy")
    assert digest.title == "Your weekly digest: cohort progress"
    assert field(digest, "Meetings held") == "1"  # Alice's were more than a week ago
    assert digest.attachments[0].data.startswith(b"\x89PNG")
    cohort.clock.advance(timedelta(days=7))
    await cohort.bot.tick()
    assert len(cohort.notifier.dms_to("coachy")) == 2
    await cohort.coach.ok("coach digest off")
    cohort.clock.advance(timedelta(days=7))
    await cohort.bot.tick()
    assert len(cohort.notifier.dms_to("coachy")) == 2


async def test_a_digest_stops_for_a_coach_gone_for_8_weeks_unless_configured(
    cohort: Cohort,
) -> None:
    """Dean is a coach because the platform says he runs the workspace; once he hasn't
    used Tiara for 8 weeks he may have left, so his digest stops, and he is told how to
    resume. Coachy is named in TIARA_COACHES: hers keeps coming."""
    dean = UserRef("test", "cohort", "dean")
    turned_on = await cohort.bot.dispatch(
        Invocation(("coach", "digest"), {"digest": True}, dean, platform_admin=True)
    )
    assert not turned_on.error, turned_on.text
    await cohort.coach.ok("coach digest on")
    first_monday = START + timedelta(days=5, hours=-6)  # Mon 23 Nov, 09:00
    for week in range(10):
        cohort.clock.set(first_monday + timedelta(weeks=week))
        await cohort.bot.tick()
    titles = [m.title for m in cohort.notifier.dms_to("dean")]
    assert titles == ["Your weekly digest: cohort progress"] * 8 + [
        "Your weekly digest has stopped"
    ]
    assert "/tiara coach digest on" in cohort.notifier.dms_to("dean")[-1].text
    assert len(cohort.notifier.dms_to("coachy")) == 10
    async with cohort.store.transaction() as session:
        row = (await session.scalars(select(MemberRow).where(MemberRow.user_id == "dean"))).one()
        assert row.digest_next_at is None


async def test_a_stopping_process_sends_no_digest(cohort: Cohort) -> None:
    """Stopping leaves the tick only the sends already begun: a digest due now waits for
    the next process (its chart and send could be cut off half-way)."""
    await cohort.coach.ok("coach digest on")
    cohort.clock.set(START + timedelta(days=5, hours=-6))  # Monday 09:00: due
    cohort.bot.ticker.stop_soon()
    await cohort.bot.tick()
    assert cohort.notifier.dms_to("coachy") == []
    async with cohort.store.transaction() as session:
        row = (await session.scalars(select(MemberRow).where(MemberRow.user_id == "coachy"))).one()
        assert row.digest_next_at == START + timedelta(days=5, hours=-6)  # still due


async def test_a_digest_that_fails_for_a_moment_is_sent_once_later(cohort: Cohort) -> None:
    await cohort.coach.ok("coach digest on")
    cohort.notifier.failures["coachy"] = DeliveryError("rate_limited")
    cohort.clock.set(START + timedelta(days=5, hours=-6))
    await cohort.bot.tick()
    assert cohort.notifier.dms_to("coachy") == []
    del cohort.notifier.failures["coachy"]
    await cohort.bot.tick()
    assert cohort.notifier.dms_to("coachy") == []  # its claim holds until the lease ends
    cohort.clock.advance(timedelta(minutes=6))
    await cohort.bot.tick()
    await cohort.bot.tick()
    assert len(cohort.notifier.dms_to("coachy")) == 1


async def test_a_digest_that_breaks_on_our_side_waits_for_next_week(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault of ours (here: the chart) is logged, and the digest isn't retried every few
    minutes for ever: next Monday's comes as usual."""
    from bot.coach import stats as stats_module

    await cohort.coach.ok("coach digest on")
    draw = stats_module.progress_chart

    def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("the chart broke")

    monkeypatch.setattr(stats_module, "progress_chart", broken)
    cohort.clock.set(START + timedelta(days=5, hours=-6))  # Monday 23 Nov, 09:00
    await cohort.bot.tick()
    for _ in range(3):  # past the lease, again and again: no new attempt
        cohort.clock.advance(timedelta(minutes=10))
        await cohort.bot.tick()
    assert cohort.notifier.dms_to("coachy") == []
    monkeypatch.setattr(stats_module, "progress_chart", draw)
    cohort.clock.advance(timedelta(hours=2))
    await cohort.bot.tick()
    assert cohort.notifier.dms_to("coachy") == []  # not today's again...
    cohort.clock.set(START + timedelta(days=12, hours=-6))  # ...but next Monday's
    await cohort.bot.tick()
    assert len(cohort.notifier.dms_to("coachy")) == 1


# -- the audit ---------------------------------------------------------------------------


async def test_coach_actions_are_audited_with_who_what_and_when(cohort: Cohort) -> None:
    await cohort.coach.ok("coach policy 3b7")
    await cohort.coach.ok("coach holidays add 2026-12-24")
    await cohort.coach("coach holidays add nope")  # refused: not recorded
    log = await cohort.coach.ok("coach audit")
    lines = log.text.splitlines()
    assert lines == [
        "• Wed 18 Nov 2026, 15:00: coachy: holidays add 2026-12-24",
        "• Wed 18 Nov 2026, 15:00: coachy: policy 3b7",
    ]


async def test_members_of_one_workspace_never_count_in_another(cohort: Cohort) -> None:
    await seed(cohort)
    # The same user ids in another workspace, with their own data.
    other_alice = Member(cohort.bot, "alice", workspace="other")
    await other_alice.ok('log contact="Wanda Other" when="yesterday" notes="other workspace"')
    other_coach = Member(cohort.bot, "coachy", workspace="other")
    theirs = await other_coach.ok("coach stats")
    assert field(theirs, "Members") == "1 (1 active this week)"
    assert field(theirs, "Meetings held") == "1"
    ours = await cohort.coach.ok("coach stats")
    assert field(ours, "Meetings held") == "3"
    assert "Wanda" not in shown(ours) and "Priya" not in shown(theirs)
    async with cohort.store.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(MemberRow))
    assert count == 5


async def test_a_follow_up_reminder_marked_done_counts_as_a_follow_up(cohort: Cohort) -> None:
    await cohort.alice.ok('request contact="Priya Raman" via=email')
    cohort.clock.advance(timedelta(days=14, hours=2))
    await cohort.bot.tick()
    (reminder,) = cohort.notifier.dms_to("alice")
    done = next(b for b in reminder.buttons if b.label.startswith("Done"))
    assert not (await cohort.bot.dispatch(done.invocation(cohort.alice.ref))).error
    answer = await cohort.coach.ok("coach stats")
    assert field(answer, "Follow-ups done") == "1"
    assert "• alice: 1 request · 0 meetings · 0/0 thank-yous on time · 1 follow-up" in answer.text


async def test_while_the_chart_draws_students_are_not_kept_waiting(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart is drawn after the command's transaction: on SQLite, whose one writer
    every command needs, a slow chart must not hold up the students' commands."""
    from bot.coach import stats as stats_module

    loop = asyncio.get_running_loop()
    drawing, release = asyncio.Event(), threading.Event()
    draw = stats_module.progress_chart

    def slow_chart(*args: Any, **kwargs: Any) -> bytes:  # in the worker thread
        loop.call_soon_threadsafe(drawing.set)
        release.wait(timeout=300)  # only if the test itself hangs: it sets release
        return draw(*args, **kwargs)

    monkeypatch.setattr(stats_module, "progress_chart", slow_chart)
    await seed(cohort)
    coach_asks = asyncio.create_task(cohort.coach.ok("coach stats"))
    try:
        await asyncio.wait_for(drawing.wait(), timeout=60)
        # The chart stays blocked until release: a command held up by it would not finish,
        # and the generous timeout would end the test.
        listed = await asyncio.wait_for(cohort.alice.ok("meetings"), timeout=60)
        assert "Priya Raman" in listed.text
        assert not coach_asks.done()
    finally:
        release.set()
    answer = await coach_asks
    assert field(answer, "Meetings held") == "3"
    (chart,) = answer.attachments
    assert chart.data.startswith(b"\x89PNG")
