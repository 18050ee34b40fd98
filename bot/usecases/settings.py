"""A member's settings: timezone, date order, reminders, quiet hours, cadence, weekly plan.

A change moves the reminders already planned when the times they follow change (the
timezone, quiet hours, nudge time, the keep-in-touch cadence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.nudges.plan import Planner
from bot.timeutil import default_date_order
from bot.usecases import Scope
from bot.zones import AUTO_TIMEZONE, effective_timezone

__all__ = ["AUTO", "MemberSettings", "SettingsChange", "change_settings"]

AUTO = "auto"  # a date order (or timezone: AUTO_TIMEZONE) no longer chosen: as usual


@dataclass(frozen=True)
class SettingsChange:
    """What to change; None leaves a setting as it is.

    ``timezone`` is an IANA name, or ``AUTO_TIMEZONE`` to follow the platform's profile;
    ``date_order`` is "dmy", "mdy" or "ymd", or ``AUTO`` (as usual in the member's zone).
    ``quiet`` is (start, end) in minutes after midnight, equal for none; ``nudge_time``
    minutes after midnight. ``nudges`` on also brings back every kind stopped.
    """

    timezone: str | None = None
    date_order: str | None = None
    nudges: bool | None = None
    quiet: tuple[int, int] | None = None
    nudge_time: int | None = None
    keep_in_touch_months: int | None = None
    weekly_plan: bool | None = None


@dataclass(frozen=True)
class MemberSettings:
    """A member's settings, as they are after a change."""

    tz: str  # the timezone in effect
    timezone: str | None  # chosen
    platform_timezone: str | None  # from their profile
    date_order: str  # in effect
    date_order_chosen: bool
    nudges_on: bool
    quiet_start: int  # minutes after midnight; equal to quiet_end: no quiet hours
    quiet_end: int
    nudge_time: int  # minutes after midnight
    keep_in_touch_months: int
    weekly_plan: bool
    stopped: tuple[str, ...]  # families of reminders stopped (bot.nudges.kinds.FAMILIES)
    now: datetime


async def change_settings(
    scope: Scope, change: SettingsChange = SettingsChange(), *, default_tz: str
) -> MemberSettings:
    """Apply ``change`` (nothing: only show them) and replan the reminders it moves.
    ``default_tz``: the timezone of a member who has none, nor their workspace."""
    member = scope.member
    before = (scope.tz, member.quiet_start, member.quiet_end, member.nudge_time)
    if change.quiet is not None:
        member.quiet_start, member.quiet_end = change.quiet
    if change.nudge_time is not None:
        member.nudge_time = change.nudge_time
    if change.timezone is not None:
        member.timezone = None if change.timezone == AUTO_TIMEZONE else change.timezone
    if change.date_order is not None:
        member.date_order = None if change.date_order == AUTO else change.date_order
    if change.keep_in_touch_months is not None:
        member.keep_in_touch_months = change.keep_in_touch_months
    if change.nudges is not None:
        member.nudges_on = change.nudges
        if change.nudges:
            member.muted_kinds = []
    tz = effective_timezone(member, default_tz)
    planner = Planner(scope.uow, member, scope.now, tz)
    if change.weekly_plan is not None:
        member.weekly_plan = change.weekly_plan
        if change.weekly_plan and "weekly_plan" in member.muted_kinds:
            member.muted_kinds = [f for f in member.muted_kinds if f != "weekly_plan"]
        await planner.weekly_plan()
    if (tz, member.quiet_start, member.quiet_end, member.nudge_time) != before or (
        change.keep_in_touch_months is not None
    ):
        await planner.replan()
    return MemberSettings(
        tz=tz,
        timezone=member.timezone,
        platform_timezone=member.platform_timezone,
        date_order=member.date_order or default_date_order(tz),
        date_order_chosen=bool(member.date_order),
        nudges_on=member.nudges_on,
        quiet_start=member.quiet_start,
        quiet_end=member.quiet_end,
        nudge_time=member.nudge_time,
        keep_in_touch_months=member.keep_in_touch_months,
        weekly_plan=member.weekly_plan,
        stopped=tuple(member.muted_kinds),
        now=scope.now,
    )
