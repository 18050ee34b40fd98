"""Practice messages respect quiet hours and show each member's own time (issue 19)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import RecordingNotifier, Sent
from bot.practice.rounds import round_times
from bot.values import Message, UserRef
from storage.models import Member as MemberRow
from storage.store import Store
from tests.conftest import Member

# Wed 18 Nov 2026; the workspace's zone is UTC, so the first round starts Mon 23 Nov, 10:00
# UTC: 05:00 in New York, inside its members' quiet hours (21:00-08:00).
FIRST_ROUND = datetime(2026, 11, 23, 10, tzinfo=UTC)
NY_MORNING = datetime(2026, 11, 23, 13, tzinfo=UTC)  # 08:00 in New York


@pytest.fixture
async def world(
    empty_store: Store, clock: FixedClock
) -> AsyncIterator[tuple[Bot, FixedClock, RecordingNotifier]]:
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    yield app.bot, clock, notifier


async def _join(bot: Bot, zones: dict[str, str]) -> None:
    for user in zones:
        await Member(bot, user).ok("practice join")
    async with bot.store.transaction() as session:
        for user, zone in zones.items():
            await session.execute(
                update(MemberRow).where(MemberRow.user_id == user).values(timezone=zone)
            )


async def _at(
    world: tuple[Bot, FixedClock, RecordingNotifier], when: datetime
) -> list[tuple[set[str], Message]]:
    bot, clock, notifier = world
    clock.set(when)
    notifier.clear()
    await bot.tick()
    return [(_users(s), s.message) for s in notifier.sent]


def _users(sent: Sent) -> set[str]:
    if isinstance(sent.to, UserRef):
        return {sent.to.user}
    return {u.user for u in sent.to} if isinstance(sent.to, tuple) else set()


async def test_a_plan_waits_for_the_end_of_quiet_hours_and_shows_local_time(
    world: tuple[Bot, FixedClock, RecordingNotifier],
) -> None:
    await _join(world[0], {"ann": "America/New_York", "ben": "America/New_York"})
    assert await _at(world, FIRST_ROUND) == []  # 05:00 for both: nothing yet
    assert await _at(world, NY_MORNING - timedelta(minutes=1)) == []
    ((to, plan),) = await _at(world, NY_MORNING)
    assert to == {"ann", "ben"}
    # The deadline (next Monday 10:00 UTC) in their zone, not UTC.
    assert "before Mon 30 Nov 2026, 05:00 (America/New_York)" in plan.text
    assert "(UTC)" not in plan.text
    assert await _at(world, NY_MORNING + timedelta(minutes=10)) == []  # sent once


async def test_a_group_across_zones_gets_it_when_all_are_awake_with_each_zone_s_time(
    world: tuple[Bot, FixedClock, RecordingNotifier],
) -> None:
    await _join(world[0], {"ann": "America/New_York", "ben": "Europe/Berlin"})
    assert await _at(world, FIRST_ROUND) == []  # ann is asleep (05:00), ben is not
    ((to, plan),) = await _at(world, NY_MORNING)  # 08:00 for ann, 14:00 for ben
    assert to == {"ann", "ben"}
    assert "Mon 30 Nov 2026, 05:00 for ann (America/New_York)" in plan.text
    assert "Mon 30 Nov 2026, 11:00 for ben (Europe/Berlin)" in plan.text


async def test_check_ins_wait_for_quiet_hours_and_show_the_member_s_time(
    world: tuple[Bot, FixedClock, RecordingNotifier],
) -> None:
    await _join(world[0], {"ann": "America/New_York", "ben": "America/New_York"})
    await _at(world, NY_MORNING)
    thursday = FIRST_ROUND + timedelta(days=3)  # 05:00 in New York
    assert await _at(world, thursday) == []
    sent = await _at(world, thursday + timedelta(hours=3))  # 08:00 in New York
    assert {u for to, _ in sent for u in to} == {"ann", "ben"}
    for _, checkin in sent:
        assert "Round 1 ends Mon 30 Nov 2026, 05:00" in checkin.text


def test_the_check_in_is_on_thursday_even_when_the_round_starts_a_little_late() -> None:
    slot = FIRST_ROUND  # a Monday
    ends = slot + timedelta(weeks=1)
    for late in (timedelta(0), timedelta(seconds=30), timedelta(minutes=5)):
        checkin, remind = round_times(slot + late, ends)
        assert checkin.strftime("%A") == "Thursday", late
        assert remind < ends
    checkin, _ = round_times(slot + timedelta(seconds=30), slot + timedelta(weeks=2))
    assert (checkin - slot).days == 6  # three sevenths of a fortnight


async def test_the_console_clock_stops_at_a_held_plan(
    world: tuple[Bot, FixedClock, RecordingNotifier],
) -> None:
    """:advance jumps from one due moment to the next: a plan held for quiet hours is one."""
    await _join(world[0], {"ann": "America/New_York", "ben": "America/New_York"})
    assert await _at(world, FIRST_ROUND) == []  # held until 08:00 in New York
    bot = world[0]
    assert await bot.ticker.next_due(FIRST_ROUND + timedelta(days=1)) == NY_MORNING
