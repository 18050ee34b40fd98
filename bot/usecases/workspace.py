"""Use cases of a workspace's settings: follow-up policy, holidays, timezone, practice
cadence and channel, a round started now (a coach's digest, stats and audit log:
bot.usecases.cohort).

A workspace's settings belong to no member, so these use cases take a
:class:`WorkspaceScope`: the unit of work, the workspace, the moment, the configured default
timezone and who acts, if anyone. A coach's command acts as the coach
(``WorkspaceScope.of(ctx.scope, ctx.default_tz)``) and each change is recorded in the audit
log under their name; ``tiara workspace set`` acts as no one (the operator) and, as
before, records nothing.

``/tiara coach ...`` and ``tiara workspace set`` read what people type with the same
readers here (``holiday_place``, ``read_changes``) and change a workspace through the same
functions, so the two agree on what they accept, what they refuse (same words) and what
they plan again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from bot.businessdays import parse_date_list, resolve_country, workspace_calendar
from bot.nudges.plan import FOLLOW_UP_POLICIES, replan_follow_ups, replan_workspace
from bot.practice import cadence
from bot.practice.rounds import workspace_tz
from bot.usecases import Scope
from bot.values import UserError
from bot.zones import resolve_timezone
from storage.models import Member, PracticeRound, Workspace
from storage.unit import UnitOfWork

__all__ = [
    "KEEP",
    "CadenceChange",
    "CadenceView",
    "HolidaysView",
    "Keep",
    "Place",
    "PolicyView",
    "RoundNow",
    "RunningRound",
    "WorkspaceChanges",
    "WorkspaceFound",
    "WorkspaceScope",
    "WorkspaceView",
    "configure",
    "follow_up_policy",
    "holiday_place",
    "holidays",
    "practice_cadence",
    "practice_channel",
    "read_changes",
    "read_policy",
    "start_round_now",
    "workspace_for",
]


class Keep(Enum):
    KEEP = "keep"


KEEP: Final = Keep.KEEP  # a setting left as it is (where None would take it away)

HolidayAction = Literal["add", "remove"]
T = TypeVar("T")
R = TypeVar("R")
_NO_COUNTRY = frozenset({"none", "no", "off", "-", ""})


@dataclass(frozen=True)
class WorkspaceScope:
    """A workspace, the moment, in which transaction, and who changes it (None: the
    operator, whose changes are not audited)."""

    uow: UnitOfWork
    workspace: Workspace
    now: datetime
    default_tz: str  # the configured timezone (a workspace without one of its own)
    actor: Member | None = None

    @classmethod
    def of(cls, scope: Scope, default_tz: str) -> WorkspaceScope:
        """The member's workspace, changed by them."""
        return cls(scope.uow, scope.member.workspace, scope.now, default_tz, scope.member)

    @property
    def tz(self) -> str:
        """The workspace's timezone (practice rounds start in it), else the default."""
        return workspace_tz(self.workspace, self.default_tz)

    def audit(self, action: str, detail: str = "") -> None:
        if self.actor is not None:
            self.uow.coach.record(
                self.workspace.id, at=self.now, action=action, detail=detail, actor=self.actor
            )


# -- follow-up policy ------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyView:
    policy: str
    changed: bool

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(p for p in FOLLOW_UP_POLICIES if p != self.policy)


def read_policy(text: str) -> str:
    policy = text.strip().casefold()
    if policy not in FOLLOW_UP_POLICIES:
        raise UserError(f"use one of: {', '.join(FOLLOW_UP_POLICIES)}", option="policy")
    return policy


async def follow_up_policy(scope: WorkspaceScope, choose: str | None = None) -> PolicyView:
    """The follow-up policy; ``choose`` one (of FOLLOW_UP_POLICIES) and the follow-ups still
    to come are planned again under it."""
    ws = scope.workspace
    if choose is None or choose == ws.followup_policy:
        return PolicyView(ws.followup_policy, changed=False)
    ws.followup_policy = read_policy(choose)
    await replan_follow_ups(scope.uow, ws, scope.default_tz, scope.now)
    scope.audit("policy", ws.followup_policy)
    return PolicyView(ws.followup_policy, changed=True)


# -- holidays --------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Whose public holidays count: a country code and maybe a region; no country: none."""

    country: str | None = None
    subdivision: str | None = None

    @property
    def detail(self) -> str:
        """As the audit log shows it: "country US-NY", "country none"."""
        if self.country is None:
            return "country none"
        return f"country {self.country}" + (f"-{self.subdivision}" if self.subdivision else "")

    @classmethod
    def read(cls, text: str) -> Place:
        """``US``, ``US-NY`` or ``none``, as ``tiara workspace set --country`` takes it."""
        if text.strip().casefold() in _NO_COUNTRY:
            return cls()
        code, _, region = text.strip().partition("-")
        return cls(*resolve_country(code, region or None))


def holiday_place(
    ws: Workspace, country: str | None, subdivision: str | None, *, subdivision_given: bool
) -> Place:
    """What ``country=`` and ``subdivision=`` of /tiara coach holidays ask for: no country
    given keeps the workspace's; the same country again keeps its region unless one is
    given."""
    country = ws.holiday_country if country is None else country
    if country is None or country.strip().casefold() in _NO_COUNTRY:
        if subdivision:
            raise UserError(
                "Say the country too, e.g. /tiara coach holidays country=US subdivision=NY",
                option="country",
            )
        return Place()
    code, sub = resolve_country(country, subdivision)
    if not subdivision_given and code == ws.holiday_country:
        sub = ws.holiday_subdivision  # the same country: its region stays
    return Place(code, sub)


def _set_place(ws: Workspace, place: Place) -> None:
    ws.holiday_country, ws.holiday_subdivision = place.country, place.subdivision


@dataclass(frozen=True)
class HolidaysView:
    changed: bool
    place: str | None  # whose public holidays count ("Germany (Bayern)"), None: no country
    today: date  # in the workspace's timezone
    upcoming: tuple[tuple[date, str], ...]  # the next four months' holidays, with names
    own: tuple[str, ...]  # the workspace's own days off (ISO dates)


def _holidays_view(scope: WorkspaceScope, changed: bool) -> HolidaysView:
    ws = scope.workspace
    calendar = workspace_calendar(ws)
    today = scope.now.astimezone(ZoneInfo(scope.tz)).date()
    return HolidaysView(
        changed=changed,
        place=calendar.place or None,
        today=today,
        upcoming=tuple(calendar.upcoming(today, days=120)),
        own=tuple(ws.holidays),
    )


async def holidays(
    scope: WorkspaceScope,
    *,
    place: Place | None = None,
    action: HolidayAction | None = None,
    days: Collection[date] = (),
) -> HolidaysView:
    """The days that don't count as business days; set whose public holidays count
    (``place``) and ``add`` or ``remove`` days of the workspace's own. Every follow-up still
    to come is planned again around them."""
    ws = scope.workspace
    changed: list[str] = []
    if place is not None:
        _set_place(ws, place)
        changed.append(place.detail)
    if action is not None:
        typed = {day.isoformat() for day in days}
        own = set(ws.holidays)
        if action == "add":
            fresh, same = typed - own, typed & own
            ws.holidays = sorted(own | typed)
        else:
            fresh, same = typed & own, typed - own
            ws.holidays = sorted(own - typed)
        if not fresh:
            already = "already a holiday" if action == "add" else "not a holiday"
            shown = ", ".join(sorted(same))
            raise UserError(
                f"{shown} {'is' if len(same) == 1 else 'are'} {already}; nothing changed.",
                option="date",
            )
        changed.append(f"{action} {', '.join(sorted(fresh))}")
    if changed:  # every policy's follow-ups move off holidays
        await replan_follow_ups(scope.uow, ws, scope.default_tz, scope.now)
        for detail in changed:
            scope.audit("holidays", detail)
    return _holidays_view(scope, bool(changed))


# -- practice: cadence, channel, a round now -------------------------------------------


@dataclass(frozen=True)
class CadenceChange:
    """When rounds start: weekday (0 Monday), minutes after midnight, weeks between."""

    day: int | None = None
    time: int | None = None
    every: int | None = None

    def fields(self) -> dict[str, int]:
        """As the workspace's columns (cadence.CADENCE_FIELDS) name them."""
        named = {"practice_day": self.day, "practice_time": self.time}
        named["practice_every_weeks"] = self.every
        return {name: value for name, value in named.items() if value is not None}


@dataclass(frozen=True)
class RunningRound:
    number: int
    ends_at: datetime


@dataclass(frozen=True)
class CadenceView:
    changed: bool
    text: str  # "Thursday at 14:00, every 2 weeks"
    tz: str  # the workspace's timezone, which the cadence is in
    next_round_at: datetime | None  # None: no one has joined practice yet
    next_number: int
    running: RunningRound | None  # the round on now, which runs to its end


def _running(found: PracticeRound | None) -> RunningRound | None:
    return RunningRound(found.number, found.ends_at) if found is not None else None


async def _move_rounds(scope: WorkspaceScope, change: CadenceChange) -> RunningRound | None:
    """Apply ``change`` and move the next round to the cadence (in the workspace's
    timezone), after the round on now; return that round."""
    ws = scope.workspace
    running = _running(await scope.uow.practice.running_round(ws.id, scope.now))
    ends = running.ends_at if running is not None else None
    cadence.change_cadence(ws, change.fields(), tz=scope.tz, now=scope.now, running_until=ends)
    return running


async def practice_cadence(
    scope: WorkspaceScope, change: CadenceChange = CadenceChange()
) -> CadenceView:
    """When practice rounds start; a ``change`` moves the next round, never into the one
    on now: that runs to its end."""
    ws = scope.workspace
    changed = bool(change.fields())
    if changed:
        running = await _move_rounds(scope, change)
        scope.audit("cadence", cadence.cadence_text(ws))
    else:
        running = _running(await scope.uow.practice.running_round(ws.id, scope.now))
    return CadenceView(
        changed=changed,
        text=cadence.cadence_text(ws),
        tz=scope.tz,
        next_round_at=ws.next_round_at,
        next_number=ws.rounds_held + 1,
        running=running,
    )


async def practice_channel(scope: WorkspaceScope, channel: str | Keep | None = KEEP) -> str | None:
    """Where rounds are announced (None: nowhere); ``channel`` sets it (None takes it away)."""
    ws = scope.workspace
    if channel is not KEEP:
        ws.practice_channel = channel
        scope.audit("channel", channel or "none")
    return ws.practice_channel


@dataclass(frozen=True)
class RoundNow:
    started: bool  # False: a round is on, and ending it early wasn't asked for
    running: RunningRound | None  # the round on now (ended early when started)


async def start_round_now(scope: WorkspaceScope, *, end_running: bool = False) -> RoundNow:
    """Start a practice round now instead of at the cadence's next slot. A round on now
    ends early first, but only when ``end_running`` says so: two rounds at once would mix
    up whose check-in answers which round."""
    ws = scope.workspace
    if ws.next_round_at is None:
        raise UserError(
            "No one has joined practice yet, so there's no one to pair. Ask students to "
            "type /tiara practice join."
        )
    found = await scope.uow.practice.running_round(ws.id, scope.now)
    if found is not None and not end_running:
        return RoundNow(started=False, running=_running(found))
    running = _running(found)
    if found is not None:
        await scope.uow.practice.end_early(found, scope.now)  # closed before the new one
    ws.next_round_at = scope.now
    scope.audit("round", "now")
    return RoundNow(started=True, running=running)


# -- the operator's `tiara workspace` --------------------------------------------------


@dataclass(frozen=True)
class WorkspaceChanges:
    """What ``tiara workspace set`` changes at once (None or KEEP: nothing)."""

    policy: str | None = None
    holidays: tuple[date, ...] | None = None  # replaces the workspace's own days
    place: Place | None = None
    timezone: str | None = None
    channel: str | Keep | None = KEEP
    cadence: CadenceChange = field(default_factory=CadenceChange)

    @property
    def changing(self) -> bool:
        wanted = (self.policy, self.holidays, self.place, self.timezone)
        return any(x is not None for x in wanted) or self.channel is not KEEP or self.moves_rounds

    @property
    def moves_rounds(self) -> bool:
        return bool(self.cadence.fields())


def _read(flag: str, read: Callable[[T], R], value: T | None) -> R | None:
    """``read(value)`` (None: not given); its UserError names ``flag``."""
    if value is None:
        return None
    try:
        return read(value)
    except UserError as err:
        raise UserError(err.message, option=flag) from None


def _channel(text: str) -> str | None:
    return cadence.channel(text) if text.strip() else None  # "" takes the channel away


def _days(text: str) -> tuple[date, ...]:
    if not text.strip():
        return ()  # "" clears them
    return tuple(parse_date_list(text, example="--holidays 2026-12-24,2026-12-31"))


def read_changes(
    *,
    policy: str | None = None,
    holidays: str | None = None,
    country: str | None = None,
    timezone: str | None = None,
    channel: str | None = None,
    day: str | None = None,
    time: str | None = None,
    every: int | None = None,
) -> WorkspaceChanges:
    """``tiara workspace set``'s flags, read as the coach commands read them. A value that
    won't do raises UserError whose ``option`` is the flag ("practice-day")."""
    chosen = KEEP if channel is None else _read("practice-channel", _channel, channel)
    weekday = _read("practice-day", cadence.weekday, day)
    start = _read("practice-time", cadence.start_time, time)
    return WorkspaceChanges(
        place=_read("country", Place.read, country),
        policy=_read("policy", read_policy, policy),
        holidays=_read("holidays", _days, holidays),
        timezone=_read("timezone", resolve_timezone, timezone),
        channel=chosen,
        cadence=CadenceChange(weekday, start, every),
    )


@dataclass(frozen=True)
class WorkspaceFound:
    workspace: Workspace | None  # None: not there, and not to be created
    created: bool
    known: tuple[str, ...]  # "platform/id" of every workspace, when this one isn't there


async def workspace_for(
    uow: UnitOfWork, platform: str, external_id: str, now: datetime, *, create: bool
) -> WorkspaceFound:
    """A workspace by its platform's id; ``create`` it when it isn't there yet."""
    found = await uow.members.find_workspace(platform, external_id)
    if found is not None:
        return WorkspaceFound(found, created=False, known=())
    if create:
        made = await uow.members.ensure_workspace(platform, external_id, now)
        return WorkspaceFound(made, created=True, known=())
    known = tuple(f"{w.platform}/{w.external_id}" for w in await uow.members.workspaces())
    return WorkspaceFound(None, created=False, known=known)


@dataclass(frozen=True)
class WorkspaceView:
    policy: str
    public_holidays: str | None  # whose ("United States (New York)"), None: no country
    holidays: tuple[str, ...]
    timezone: str | None  # the workspace's own, None: the default
    tz: str  # the timezone in effect
    cadence: str
    channel: str | None
    next_round_at: datetime | None


async def configure(
    scope: WorkspaceScope, changes: WorkspaceChanges = WorkspaceChanges()
) -> WorkspaceView:
    """Make ``changes`` at once and plan again what they move, once: the next practice
    round (the cadence or the local time changed), every member's reminders (the
    timezone changed) or the follow-ups still to come (policy or holidays, planned again
    whenever given). The operator's changes: not audited."""
    ws = scope.workspace
    if changes.policy is not None:
        ws.followup_policy = changes.policy
    if changes.holidays is not None:
        ws.holidays = [day.isoformat() for day in changes.holidays]
    if changes.place is not None:
        _set_place(ws, changes.place)
    if changes.timezone is not None:
        ws.timezone = changes.timezone
    if changes.channel is not KEEP:
        ws.practice_channel = changes.channel
    if changes.moves_rounds or changes.timezone is not None:  # the new day or local time
        await _move_rounds(scope, changes.cadence)
    if changes.timezone is not None:  # every local time of members without a zone of their own
        await replan_workspace(scope.uow, ws, scope.default_tz, scope.now)
    elif any(x is not None for x in (changes.policy, changes.holidays, changes.place)):
        await replan_follow_ups(scope.uow, ws, scope.default_tz, scope.now)
    return WorkspaceView(
        policy=ws.followup_policy,
        public_holidays=workspace_calendar(ws).place or None,
        holidays=tuple(ws.holidays),
        timezone=ws.timezone,
        tz=scope.tz,
        cadence=cadence.cadence_text(ws),
        channel=ws.practice_channel,
        next_round_at=ws.next_round_at,
    )
