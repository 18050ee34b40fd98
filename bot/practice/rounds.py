"""Practice rounds: when they start, who is paired, what is sent, and how they end.

Each tick of the scheduler does three things, each in its own short transaction:

1. close rounds that have ended: a member who answered no check-in has ignored one more
   round, and after three in a row is paused (and told how to resume);
2. start the round of every workspace whose time has come: the workspace row is claimed
   by moving its ``next_round_at`` (so two processes never start the same round), the
   members are paired, and the check-ins are planned as nudges;
3. send what the rounds owe: the announcement in the practice channel and each group's
   practice plan, leased and marked sent the way nudges are.

After an outage only one round starts (for the latest missed slot), never one per slot.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.counts import Counts
from bot.notify import DeliveryError, Notifier
from bot.nudges import kinds as k
from bot.nudges.plan import Occurrence, Planner, plan_all, rhythm_of
from bot.practice.names import display_name
from bot.practice.pairing import Candidate, pair_round
from bot.practice.texts import announcement, persona, practice_plan
from bot.timeutil import next_weekly
from bot.values import ChannelRef, Message, UserRef
from bot.zones import effective_timezone
from storage.enums import NudgeStatus, PracticeStatus
from storage.models import Member, PracticeGroup, PracticeRound, PracticeSeat, Workspace
from storage.store import Sleep, Store
from storage.unit import UnitOfWork

__all__ = [
    "IGNORED_BEFORE_PAUSE",
    "PracticeRunner",
    "first_to_play",
    "next_slot",
    "plan_held_until",
    "start_round",
]

log = logging.getLogger(__name__)

IGNORED_BEFORE_PAUSE = 3
_MAX_BATCHES = 50  # of announcements and plans per tick (200 each)


def workspace_tz(ws: Workspace, default: str) -> str:
    return ws.timezone or default


def next_slot(ws: Workspace, tz: str, after: datetime) -> datetime:
    """The first cadence time (the workspace's weekday and time, local) after ``after``."""
    return next_weekly(after, tz, ws.practice_day, ws.practice_time)


def following_slot(ws: Workspace, tz: str, now: datetime) -> datetime:
    """When the round after one starting ``now`` starts: ``practice_every_weeks`` on."""
    return next_slot(ws, tz, now + timedelta(weeks=ws.practice_every_weeks - 1))


def round_times(start: datetime, ends: datetime) -> tuple[datetime, datetime]:
    """(check-in, the one reminder) of a round from ``start`` to ``ends``: the check-in
    three sevenths of the way (Thursday, for a weekly Monday round), the reminder midway
    between it and the end."""
    # Whole days, rounded: a round started by a tick a few seconds after its slot still
    # checks in on the fourth day, at the same time of day as the start.
    days = max(1, round((ends - start) / timedelta(days=1) * 3 / 7))
    checkin = start + timedelta(days=days)
    return checkin, checkin + (ends - checkin) / 2


@dataclass
class PracticeReport(Counts):
    rounds_started: int = 0
    members_paired: int = 0
    alone: int = 0
    rounds_closed: int = 0
    paused: int = 0
    announced: int = 0
    plans_sent: int = 0
    failed: int = 0


async def start_round(
    uow: UnitOfWork,
    ws: Workspace,
    *,
    number: int,
    members: list[Member],
    now: datetime,
    rng: random.Random,
    default_tz: str,
    ends: datetime,
    on_demand: bool = False,
) -> PracticeRound:
    """Pair ``members``, write the round, its groups and seats, and plan its nudges.

    A scheduled round ends when the next one starts. ``number``: the scheduled round's
    (``PracticeRepo.next_round_number``); ``ON_DEMAND`` for a pairing on demand.
    """
    prepo = uow.practice
    tz_of = {m.id: effective_timezone(m, default_tz) for m in members}
    candidates = [Candidate(m.id, tz_of[m.id], _offset_minutes(tz_of[m.id], now)) for m in members]
    met = await prepo.met_history(ws.id) if len(members) > 1 else {}
    pairing = pair_round(candidates, met, rng)
    turns = await prepo.turns_so_far([m for ids in pairing.groups for m in ids])
    checkin, remind = round_times(now, ends)
    rnd = PracticeRound(
        workspace_id=ws.id,
        number=number,
        on_demand=on_demand,
        started_at=now,
        checkin_at=checkin,
        ends_at=ends,
        # On-demand rounds have no check-ins to count and nothing to announce.
        closed_at=now if on_demand else None,
        announced_at=now if on_demand or not ws.practice_channel else None,
    )
    uow.add(rnd)
    await uow.flush()
    by_id = {m.id: m for m in members}
    planned: list[tuple[Planner, Occurrence]] = []
    for ids in pairing.groups:
        # Seats refer to their group object: one flush at commit writes them all.
        group = PracticeGroup(workspace_id=ws.id, round_id=rnd.id, persona=persona(rng))
        uow.add(group)
        for member_id in first_to_play(ids, turns):
            member = by_id[member_id]
            member.practice_waiting_since = None
            if member.practice == PracticeStatus.PAUSED and not on_demand:  # the pause is over
                member.practice, member.practice_paused_until = PracticeStatus.ACTIVE, None
            uow.add(
                PracticeSeat(workspace_id=ws.id, group=group, round_id=rnd.id, member_id=member_id)
            )
            if on_demand:
                continue
            planner = Planner(uow, member, now, tz_of[member_id])
            for kind, due in ((k.PRACTICE_CHECKIN, checkin), (k.PRACTICE_REMIND, remind)):
                planned.append(
                    (
                        planner,
                        Occurrence(
                            kind,
                            f"{kind}:r{rnd.id}",
                            planner.rhythm.after_quiet(due),
                            expires=ends,
                            practice_round_id=rnd.id,
                        ),
                    )
                )
    for member_id in pairing.unmatched:
        member = by_id[member_id]
        planner = Planner(uow, member, now, tz_of[member_id])
        key = f"{k.PRACTICE_ALONE}:r{rnd.id}"
        due = planner.rhythm.after_quiet(now)
        planned.append(
            (planner, Occurrence(k.PRACTICE_ALONE, key, due, ends, practice_round_id=rnd.id))
        )
    await plan_all(uow, planned)
    return rnd


def first_to_play(ids: Sequence[int], turns: Mapping[int, tuple[bool, int]]) -> list[int]:
    """A group's members in the order they play the professional (the plan names them so):
    whoever played first last time asks first this time, then whoever has played first
    least often; otherwise the pairing's order."""
    return sorted(ids, key=lambda member_id: turns.get(member_id, (False, 0)))


def plan_held_until(members: Sequence[Member], now: datetime, default_tz: str) -> datetime | None:
    """None when a group's plan can go now; else the first moment when nobody in the
    group is in their quiet hours (the plan is one conversation for all of them)."""
    rhythms = [rhythm_of(m, effective_timezone(m, default_tz)) for m in members]
    if not any(r.is_quiet(now) for r in rhythms):
        return None
    # The first moment, over the next days, when someone's quiet hours end and
    # nobody else's have begun.
    ends = sorted(
        r.at(r.local_date(now) + timedelta(days=day), r.quiet_end)
        for r in rhythms
        for day in range(-1, 3)
    )
    later = [moment for moment in ends if moment > now]
    for moment in later:
        if not any(r.is_quiet(moment) for r in rhythms):
            return moment
    # Their waking hours never overlap: when the first of them wakes up.
    return later[0]


def _offset_minutes(tz: str, now: datetime) -> int:
    offset = now.astimezone(ZoneInfo(tz)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


class PracticeRunner:
    """Starts, announces and closes practice rounds. Safe to run in several processes."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        default_timezone: str,
        rng: random.Random,
        lease: timedelta = timedelta(minutes=5),
        platforms: frozenset[str] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``sleep`` waits between attempts to record a post after a lost connection."""
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.default_timezone = default_timezone
        self.rng = rng
        self.lease = lease
        self.sleep = sleep
        # Announce only rounds of workspaces on these platforms (None: all).
        self.platforms = platforms

    async def tick(self) -> PracticeReport:
        report = PracticeReport()
        await self._close_ended(report)
        await self._start_due(report)
        await self._send(report)
        if report.rounds_started or report.rounds_closed or report.failed:
            log.info("practice: %s", report)
        return report

    # -- 1. close --------------------------------------------------------------------

    async def _close_ended(self, report: PracticeReport) -> None:
        now = self.clock.now()
        async with self.store.unit() as uow:
            prepo = uow.practice
            for rnd in await prepo.ended_open_rounds(now):
                rnd.closed_at = now
                report.rounds_closed += 1
                for seat in await prepo.seats_of_round(rnd.id):
                    member = seat.member
                    if member is None or member.practice != PracticeStatus.ACTIVE:
                        continue
                    if seat.answer is not None:
                        member.practice_ignored = 0
                        continue
                    checkin = await uow.nudges.by_key(member.id, f"{k.PRACTICE_CHECKIN}:r{rnd.id}")
                    if checkin is None or checkin.status not in (
                        NudgeStatus.SENT,
                        NudgeStatus.DONE,
                    ):
                        continue  # never asked (reminders off, muted, unreachable)
                    if checkin.status == NudgeStatus.DONE:  # marked done (`done N4`): not ignored
                        member.practice_ignored = 0
                        continue
                    member.practice_ignored += 1
                    if member.practice_ignored >= IGNORED_BEFORE_PAUSE:
                        member.practice, member.practice_paused_until = PracticeStatus.PAUSED, None
                        member.practice_ignored = 0
                        report.paused += 1
                        tz = effective_timezone(member, self.default_timezone)
                        planner = Planner(uow, member, now, tz)
                        await planner.schedule(
                            k.PRACTICE_PAUSED,
                            f"{k.PRACTICE_PAUSED}:r{rnd.id}",
                            planner.rhythm.after_quiet(now),
                        )

    # -- 2. start --------------------------------------------------------------------

    async def _start_due(self, report: PracticeReport) -> None:
        now = self.clock.now()
        async with self.store.unit() as uow:
            due = await uow.practice.workspaces_due(now)
        for workspace_id, slot in due:
            try:
                await self._start_one(report, workspace_id, slot, now)
            except Exception as err:  # one workspace's trouble must not stop the others
                report.failed += 1
                log.error(
                    "starting a practice round in workspace %d failed with %s",
                    workspace_id,
                    type(err).__name__,
                )

    async def _start_one(
        self, report: PracticeReport, workspace_id: int, slot: datetime, now: datetime
    ) -> None:
        async with self.store.unit() as uow:
            prepo = uow.practice
            ws = await uow.session.get(Workspace, workspace_id)
            if ws is None:
                return
            following = following_slot(ws, workspace_tz(ws, self.default_timezone), now)
            if not await prepo.take_slot(ws.id, slot, following):
                return  # another process started this round
            members = list(await prepo.candidates(ws.id, now))
            if not members:
                return
            rnd = await start_round(
                uow,
                ws,
                number=await prepo.next_round_number(ws.id),
                members=members,
                now=now,
                rng=self.rng,
                default_tz=self.default_timezone,
                ends=following,
            )
            report.rounds_started += 1
            if len(members) > 1:  # everyone is placed when there are two or more
                report.members_paired += len(members)
            else:
                report.alone += 1
            log.debug("practice round %d started in workspace %d", rnd.number, ws.id)

    # -- 3. send ---------------------------------------------------------------------

    async def _send(self, report: PracticeReport) -> None:
        """Send what is owed, batch after batch (each with its own lease) until done."""
        for _ in range(_MAX_BATCHES):
            if not await self._send_batch(report):
                break

    async def _send_batch(self, report: PracticeReport) -> bool:
        now = self.clock.now()
        token = uuid.uuid4().hex
        lease_until = now + self.lease
        async with self.store.unit() as uow:
            prepo = uow.practice
            round_ids = await prepo.claim_unsent(
                PracticeRound,
                now=now,
                lease_until=lease_until,
                token=token,
                platforms=self.platforms,
            )
            group_ids = await prepo.claim_unsent(
                PracticeGroup,
                now=now,
                lease_until=lease_until,
                token=token,
                platforms=self.platforms,
            )
            posts = [
                (rnd.id, await self._announcement(uow.session, rnd))
                for rnd in await prepo.rounds_with_groups(round_ids)
            ]
            plans = []
            for group in await prepo.groups_with_seats(group_ids):
                later = self._quiet_until(group, now)
                if later is not None:
                    # Someone in the group is asleep: the plan waits, leased until then.
                    group.lease_until, group.claim_token = later, None
                    continue
                plans.append((group.id, self._plan(group)))
        # Each post is recorded as soon as it has gone out, so a crash or a lost database
        # connection can repeat at most the one post under way, never the batch so far.
        for what, table, items in (
            ("announcement", PracticeRound, posts),
            ("plan", PracticeGroup, plans),
        ):
            for item_id, post in items:
                if self.clock.now() >= lease_until:
                    break  # too slow: another worker may own the rest by now
                if post is not None and not await self._deliver(report, what, post):
                    continue  # tried again once the lease runs out
                await self.store.write_retrying(
                    partial(self._mark_sent, table=table, item_id=item_id, token=token),
                    sleep=self.sleep,
                )
                if what == "announcement":
                    report.announced += 1
                else:
                    report.plans_sent += 1
        return bool(round_ids or group_ids)

    async def _mark_sent(
        self,
        uow: UnitOfWork,
        *,
        table: type[PracticeRound] | type[PracticeGroup],
        item_id: int,
        token: str,
    ) -> None:
        await uow.practice.mark_sent(table, [item_id], token=token, now=self.clock.now())

    async def _deliver(
        self, report: PracticeReport, what: str, post: tuple[ChannelRef | list[UserRef], Message]
    ) -> bool:
        """Send one announcement or plan; False when it should be tried again later."""
        to, message = post
        try:
            if isinstance(to, ChannelRef):
                await self.notifier.post_channel(to, message)
            else:
                await self.notifier.send_group(to, message)
        except DeliveryError as err:
            report.failed += 1
            log.warning("practice %s failed: %s", what, err.reason)
            if err.permanent and not isinstance(to, ChannelRef):
                await self._one_by_one(to, message)  # one member's closed DMs, say
            return err.permanent  # a permanent failure is given up, not retried
        return True

    async def _one_by_one(self, users: list[UserRef], message: Message) -> None:
        """A group conversation could not be opened: give each member the plan in a DM."""
        for user in users:
            try:
                await self.notifier.send_dm(user, message)
            except DeliveryError as err:
                log.warning("practice plan by DM failed: %s", err.reason)

    async def _announcement(
        self, session: AsyncSession, rnd: PracticeRound
    ) -> tuple[ChannelRef, Message] | None:
        ws = await session.get(Workspace, rnd.workspace_id)
        if ws is None or not ws.practice_channel:
            return None
        channel = ChannelRef(ws.platform, ws.external_id, ws.practice_channel)
        groups = [[display_name(s.member) for s in g.seats] for g in rnd.groups]
        tz = workspace_tz(ws, self.default_timezone)
        return channel, announcement(
            number=rnd.number, groups=groups, ends_at=rnd.ends_at, tz=tz, next_at=ws.next_round_at
        )

    def _quiet_until(self, group: PracticeGroup, now: datetime) -> datetime | None:
        members = [s.member for s in group.seats if s.member is not None]
        return plan_held_until(members, now, self.default_timezone)

    def _plan(self, group: PracticeGroup) -> tuple[list[UserRef], Message] | None:
        members = [s.member for s in group.seats if s.member is not None]
        if len(members) < 2:
            return None
        ws = members[0].workspace
        users = [UserRef(ws.platform, ws.external_id, m.user_id) for m in members]
        message = practice_plan(
            number=group.round.number,
            names=[display_name(m) for m in members],
            card=group.persona,
            ends_at=group.round.ends_at,
            zones=[effective_timezone(m, self.default_timezone) for m in members],
            rng=self.rng,
            on_demand=group.round.on_demand,
        )
        return users, message
