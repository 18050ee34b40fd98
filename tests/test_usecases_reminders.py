"""The reminders' use cases called directly, with typed arguments: what they return and
what they change (the commands' texts are tested through the commands elsewhere)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core import Bot
from bot.nudges import kinds as k
from bot.usecases import Scope
from bot.usecases import reminders as uc
from bot.values import UserError
from bot.zones import effective_timezone
from storage.enums import NudgeStatus
from storage.models import Meeting, Nudge
from tests.conftest import START, Member


@asynccontextmanager
async def scope_of(bot: Bot, member: Member) -> AsyncIterator[Scope]:
    """The member's scope in a unit of work that commits when the block ends."""
    ref = member.ref
    async with bot.store.unit() as uow:
        row = await uow.members.find(ref.platform, ref.workspace, ref.user)
        assert row is not None
        tz = effective_timezone(row, bot.default_timezone)
        yield Scope(uow, row, bot.clock.now(), tz, bot.rng)


async def nudges(bot: Bot) -> list[tuple[str, str, object]]:
    async with bot.store.transaction() as session:
        rows = await session.scalars(select(Nudge).order_by(Nudge.id))
        return [(n.kind, n.status, n.due_at) for n in rows]


async def test_a_name_with_several_reminders_changes_nothing_and_numbers_them(
    bot: Bot, alice: Member
) -> None:
    await alice.ok('log "Dana Lee" when="next Tuesday 10am"')
    await alice.ok('request "Dana Lee"')
    before = await nudges(bot)
    async with scope_of(bot, alice) as scope:
        found = await uc.snooze(scope, ref="Dana")
        assert isinstance(found, uc.Several)
        assert found.person.name == "Dana Lee" and found.total == len(found.shown) > 1
        assert [n.seq for n in found.shown] == list(range(1, found.total + 1))
    assert await nudges(bot) == before


async def test_snooze_stops_at_a_reminder_s_last_useful_moment(bot: Bot, alice: Member) -> None:
    await alice.ok("settings timezone=UTC")
    await alice.ok('log "Dana Lee" when="2 hours ago"')
    async with scope_of(bot, alice) as scope:
        listing = await uc.list_reminders(scope)
        [last_call] = [n for n in listing.pending if n.kind == k.THANKS_LAST]
        assert listing.pages == 1 and listing.rest == 0
        snoozed = await uc.snooze(scope, ref=last_call.seq or 0)
        assert isinstance(snoozed, uc.Snoozed) and snoozed.nudge is last_call
        # Due Thursday 10:00; its thank-you stops mattering at 13:00 (24 hours after the
        # meeting): the latest useful moment instead of Friday 9:00.
        assert snoozed.last_useful and not snoozed.out_of_quiet
        assert snoozed.until == last_call.due_at == last_call.snoozed_until
        assert snoozed.until == START.replace(day=19, hour=12)
        assert last_call.status == NudgeStatus.PENDING


async def test_snooze_to_a_moment_past_is_refused(bot: Bot, alice: Member) -> None:
    await alice.ok('log "Dana Lee" when="2 hours ago"')
    async with scope_of(bot, alice) as scope:
        await uc.list_reminders(scope)
        with pytest.raises(UserError, match="still to come"):
            await uc.snooze(scope, ref="N1", until=START - timedelta(hours=1))


async def test_done_records_the_thank_you_and_then_says_it_is_closed(
    bot: Bot, alice: Member
) -> None:
    await alice.ok('log "Dana Lee" when="2 hours ago"')
    async with scope_of(bot, alice) as scope:
        await uc.list_reminders(scope)
        done = await uc.done(scope, ref="N1")
        assert isinstance(done, uc.Done)
        assert done.thanks_to is not None and done.thanks_to.name == "Dana Lee"
        assert done.closed is None and not done.again_later
        assert done.nudge.status == NudgeStatus.DONE
    async with bot.store.transaction() as session:
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None and meeting.thanks_at == START
    async with scope_of(bot, alice) as scope:
        again = await uc.done(scope, ref=1)
        assert isinstance(again, uc.AlreadyClosed)
        assert (
            again.title
            == "N1 was already done (closed when you recorded the thank-you to Dana Lee)"
        )
        with pytest.raises(UserError, match="nothing to snooze"):
            await uc.snooze(scope, ref=1)


async def test_a_move_on_done_closes_its_request(bot: Bot, alice: Member) -> None:
    await alice.ok('request "Dana Lee"')
    async with scope_of(bot, alice) as scope:
        [move_on] = [n for n in (await uc.list_reminders(scope)).pending if n.kind == k.MOVE_ON]
        done = await uc.done(scope, ref=move_on.seq or 0)
        assert isinstance(done, uc.Done)
        assert done.closed is not None and done.closed.status == "closed"


async def test_a_page_past_the_last_is_refused(bot: Bot, alice: Member) -> None:
    await alice.ok('request "Dana Lee"')
    async with scope_of(bot, alice) as scope:
        assert (await uc.list_reminders(scope)).pages == 1
        with pytest.raises(UserError) as refused:
            await uc.list_reminders(scope, page=2)
        assert refused.value.option == "page"


async def test_nobody_s_reminders_list_empty_whatever_the_page(bot: Bot, alice: Member) -> None:
    await alice.ok("nudge stop weekly_plan")
    async with scope_of(bot, alice) as scope:
        listing = await uc.list_reminders(scope, page=3)
        assert listing.shown == () and listing.pages == 0
        assert listing.stopped == (k.FAMILY_NAMES["weekly_plan"],)
        assert listing.reminders_on


async def test_stopping_the_weekly_plan_turns_it_off(bot: Bot, alice: Member) -> None:
    await alice.ok("help")
    async with scope_of(bot, alice) as scope:
        stopped = await uc.stop_kind(scope, family="weekly_plan")
        assert stopped == uc.Stopped("weekly_plan")
        assert scope.member.muted_kinds == ["weekly_plan"] and not scope.member.weekly_plan
        await uc.stop_kind(scope, family="weekly_plan")  # twice: stopped once
        assert scope.member.muted_kinds == ["weekly_plan"]


async def test_landed_names_the_helpers(bot: Bot, alice: Member) -> None:
    await alice.ok('log "Dana Lee" when="yesterday 10am"')
    async with scope_of(bot, alice) as scope:
        landed = await uc.landed(scope, organization="Acme", role="Analyst")
        assert landed == uc.Landed("Acme", "Analyst", ("Dana Lee",))
