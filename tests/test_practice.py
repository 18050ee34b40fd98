"""Peer practice end to end: joining, rounds, plans, check-ins, pairing on demand."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from adapters.bootstrap import build_app
from adapters.console import ConsoleAdapter, ConsoleNotifier
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import DeliveryError, RecordingNotifier, Sent
from bot.values import ChannelRef, Message, UserRef
from storage.models import Member as MemberRow
from storage.models import PracticeRound, PracticeSeat, Workspace
from storage.store import Store
from tests.conftest import START, Member, everything

# Wed 18 Nov 2026. With the default cadence the first round starts Mon 23 Nov, 10:00 UTC.
FIRST_ROUND = datetime(2026, 11, 23, 10, tzinfo=UTC)
CHECKIN = FIRST_ROUND + timedelta(days=3)
REMINDER = datetime(2026, 11, 28, 10, tzinfo=UTC)
ROUND_END = FIRST_ROUND + timedelta(weeks=1)


@dataclass
class Cohort:
    bot: Bot
    clock: FixedClock
    notifier: RecordingNotifier
    store: Store

    def member(self, name: str) -> Member:
        return Member(self.bot, name)

    async def join(self, *names: str) -> list[Member]:
        members = [self.member(n) for n in names]
        for m in members:
            await m.ok("practice join")
        return members

    async def at(self, when: datetime) -> list[Sent]:
        """Move the clock, tick, and return everything sent."""
        self.clock.set(when)
        self.notifier.clear()
        await self.bot.tick()
        return list(self.notifier.sent)

    async def set_workspace(self, **values: Any) -> None:
        async with self.store.transaction() as session:
            await session.execute(update(Workspace).values(**values))

    async def rounds(self) -> list[list[set[str]]]:
        """Each round's groups, as sets of user ids, oldest round first."""
        async with self.store.transaction() as session:
            stmt = (
                select(PracticeSeat.round_id, PracticeSeat.group_id, MemberRow.user_id)
                .join(MemberRow, MemberRow.id == PracticeSeat.member_id)
                .order_by(PracticeSeat.round_id, PracticeSeat.group_id)
            )
            rows = (await session.execute(stmt)).all()
        out = []
        for _, by_round in itertools.groupby(rows, key=lambda r: r[0]):
            groups: dict[int, set[str]] = {}
            for _, group_id, user in by_round:
                groups.setdefault(group_id, set()).add(user)
            out.append(list(groups.values()))
        return out


@pytest.fixture
async def cohort(empty_store: Store, clock: FixedClock) -> AsyncIterator[Cohort]:
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    yield Cohort(app.bot, clock, notifier, empty_store)


def plans(sent: list[Sent]) -> list[tuple[set[str], Message]]:
    return [
        ({u.user for u in s.to}, s.message)
        for s in sent
        if isinstance(s.to, tuple)
        and (s.message.title or "").startswith(("Practice round", "On-demand practice"))
    ]


def dms(sent: list[Sent], user: str) -> list[Message]:
    return [s.message for s in sent if isinstance(s.to, UserRef) and s.to.user == user]


def posts(sent: list[Sent]) -> list[Message]:
    return [s.message for s in sent if isinstance(s.to, ChannelRef)]


# -- the console, as the "done when" describes -----------------------------


async def test_piped_console_joins_advances_and_shows_announcement_plans_and_checkin(
    empty_store: Store,
) -> None:
    clock = FixedClock(START)
    notifier = ConsoleNotifier(clock)
    settings = Settings(_env_file=None, timezone="America/New_York")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    script = "\n".join(
        [
            "practice join",
            ":user bob",
            "practice join",
            ":user carol",
            "practice join",
            ":user dan",
            "practice join",
            ":advance 5d",
            ":advance 3d",
            "1",
            ":user alice",
            "practice status",
        ]
    )
    out = io.StringIO()
    adapter = ConsoleAdapter(
        app.bot, user="alice", stdin=io.StringIO(script + "\n"), stdout=out, notifier=notifier
    )
    await adapter.run()
    text = out.getvalue()
    assert "The next round starts Mon 23 Nov 2026, 10:00." in text
    # The announcement in the practice channel, once, at the round's start.
    assert text.count("── #practice · Tiara · Mon 23 Nov 2026, 10:00 ──") == 1
    assert "Practice round 1 is on\n2 groups this round" in text
    # dan's plan, then his check-in three days later, answered with its first button.
    assert "── DM from Tiara · Mon 23 Nov 2026, 10:00 ──\nPractice round 1: " in text
    assert "The professional to play" in text and "Questions to practise" in text
    assert "── DM from Tiara · Thu 26 Nov 2026, 10:00 ──\nDid you meet " in text
    assert "Round 1: you met" in text
    # alice reads her own plan when she speaks, and her status shows the round.
    assert text.count("Practice round 1: ") >= 2
    assert "Did you meet?: " in text


# -- rounds --------------------------------------------------------------------------


async def test_a_round_pairs_everyone_announces_and_sends_each_group_its_plan(
    cohort: Cohort,
) -> None:
    await cohort.join("ann", "ben", "cal", "dee", "eve")
    await cohort.set_workspace(practice_channel="C-practice")
    assert await cohort.at(FIRST_ROUND - timedelta(minutes=1)) == []
    sent = await cohort.at(FIRST_ROUND)
    (post,) = posts(sent)
    assert post.title == "Practice round 1 is on" and not post.private
    groups = [members for members, _ in plans(sent)]
    assert sorted(len(g) for g in groups) == [2, 3]  # five members: a pair and one trio
    assert set().union(*groups) == {"ann", "ben", "cal", "dee", "eve"}
    for members, plan in plans(sent):
        assert all(name in plan.text for name in members)
        turns = "swap" if len(members) == 2 else "rotate twice"
        assert "25 minutes" in plan.text and turns in plan.text
        assert all(f"• {c}:" in plan.text for c in ("Trends", "Insights", "Advice"))
    for members in groups:
        assert " and ".join(sorted(members)) in post.text or all(m in post.text for m in members)
    # Nothing more until the check-in.
    assert await cohort.at(FIRST_ROUND + timedelta(hours=1)) == []


async def test_rounds_follow_the_workspace_cadence_in_its_own_timezone(cohort: Cohort) -> None:
    ann, _ = await cohort.join("ann", "ben")
    await cohort.set_workspace(
        timezone="America/New_York", practice_day=2, practice_time=18 * 60 + 30, next_round_at=None
    )
    status = await ann.ok("practice status")  # Wed 18 Nov, 10:00 in New York
    assert "Next round: Wed 18 Nov 2026, 18:30" in everything(status)
    start = datetime(2026, 11, 18, 23, 30, tzinfo=UTC)  # 18:30 in New York
    assert await cohort.at(start - timedelta(minutes=1)) == []
    assert len(plans(await cohort.at(start))) == 1
    assert "Next round: Wed 25 Nov 2026, 18:30" in everything(await ann.ok("practice status"))


async def test_no_repeated_partner_while_a_new_one_exists(cohort: Cohort) -> None:
    members = await cohort.join("ann", "ben", "cal", "dee", "eve", "fay")
    for week in range(5):
        await cohort.at(FIRST_ROUND + timedelta(weeks=week))
        for m in members:  # answering keeps them in (three ignored check-ins pause)
            await m("practice checkin yes")
    rounds = await cohort.rounds()
    assert len(rounds) == 5
    pairs = [
        frozenset(p) for groups in rounds for g in groups for p in itertools.combinations(g, 2)
    ]
    assert len(pairs) == len(set(pairs)) == 15  # six members: every pair exactly once


async def test_paused_departed_and_unreachable_members_are_left_out(cohort: Cohort) -> None:
    _, ben, cal, _, _ = await cohort.join("ann", "ben", "cal", "dee", "eve")
    await ben.ok("practice pause weeks=2")
    await cal.ok("practice leave")
    cohort.notifier.failures["dee"] = DeliveryError("dm_closed", permanent=True)
    await cohort.member("dee").ok("followups")  # any reply: dee is a member with DMs closed
    async with cohort.store.transaction() as session:
        await session.execute(
            update(MemberRow).where(MemberRow.user_id == "dee").values(unreachable_at=START)
        )
    await cohort.at(FIRST_ROUND)
    assert await cohort.rounds() == [[{"ann", "eve"}]]
    # Two weeks on, ben's pause is over and he is back in.
    await cohort.at(FIRST_ROUND + timedelta(weeks=1))
    await cohort.at(FIRST_ROUND + timedelta(weeks=2))
    assert "ben" in set().union(*(await cohort.rounds())[-1])


async def test_the_only_member_is_told_there_was_nobody_to_pair_with(cohort: Cohort) -> None:
    await cohort.join("ann")
    await cohort.set_workspace(practice_channel="C-practice")
    sent = await cohort.at(FIRST_ROUND)
    (dm,) = dms(sent, "ann")
    assert dm.title == "No practice partner this round"
    assert [b.label for b in dm.buttons] == ["Find a partner now"]
    (post,) = posts(sent)
    assert post.title == "No practice pairs this round"


async def test_a_round_starts_once_even_when_two_ticks_race(cohort: Cohort) -> None:
    await cohort.join("ann", "ben")
    cohort.clock.set(FIRST_ROUND)
    await asyncio.gather(cohort.bot.tick(), cohort.bot.tick())
    assert len(await cohort.rounds()) == 1
    assert len(plans(cohort.notifier.sent)) == 1


async def test_after_an_outage_one_round_starts_not_one_per_missed_week(cohort: Cohort) -> None:
    await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND + timedelta(weeks=3, hours=2))
    assert len(await cohort.rounds()) == 1
    assert await cohort.at(FIRST_ROUND + timedelta(weeks=3, hours=3)) == []
    await cohort.at(FIRST_ROUND + timedelta(weeks=4))
    assert len(await cohort.rounds()) == 2


async def test_a_failed_plan_is_sent_again_later_and_only_once(cohort: Cohort) -> None:
    await cohort.join("ann", "ben")

    calls = 0
    original = cohort.notifier.send_group

    async def flaky(users: Any, message: Message) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DeliveryError("rate_limited")
        await original(users, message)

    cohort.notifier.send_group = flaky  # type: ignore[method-assign]
    assert plans(await cohort.at(FIRST_ROUND)) == []
    assert plans(await cohort.at(FIRST_ROUND + timedelta(minutes=1))) == []  # leased
    assert len(plans(await cohort.at(FIRST_ROUND + timedelta(minutes=6)))) == 1
    assert plans(await cohort.at(FIRST_ROUND + timedelta(minutes=12))) == []


# -- check-ins -----------------------------------------------------------------------


async def test_checkin_midway_then_one_reminder_only_for_pairs_that_have_not_met(
    cohort: Cohort,
) -> None:
    await cohort.join("ann", "ben", "cal", "dee")
    await cohort.at(FIRST_ROUND)
    sent = await cohort.at(CHECKIN)
    assert {s.to.user for s in sent if isinstance(s.to, UserRef)} == {"ann", "ben", "cal", "dee"}
    (ann_checkin,) = dms(sent, "ann")
    assert ann_checkin.title is not None and ann_checkin.title.startswith("Did you meet ")
    assert [b.label for b in ann_checkin.buttons] == ["Yes, we met", "Not yet", "Can't this round"]
    ann = cohort.member("ann")
    reply = await ann.click("Yes, we met", ann_checkin)
    assert reply.title == "Round 1: you met"
    partner = next(iter(next(g for g in (await cohort.rounds())[0] if "ann" in g) - {"ann"}))
    others = [u for u in ("ben", "cal", "dee") if u != partner]
    await cohort.member(others[0]).ok("practice checkin not_yet")
    sent = await cohort.at(REMINDER)
    reminded = {s.to.user for s in sent if isinstance(s.to, UserRef)}
    assert reminded == set(others)  # ann's pair met; the other pair gets its one reminder
    assert all((m.title or "").startswith("Still time to practise") for m in posts(sent) or [])
    assert await cohort.at(REMINDER + timedelta(days=1)) == []


async def test_three_ignored_checkins_pause_the_member_who_is_told_how_to_resume(
    cohort: Cohort,
) -> None:
    ann, _ben = await cohort.join("ann", "ben")
    for week in range(3):
        await cohort.at(FIRST_ROUND + timedelta(weeks=week))
        await cohort.at(CHECKIN + timedelta(weeks=week))  # "did you meet?" goes unanswered
    await ann.ok("practice checkin cant")  # ann answers round 3; ben never does
    sent = await cohort.at(FIRST_ROUND + timedelta(weeks=3))
    (paused,) = [m for m in dms(sent, "ben") if m.title == "Practice paused"]
    assert "/tiara practice join" in paused.text
    assert [b.label for b in paused.buttons] == ["Resume practice"]
    status = await cohort.member("ben").ok("practice status")
    assert "Paused. Resume: /tiara practice join" in everything(status)
    assert "Paused" not in everything(await ann.ok("practice status"))
    # ben resumes with the button and is paired again next round.
    await cohort.member("ben").click("Resume practice", paused)
    await cohort.at(FIRST_ROUND + timedelta(weeks=4))
    assert len((await cohort.rounds())[-1]) == 1


# -- on demand and rehearsals ----------------------------------------------------------


async def test_practice_now_waits_for_someone_then_pairs_the_two(cohort: Cohort) -> None:
    ann, ben, cal = cohort.member("ann"), cohort.member("ben"), cohort.member("cal")
    first = await ann.ok("practice now")
    assert first.title == "You're first in line"
    assert (await ann.ok("practice now")).title == "Still looking"
    matched = await ben.ok("practice now")
    assert matched.title == "You're practising with ann"
    assert (await cal.ok("practice now")).title == "You're first in line"
    sent = await cohort.at(START + timedelta(minutes=1))
    ((members, plan),) = plans(sent)
    assert members == {"ann", "ben"} and "The professional to play" in plan.text
    history = await ann.ok("practice history")
    assert "On-demand practice" in history.text and "ben" in history.text


async def test_logging_a_meeting_two_days_ahead_offers_a_rehearsal_partner(
    cohort: Cohort,
) -> None:
    ann, ben = cohort.member("ann"), cohort.member("ben")
    soon = await ann.ok('log "Dana Lee" when="tomorrow 3pm"')
    assert "Find a rehearsal partner" not in [b.label for b in soon.buttons]
    later = await ann.ok('log "Sam Ortiz" when="Nov 25 3pm"')
    assert "Find a rehearsal partner" in [b.label for b in later.buttons]
    await ben.ok("practice now")
    reply = await ann.click("Find a rehearsal partner", later)
    assert reply.title == "You're practising with ben"


# -- bad input -------------------------------------------------------------------------


async def test_bad_practice_input_says_what_to_type_and_changes_nothing(cohort: Cohort) -> None:
    ann = cohort.member("ann")
    for text, hint in (
        ("practice pause weeks=2", "/tiara practice join"),
        ("practice checkin yes", "/tiara practice history"),
        ("practice checkin maybe", "yes"),
    ):
        reply = await ann(text)
        assert reply.error and hint in reply.text, (text, reply.text)
    await ann.ok("practice join")
    reply = await ann("practice pause weeks=20")
    assert reply.error and "1" in reply.text
    assert "In: you'll be paired every round" in everything(await ann.ok("practice status"))
    async with cohort.store.transaction() as session:
        assert (await session.execute(select(PracticeRound))).first() is None


def test_workspace_cli_sets_the_practice_cadence_and_channel(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {**os.environ, "TIARA_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "COLUMNS": "200"}

    def tiara(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "adapters.cli", "workspace", *args, "-w", "cohort"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    bad = tiara("set", "--practice-day", "someday")
    assert bad.returncode == 2 and "Write it like monday or thu" in bad.stderr
    bad = tiara("set", "--practice-time", "teatime")
    assert bad.returncode == 2 and "Write it like 10:00 or 2pm" in bad.stderr
    assert tiara("show").returncode == 1  # the bad attempts created nothing
    done = tiara(
        "set",
        "--practice-day",
        "Wednesday",
        "--practice-time",
        "6:30pm",
        "--practice-every",
        "2",
        "--practice-channel",
        "<#C0MOCK|mock-interviews>",  # as Slack writes a channel
    )
    assert done.returncode == 0, done.stderr
    assert "Practice rounds: Wednesday at 18:30, every 2 weeks; announced in C0MOCK" in done.stdout


async def test_a_large_round_sends_every_plan_in_the_same_tick(cohort: Cohort) -> None:
    """Plans go out in leased batches of 200; a tick keeps going until all are sent."""
    await cohort.join("ann")
    async with cohort.store.transaction() as session:
        ws_id = (await session.execute(select(Workspace.id))).scalar_one()
        await session.execute(
            insert(MemberRow),
            [
                {
                    "workspace_id": ws_id,
                    "user_id": f"m{i}",
                    "created_at": START,
                    "practice": "active",
                }
                for i in range(501)
            ],
        )
    sent = await cohort.at(FIRST_ROUND)
    assert len(plans(sent)) == 251
    assert set().union(*(members for members, _ in plans(sent))) == {"ann"} | {
        f"m{i}" for i in range(501)
    }


async def test_every_two_weeks_means_a_round_every_other_monday(cohort: Cohort) -> None:
    await cohort.join("ann", "ben")
    await cohort.set_workspace(practice_every_weeks=2)
    await cohort.at(FIRST_ROUND)
    assert plans(await cohort.at(FIRST_ROUND + timedelta(weeks=1))) == []  # no new round
    status = everything(await cohort.member("ann").ok("practice status"))
    assert "until Mon 7 Dec 2026, 10:00" in status and "Next round: Mon 7 Dec 2026" in status
    await cohort.at(FIRST_ROUND + timedelta(weeks=2))
    assert len(await cohort.rounds()) == 2


async def test_a_stale_wait_for_a_partner_does_not_block_matching(cohort: Cohort) -> None:
    ann, ben = cohort.member("ann"), cohort.member("ben")
    await ann.ok("practice now")
    cohort.clock.set(START + timedelta(days=8))  # ann's wait ran out
    assert (await ann.ok("practice now")).title == "You're first in line"
    assert (await ben.ok("practice now")).title == "You're practising with ann"


async def test_a_member_with_reminders_off_is_not_paused_for_unseen_checkins(
    cohort: Cohort,
) -> None:
    _, ben = await cohort.join("ann", "ben")
    await ben.ok("settings nudges=off")
    for week in range(4):
        await cohort.at(FIRST_ROUND + timedelta(weeks=week))
        await cohort.at(CHECKIN + timedelta(weeks=week))
    assert "In: you'll be paired every round" in everything(await ben.ok("practice status"))


async def test_cant_this_round_spares_the_partner_the_reminder(cohort: Cohort) -> None:
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    await cohort.at(CHECKIN)
    await ann.ok("practice checkin cant")
    assert await cohort.at(REMINDER) == []


async def test_trouble_in_the_practice_step_never_holds_up_reminders(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    assert cohort.bot.ticker.runners is not None
    monkeypatch.setattr(cohort.bot.ticker.runners.practice, "tick", broken)
    await cohort.member("ann").ok('log "Dana Lee" when="today 2pm"')
    sent = await cohort.at(START + timedelta(hours=3))
    assert [m.title for m in dms(sent, "ann")] == ["Time for your thank-you to Dana Lee"]
