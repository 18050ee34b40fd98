"""The dashboard (Slack's App Home) is what the member's commands answer: the intro with its
buttons, then `meetings`, `followups` and `practice status`, drawn by their use cases and
renderers in one unit of work. Someone Tiara doesn't know sees the intro only, and looking
writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.bootstrap import build_app
from adapters.testing import TestNotifier, pass_time
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.dashboard import INTRO, dashboard
from bot.usecases import Scope
from bot.values import Message, UserRef
from bot.zones import effective_timezone
from storage.models import Member as MemberRow
from storage.store import Store
from tests.conftest import Member


@dataclass
class World:
    bot: Bot
    clock: FixedClock
    alice: Member
    bob: Member


@pytest.fixture
async def world(empty_store: Store, clock: FixedClock) -> AsyncIterator[World]:
    notifier = TestNotifier(clock)
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    bot = app.bot
    yield World(
        bot,
        clock,
        Member(bot, "alice", clock=clock, notifier=notifier),
        Member(bot, "bob", clock=clock, notifier=notifier),
    )


async def drawn(bot: Bot, user: UserRef) -> list[Message]:
    """The dashboard of ``user``, in one unit of work, as the bot draws it."""
    async with bot.store.unit() as uow:
        member = await uow.members.find(user.platform, user.workspace, user.user)
        scope = None
        if member is not None:
            tz = effective_timezone(member, bot.default_timezone)
            scope = Scope(uow, member, bot.clock.now(), tz, bot.rng)
        return await dashboard(scope, default_tz=bot.default_timezone)


async def test_the_dashboard_is_what_the_commands_answer(world: World) -> None:
    alice, bob = world.alice, world.bob
    await alice.ok("settings timezone=UTC")
    await alice.ok('log "Dana Lee" when="2 hours ago"')  # a last call to thank her, 10:00
    await alice.ok('log "Sam Ortiz" when="next Tuesday 10am"')
    await pass_time(world.bot, world.clock, timedelta(hours=20))  # Thursday 11:00
    for member in (alice, bob):
        await member.ok("practice join")
        await member.ok("practice now")  # bob finds alice waiting

    intro, meetings, followups, practice = await drawn(world.bot, alice.ref)

    assert intro == INTRO
    assert [b.label for b in intro.buttons] == ["Log a meeting", "TIARA questions", "Help"]
    assert meetings.title == "Your meetings and requests"
    assert "Upcoming\n• M2" in meetings.text and "Sam Ortiz" in meetings.text
    assert "Recent\n• M1" in meetings.text and "Dana Lee" in meetings.text
    assert followups.title == "Your reminders"
    waiting = followups.text.split("\n\n")[0]
    assert waiting.startswith("Sent, waiting for you\n• N1") and "thank" in waiting.casefold()
    assert "Done N1" in [b.label for b in followups.buttons]
    assert practice.title == "Your practice"
    fields = {f.label: f.value for f in practice.fields}
    assert fields["Practice"] == "In: you'll be paired every round"
    assert fields["On-demand practice"].startswith("with bob")
    assert fields["Rounds so far"] == "1"
    # Each section is what its command answers, and the bot's dashboard is the same.
    assert [meetings, followups, practice] == [
        await alice.ok("meetings"),
        await alice.ok("followups"),
        await alice.ok("practice status"),
    ]
    assert await world.bot.dashboard(alice.ref) == [intro, meetings, followups, practice]


async def test_a_member_with_nothing_yet_sees_every_section_empty(world: World) -> None:
    await world.alice.ok("settings timezone=UTC")
    _, meetings, followups, practice = await drawn(world.bot, world.alice.ref)
    assert meetings.title == "No meetings or requests yet"
    assert followups.title == "No reminders right now"
    assert {f.label: f.value for f in practice.fields}["Practice"] == (
        "Not in practice. Join: /tiara practice join"
    )


async def test_someone_tiara_does_not_know_sees_the_intro_only(world: World) -> None:
    stranger = UserRef("test", "cohort", "stranger")
    assert await drawn(world.bot, stranger) == [INTRO]
    assert await world.bot.dashboard(stranger) == [INTRO]
    async with world.bot.store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(MemberRow)) == 0
