"""The practice and settings use cases called directly, with typed arguments: what they
return and what they change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core import Bot
from bot.usecases import practice as uc
from bot.usecases.settings import AUTO, SettingsChange, change_settings
from bot.values import UserError
from bot.zones import AUTO_TIMEZONE
from storage.enums import CheckinAnswer, PracticeStatus
from tests.conftest import START, Member
from tests.test_usecases_reminders import scope_of


async def test_join_pause_and_leave(bot: Bot, alice: Member) -> None:
    await alice.ok("help")
    async with scope_of(bot, alice) as scope:
        with pytest.raises(UserError, match="not in practice yet"):
            await uc.pause(scope, weeks=2)
        joined = await uc.join(scope, default_tz="UTC")
        assert not joined.again and joined.next_round > START
        assert joined.next_round == scope.member.workspace.next_round_at
        assert (await uc.join(scope, default_tz="UTC")).again
        paused = await uc.pause(scope, weeks=2)
        assert paused == uc.Paused(2, START + timedelta(weeks=2))
        assert scope.member.practice == PracticeStatus.PAUSED
        standing = await uc.standing(scope, default_tz="UTC")
        assert standing.paused_until == paused.until and standing.next_round is not None
        assert standing.current is None and standing.rounds == 0 and not standing.waiting
        assert await uc.leave(scope) == uc.Left()
        standing = await uc.standing(scope, default_tz="UTC")
        assert standing.status == PracticeStatus.OUT and standing.next_round is None


async def test_practice_now_pairs_the_second_to_ask_and_checkin_answers(
    bot: Bot, alice: Member, bob: Member
) -> None:
    for member in (alice, bob):
        await member.ok("practice join")
    async with scope_of(bot, alice) as scope:
        assert await uc.practice_now(scope, default_tz="UTC") == uc.FirstInLine(already=False)
        assert await uc.practice_now(scope, default_tz="UTC") == uc.FirstInLine(already=True)
        assert (await uc.standing(scope, default_tz="UTC")).waiting
    async with scope_of(bot, bob) as scope:
        paired = await uc.practice_now(scope, default_tz="UTC")
        assert isinstance(paired, uc.Paired)
        assert paired.partner.user_id == "alice" and paired.plan_at is None and paired.quiet == ()
    async with scope_of(bot, alice) as scope:
        standing = await uc.standing(scope, default_tz="UTC")
        assert standing.current is not None and standing.rounds == 1
        answered = await uc.checkin(scope, answer=CheckinAnswer.NOT_YET)
        assert answered.before is None and answered.answer == CheckinAnswer.NOT_YET
        assert answered.round.on_demand
        again = await uc.checkin(scope, answer=CheckinAnswer.YES)
        assert again.before == CheckinAnswer.NOT_YET and again.answered_at == START
        assert again.next_ask is None
        assert [s.member_id for s in (await uc.history(scope)).seats] == [scope.member.id]
        with pytest.raises(UserError, match="no practice round to check in on"):
            await uc.checkin(scope, answer=CheckinAnswer.YES, round_number="7")


async def test_settings_change_and_show(bot: Bot, alice: Member) -> None:
    await alice.ok("help")
    async with scope_of(bot, alice) as scope:
        shown = await change_settings(scope, default_tz="UTC")
        assert shown.tz == "UTC" and shown.timezone is None and not shown.date_order_chosen
        changed = await change_settings(
            scope,
            SettingsChange(
                timezone="Europe/Berlin",
                date_order="dmy",
                quiet=(22 * 60, 7 * 60),
                nudge_time=8 * 60 + 30,
                keep_in_touch_months=4,
                weekly_plan=False,
            ),
            default_tz="UTC",
        )
        assert changed.tz == changed.timezone == "Europe/Berlin"
        assert changed.date_order == "dmy" and changed.date_order_chosen
        assert (changed.quiet_start, changed.quiet_end, changed.nudge_time) == (1320, 420, 510)
        assert changed.keep_in_touch_months == 4 and not changed.weekly_plan
        back = await change_settings(
            scope,
            SettingsChange(timezone=AUTO_TIMEZONE, date_order=AUTO, nudges=False),
            default_tz="UTC",
        )
        assert back.timezone is None and back.tz == "UTC" and not back.date_order_chosen
        assert not back.nudges_on
