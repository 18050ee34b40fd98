"""Issue 19, a new user's walk through practice: a cadence change never starts a round
while one runs; a round without pairs isn't announced as "on"; the professional is played
first by each member in turn; `practice now` says when a plan held by quiet hours arrives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.notify import RecordingNotifier
from bot.values import Message
from storage.models import PracticeRound, Workspace
from storage.store import Store
from tests.conftest import START
from tests.test_practice import FIRST_ROUND, ROUND_END, Cohort, dms, plans, posts

# Round 1 runs Mon 23 Nov 10:00 to Mon 30 Nov 10:00 (UTC). On its Tuesday the coach moves
# the rounds to Wednesdays at 15:00: the next Wednesday (25 Nov) falls inside round 1.
TUESDAY = FIRST_ROUND + timedelta(days=1)
NEXT_WEDNESDAY = datetime(2026, 11, 25, 15, tzinfo=UTC)
NEW_FIRST = datetime(2026, 12, 2, 15, tzinfo=UTC)  # the first Wednesday after round 1


@pytest.fixture
async def cohort(empty_store: Store, clock: FixedClock) -> AsyncIterator[Cohort]:
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC", coaches="coach")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    yield Cohort(app.bot, clock, notifier, empty_store)


async def round_starts(cohort: Cohort) -> list[tuple[int, datetime]]:
    async with cohort.store.transaction() as session:
        rows = await session.execute(
            select(PracticeRound.number, PracticeRound.started_at).order_by(PracticeRound.id)
        )
        return [(n, at.replace(tzinfo=UTC) if at.tzinfo is None else at) for n, at in rows]


def who_plays_first(plan: Message) -> str:
    """The name the plan has play the professional first."""
    line = next(x for x in plan.text.splitlines() if x.startswith("• First "))
    return line.split(": ", 1)[1].split(" plays ", 1)[0]


# -- 1. a cadence change waits for the round on now ------------------------------------


async def test_a_cadence_change_mid_round_starts_the_new_cadence_after_the_round(
    cohort: Cohort,
) -> None:
    ann, ben = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    cohort.clock.set(TUESDAY)
    reply = await cohort.member("coach").ok("coach cadence day=wednesday time=3pm")
    assert (
        "Round 1 runs until Mon 30 Nov 2026, 10:00; the new cadence starts with round 2 on "
        "Wed 2 Dec 2026, 15:00." in reply.text
    ), reply.text
    # Wednesday inside round 1: nothing starts, and no plan is sent.
    assert plans(await cohort.at(NEXT_WEDNESDAY)) == []
    assert [n for n, _ in await round_starts(cohort)] == [1]
    # Thursday's check-in is round 1's, and a typed answer counts for round 1.
    (ask,) = dms(await cohort.at(FIRST_ROUND + timedelta(days=3)), "ann")
    assert "Round 1 ends Mon 30 Nov 2026, 10:00" in ask.text
    assert (await ben.ok("practice checkin yes")).title == "Round 1: you met"
    assert (
        "Round 1, Mon 23 Nov 2026, 10:00: ben · you met" in (await ann.ok("practice history")).text
    )
    # Round 1 ends on Monday; round 2 starts on the new cadence's first Wednesday after.
    assert plans(await cohort.at(ROUND_END + timedelta(days=1))) == []
    assert len(plans(await cohort.at(NEW_FIRST))) == 1
    assert await round_starts(cohort) == [(1, FIRST_ROUND), (2, NEW_FIRST)]
    shown = await cohort.member("coach").ok("coach cadence")
    assert "Round 2 runs until Wed 9 Dec 2026, 15:00" in shown.text


async def test_a_cadence_change_between_rounds_moves_the_next_round_as_before(
    cohort: Cohort,
) -> None:
    await cohort.join("ann", "ben")
    reply = await cohort.member("coach").ok("coach cadence day=thursday time=2pm")
    assert "The next round starts Thu 19 Nov 2026, 14:00." in reply.text


def test_the_workspace_cli_also_waits_for_the_round_on_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tiara workspace set --practice-day` mid-round: the next round follows round 1."""
    from adapters import cli
    from bot.clock import SystemClock

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def first_round() -> None:
        store = Store(url)
        await store.upgrade()
        clock = FixedClock(START)
        settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
        app = await build_app(settings, clock=clock, store=store, notifier=RecordingNotifier())
        cohort = Cohort(app.bot, clock, RecordingNotifier(), store)
        await cohort.join("ann", "ben")
        await cohort.at(FIRST_ROUND)
        await store.close()

    asyncio.run(first_round())
    monkeypatch.setenv("TIARA_DATABASE_URL", url)
    monkeypatch.setattr(SystemClock, "now", lambda self: TUESDAY)
    done = CliRunner().invoke(
        cli.cli,
        [
            "workspace",
            "set",
            "-p",
            "test",
            "-w",
            "cohort",
            "--practice-day",
            "wed",
            "--practice-time",
            "3pm",
        ],
    )
    assert done.exit_code == 0, done.output

    async def next_round() -> datetime | None:
        store = Store(url)
        async with store.transaction() as session:
            at = (await session.scalars(select(Workspace.next_round_at))).one()
        await store.close()
        return at

    at = asyncio.run(next_round())
    assert at is not None and at.replace(tzinfo=UTC) == NEW_FIRST, at


# -- 2. no pairs, no "round is on" ----------------------------------------------------


async def test_a_round_with_nobody_to_pair_is_not_announced_as_on(cohort: Cohort) -> None:
    await cohort.join("ann")
    await cohort.set_workspace(practice_channel="C-practice")
    (post,) = posts(await cohort.at(FIRST_ROUND))
    assert post.title == "No practice pairs this round"
    assert "nobody to pair" in post.text
    assert "The next round starts Mon 30 Nov 2026, 10:00 (UTC)" in post.text
    assert "/tiara practice join" in post.text
    # Once two are in, the round is on as before.
    await cohort.join("ben")
    (post,) = posts(await cohort.at(ROUND_END))
    assert post.title == "Practice round 2 is on" and "ann and ben" in post.text


# -- 3. the professional, in turn ------------------------------------------------------


async def test_whoever_played_the_professional_first_asks_first_next_time(
    cohort: Cohort,
) -> None:
    await cohort.join("ann", "ben")
    first = []
    for week in range(3):
        ((_, plan),) = plans(await cohort.at(FIRST_ROUND + timedelta(weeks=week)))
        first.append(who_plays_first(plan))
    assert first in (["ann", "ben", "ann"], ["ben", "ann", "ben"]), first
    # A pairing on demand takes its turn too.
    ann, ben = cohort.member("ann"), cohort.member("ben")
    await ann.ok("practice now")
    await ben.ok("practice now")
    ((_, plan),) = plans(await cohort.at(cohort.clock.now() + timedelta(minutes=1)))
    assert who_plays_first(plan) == first[1]


# -- 4. practice now and the partner's quiet hours --------------------------------------


async def test_practice_now_says_when_a_plan_held_by_quiet_hours_arrives(
    cohort: Cohort,
) -> None:
    ann, ben = cohort.member("ann"), cohort.member("ben")
    await ben.ok("settings timezone=Asia/Tokyo")  # 15:00 UTC is midnight in Tokyo
    assert (await ben.ok("practice now")).title == "You're first in line"
    reply = await ann.ok("practice now")
    assert reply.title == "You're practising with ben"
    assert "sending you both" not in reply.text
    # Ben wakes at 08:00 Tokyo (23:00 UTC), when ann's own quiet hours (21-8) have begun:
    # the plan goes when neither is asleep, 08:00 UTC.
    assert "It's ben's quiet hours now" in reply.text
    assert "Thu 19 Nov 2026, 08:00 (your time)" in reply.text, reply.text
    assert plans(await cohort.at(datetime(2026, 11, 19, 7, 59, tzinfo=UTC))) == []
    assert len(plans(await cohort.at(datetime(2026, 11, 19, 8, tzinfo=UTC)))) == 1


async def test_practice_now_in_waking_hours_sends_the_plan_right_away(cohort: Cohort) -> None:
    ann, ben = cohort.member("ann"), cohort.member("ben")
    await ben.ok("practice now")
    reply = await ann.ok("practice now")
    assert "I'm sending you both a practice plan in a DM." in reply.text
    assert len(plans(await cohort.at(START + timedelta(minutes=1)))) == 1


async def test_a_round_started_by_hand_during_one_asks_first_then_ends_it(
    cohort: Cohort,
) -> None:
    await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    cohort.clock.set(TUESDAY)
    coach = cohort.member("coach")
    asked = await coach.ok("coach round now")
    assert asked.title == "Round 1 is still on" and "Nothing has changed yet" in asked.text
    kept = await coach.click("Keep round 1", asked)
    assert "Round 1 runs until Mon 30 Nov 2026, 10:00" in kept.text
    assert plans(await cohort.at(TUESDAY + timedelta(minutes=1))) == []  # nothing started
    await coach.click("End round 1 and start a new one", asked)
    started = await cohort.at(TUESDAY + timedelta(minutes=2))
    assert len(plans(started)) == 1  # ann and ben's plan, for round 2
    assert [n for n, _ in await round_starts(cohort)] == [1, 2]
    # Round 1's Thursday check-in doesn't come: round 2's does, naming round 2.
    asks = dms(await cohort.at(FIRST_ROUND + timedelta(days=3)), "ann")
    assert all("Round 1 " not in m.text for m in asks)


async def test_a_plan_held_past_its_rounds_end_is_never_sent(cohort: Cohort) -> None:
    """Round 1 starts in ann's quiet hours, so its plan waits; the coach ends it early.
    When the quiet hours end, only round 2's plan arrives, not one with a past deadline."""
    ann, _ = await cohort.join("ann", "ben")
    await ann.ok("settings quiet=9-12")  # round 1 starts at 10:00: held until 12:00
    assert plans(await cohort.at(FIRST_ROUND)) == []
    cohort.clock.set(FIRST_ROUND + timedelta(minutes=30))
    coach = cohort.member("coach")
    await coach.click("End round 1 and start a new one", await coach.ok("coach round now"))
    assert plans(await cohort.at(FIRST_ROUND + timedelta(minutes=31))) == []  # still quiet
    sent = plans(await cohort.at(FIRST_ROUND + timedelta(hours=2)))
    assert [(m.title or "").split(":")[0] for _, m in sent] == ["Practice round 2"]
