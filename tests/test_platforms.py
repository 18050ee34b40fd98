"""Slack and Discord served by different processes on one database: each process sends
only its own platform's reminders and digests, and leaves the others' alone."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.bootstrap import build_bot, build_registry
from bot.clock import FixedClock
from bot.core import Bot
from bot.notify import DeliveryError, RecordingNotifier
from bot.values import ChannelRef, Message, UserRef
from storage.models import Member as MemberRow
from storage.models import Nudge
from storage.store import Store
from tests.conftest import START, Member

registry = build_registry()

pytestmark = pytest.mark.asyncio

PLATFORMS = ("slack", "discord")


class OnePlatform(RecordingNotifier):
    """Records what it sends on its platform and, like a real Slack or Discord notifier
    handed another platform's user id, fails for good on any other."""

    def __init__(self, platform: str) -> None:
        super().__init__()
        self.platform = platform

    def _check(self, platform: str) -> None:
        if platform != self.platform:
            raise DeliveryError("user_not_found", permanent=True)

    async def send_dm(self, user: UserRef, message: Message) -> None:
        self._check(user.platform)
        await super().send_dm(user, message)

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        self._check(users[0].platform)
        await super().send_group(users, message)

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        self._check(channel.platform)
        await super().post_channel(channel, message)


def _platform_of(to: UserRef | ChannelRef | tuple[UserRef, ...]) -> str:
    return to[0].platform if isinstance(to, tuple) else to.platform


def _bot(store: Store, clock: FixedClock, platform: str) -> tuple[Bot, OnePlatform]:
    notifier = OnePlatform(platform)
    bot = build_bot(
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
        await student.ok("practice join")
        classmate = Member(bot, "bob", workspace=f"{platform}-cohort", platform=platform)
        await classmate.ok("practice join")
        coach = Member(bot, "coach", workspace=f"{platform}-cohort", platform=platform)
        await coach.ok("coach digest on")
        await coach.ok("coach channel #practice")
        await coach.ok("coach round now")

    # The next morning the thank-you reminders are due; on Monday afternoon the coaches'
    # digests. The Discord process ticks first each time, as if it won every race.
    for later in (timedelta(hours=19), timedelta(days=5)):
        clock.set(START + later)
        for platform in reversed(PLATFORMS):
            bot, _ = bots[platform]
            await bot.tick()

    for platform, (_, notifier) in bots.items():
        recipients = {_platform_of(s.to) for s in notifier.sent}
        assert recipients == {platform}, f"the {platform} process wrote to {recipients}"
        assert notifier.dms_to("ann"), f"the {platform} student got no reminder"
        posts = [s for s in notifier.sent if isinstance(s.to, ChannelRef)]
        assert posts, f"the {platform} practice round was not announced"
        assert any(isinstance(s.to, tuple) for s in notifier.sent), "no practice group"
        assert any("digest" in (m.title or m.text).casefold() for m in notifier.dms_to("coach"))

    async with empty_store.transaction() as session:
        failed = await session.scalar(
            select(func.count()).select_from(Nudge).where(Nudge.status == "failed")
        )
        unreachable = await session.scalar(
            select(func.count()).select_from(MemberRow).where(MemberRow.unreachable_at.is_not(None))
        )
    assert failed == 0 and unreachable == 0
