"""The coach's chart covers the weeks the coach asked about."""

from __future__ import annotations

from sqlalchemy import select

from bot.coach.digest import DIGEST_CHART_WEEKS
from bot.coach.stats import gather
from bot.core import Bot
from storage.models import Workspace
from tests.conftest import START, Member


async def _chart_weeks(bot: Bot, weeks: int, chart_weeks: int | None = None) -> int:
    async with bot.store.transaction() as session:
        ws = (await session.scalars(select(Workspace))).one()
        stats = await gather(session, ws, now=START, weeks=weeks, tz="UTC", chart_weeks=chart_weeks)
    return len(stats.chart.starts)


async def test_a_four_week_window_charts_four_weeks(bot: Bot) -> None:
    await Member(bot, "alice").ok('log contact="Dana Lee" when="yesterday 3pm"')
    assert await _chart_weeks(bot, 4) == 4
    assert await _chart_weeks(bot, 12) == 12
    assert await _chart_weeks(bot, 52) == 26  # at most half a year of bars


async def test_the_weekly_digest_charts_a_trend_not_one_week(bot: Bot) -> None:
    await Member(bot, "alice").ok('log contact="Dana Lee" when="yesterday 3pm"')
    assert await _chart_weeks(bot, 1, DIGEST_CHART_WEEKS) == DIGEST_CHART_WEEKS > 1
