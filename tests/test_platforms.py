"""Slack and Discord served by different processes on one database: each process sends
only its own platform's reminders and digests, and leaves the others' alone."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.commands import registry
from bot.core import Bot
from bot.notify import RecordingNotifier
from bot.values import UserRef
from storage.models import Member as MemberRow
from storage.models import Nudge
from storage.store import Store
from tests.conftest import START, Member

pytestmark = pytest.mark.asyncio

PLATFORMS = ("slack", "discord")


def _bot(store: Store, clock: FixedClock, platform: str) -> tuple[Bot, RecordingNotifier]:
    notifier = RecordingNotifier()
    bot = Bot(
        store=store,
        clock=clock,
        registry=registry,
        rng=random.Random(1),
        notifier=notifier,
        coaches=frozenset({"coach"}),
        platforms=frozenset({platform}),
    )
    return bot, notifier


async def test_each_process_sends_only_its_platforms_reminders_and_digests(
    empty_store: Store,
) -> None:
    await empty_store.upgrade()
    clock = FixedClock(START)
    bots = {p: _bot(empty_store, clock, p) for p in PLATFORMS}
    for platform, (bot, _) in bots.items():
        student = Member(bot, "ann", workspace=f"{platform}-cohort", platform=platform)
        await student.ok('log contact="Dana Lee" when="2 hours ago" notes="met for coffee"')
        await student.ok('request contact="Sam Ortiz" via=email')
        coach = Member(bot, "coach", workspace=f"{platform}-cohort", platform=platform)
        await coach.ok("coach digest on")

    # The next morning the thank-you reminders are due; on Monday afternoon the coaches'
    # digests. The Discord process ticks first each time, as if it won every race.
    for later in (timedelta(hours=19), timedelta(days=5)):
        clock.set(START + later)
        for platform in reversed(PLATFORMS):
            bot, _ = bots[platform]
            await bot.tick()

    for platform, (_, notifier) in bots.items():
        recipients = {s.to.platform for s in notifier.sent if isinstance(s.to, UserRef)}
        assert recipients == {platform}, f"the {platform} process wrote to {recipients}"
        assert notifier.dms_to("ann"), f"the {platform} student got no reminder"
        assert any("digest" in (m.title or m.text).casefold() for m in notifier.dms_to("coach"))

    async with empty_store.transaction() as session:
        failed = await session.scalar(
            select(func.count()).select_from(Nudge).where(Nudge.status == "failed")
        )
        unreachable = await session.scalar(
            select(func.count()).select_from(MemberRow).where(MemberRow.unreachable_at.is_not(None))
        )
    assert failed == 0 and unreachable == 0
