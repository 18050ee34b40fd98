"""Peer practice: join, leave or pause the rounds, find a partner now, answer a check-in,
and where a member stands (status, history).

The workspace's practice rounds run in its timezone, else ``default_tz`` (the configured
default), which the use cases that need it are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.nudges import kinds as k
from bot.nudges.plan import rhythm_of
from bot.practice.rounds import next_slot, plan_held_until, start_round, workspace_tz
from bot.practice.texts import ON_DEMAND
from bot.usecases import Scope
from bot.values import UserError
from bot.zones import effective_timezone
from storage.enums import CheckinAnswer, NudgeStatus, PracticeStatus
from storage.models import Member, Nudge, PracticeRound, PracticeSeat, changed_by_member
from storage.practice import WAITING_FOR

__all__ = [
    "HISTORY",
    "CheckedIn",
    "FirstInLine",
    "History",
    "Joined",
    "Left",
    "Paired",
    "Paused",
    "Standing",
    "checkin",
    "history",
    "join",
    "leave",
    "next_round",
    "pause",
    "practice_now",
    "standing",
]

HISTORY = 20  # seats `practice history` lists, latest first
_BOTH = (k.PRACTICE_CHECKIN, k.PRACTICE_REMIND)


@dataclass(frozen=True)
class Joined:
    again: bool  # was in already (active or paused)
    next_round: datetime


@dataclass(frozen=True)
class Left:
    """Out of practice: no partners, no practice reminders."""


@dataclass(frozen=True)
class Paused:
    weeks: int
    until: datetime  # back in the rounds from then


@dataclass(frozen=True)
class Standing:
    """Where a member stands in practice (``practice status``, the dashboard's section)."""

    status: str  # a PracticeStatus
    paused_until: datetime | None
    current: PracticeSeat | None  # their seat in a round still running
    next_round: datetime | None  # None when out of practice
    waiting: bool  # first in line for a partner now
    rounds: int  # rounds so far


@dataclass(frozen=True)
class History:
    seats: tuple[PracticeSeat, ...]  # latest first


@dataclass(frozen=True)
class FirstInLine:
    """Nobody else is looking: the member waits for the next to ask (``already``: they
    were waiting already, nothing changed)."""

    already: bool


@dataclass(frozen=True)
class Paired:
    """Paired now with ``partner``; the plan goes out at once, else ``plan_at`` (when
    neither is in quiet hours: ``quiet`` says whose they are now)."""

    partner: Member
    plan_at: datetime | None
    quiet: tuple[Member, ...]  # of the member and the partner, in that order


@dataclass(frozen=True)
class CheckedIn:
    """A check-in answered for ``seat``'s round; ``before`` and ``answered_at`` are the
    answer given before (None: none); ``next_ask``: the next check-in or reminder of
    the round still planned for the member (when not met yet)."""

    seat: PracticeSeat
    answer: CheckinAnswer
    before: str | None
    answered_at: datetime | None
    next_ask: Nudge | None

    @property
    def round(self) -> PracticeRound:
        return self.seat.group.round


async def next_round(scope: Scope, *, default_tz: str) -> datetime:
    """When the member's workspace's next round starts (worked out when not yet known)."""
    ws = scope.member.workspace
    if ws.next_round_at is None:
        ws.next_round_at = next_slot(ws, workspace_tz(ws, default_tz), scope.now)
    return ws.next_round_at


async def join(scope: Scope, *, default_tz: str) -> Joined:
    """Join the practice rounds (again: back from a pause too)."""
    member = scope.member
    again = member.practice != PracticeStatus.OUT
    member.practice, member.practice_paused_until = PracticeStatus.ACTIVE, None
    member.practice_ignored = 0
    return Joined(again, await next_round(scope, default_tz=default_tz))


async def leave(scope: Scope) -> Left:
    """Stop being paired; the practice reminders still to come are cancelled."""
    member = scope.member
    member.practice, member.practice_paused_until = PracticeStatus.OUT, None
    member.practice_waiting_since = None
    await _cancel_practice_nudges(scope)
    return Left()


async def pause(scope: Scope, *, weeks: int) -> Paused:
    """Skip the rounds for ``weeks``; back in automatically afterwards."""
    member = scope.member
    if member.practice == PracticeStatus.OUT:
        raise UserError("You're not in practice yet. Join with /tiara practice join")
    member.practice = PracticeStatus.PAUSED
    until = scope.now + timedelta(weeks=weeks)
    member.practice_paused_until = until
    member.practice_waiting_since = None
    await _cancel_practice_nudges(scope)
    return Paused(weeks, until)


async def standing(scope: Scope, *, default_tz: str) -> Standing:
    """Where the member stands: in or out, their current round, the next one."""
    member = scope.member
    prepo = scope.uow.practice
    seats = await prepo.seats_of(member.id, limit=1)
    current = seats[0] if seats and seats[0].group.round.ends_at > scope.now else None
    upcoming = None
    if member.practice != PracticeStatus.OUT:
        upcoming = await next_round(scope, default_tz=default_tz)
    return Standing(
        status=member.practice,
        paused_until=member.practice_paused_until,
        current=current,
        next_round=upcoming,
        waiting=member.practice_waiting_since is not None,
        rounds=await prepo.count_rounds_of(member.id),
    )


async def history(scope: Scope) -> History:
    """Everyone the member practised with: their latest ``HISTORY`` seats."""
    return History(tuple(await scope.uow.practice.seats_of(scope.member.id, limit=HISTORY)))


async def practice_now(scope: Scope, *, default_tz: str) -> FirstInLine | Paired:
    """Pair the member with someone else who asked for a partner now, or put them first in
    line for the next to ask."""
    member = scope.member
    ws = member.workspace
    prepo = scope.uow.practice
    # One "now" at a time per workspace, and the workspace row locked before any member
    # row, in the same order as a round start: two members asking at once are matched.
    await prepo.lock_workspace(ws.id)
    partner = await prepo.waiting_partner(member, scope.now)
    if partner is None:
        waiting = member.practice_waiting_since
        if waiting is not None and waiting > scope.now - WAITING_FOR:
            return FirstInLine(already=True)
        member.practice_waiting_since = scope.now
        return FirstInLine(already=False)
    # Not a round of the cadence: it takes no number, so scheduled rounds count 1, 2, 3...
    await start_round(
        scope.uow,
        ws,
        number=ON_DEMAND,
        members=[partner, member],
        now=scope.now,
        rng=scope.rng,
        default_tz=default_tz,
        ends=scope.now + WAITING_FOR,
        on_demand=True,
    )
    held = plan_held_until([partner, member], scope.now, default_tz)
    quiet: tuple[Member, ...] = ()
    if held is not None:
        # The plan is one conversation for both: it waits until neither is in quiet hours.
        quiet = tuple(
            m
            for m in (member, partner)
            if rhythm_of(m, effective_timezone(m, default_tz)).is_quiet(scope.now)
        )
    return Paired(partner, held, quiet)


async def checkin(
    scope: Scope, *, answer: CheckinAnswer, round_number: str | None = None
) -> CheckedIn:
    """Answer whether the member met their practice partner, for the round numbered
    ``round_number`` (as a check-in's button carries it), else the round on now, else
    their latest. The check-ins and reminders it answers close (see below)."""
    member = scope.member
    seats = await scope.uow.practice.seats_of(member.id, limit=HISTORY)
    seat = _seat_to_answer(scope, seats, round_number)
    if seat is None:
        raise UserError(
            "You have no practice round to check in on. See yours: /tiara practice history"
        )
    before, answered_at = seat.answer, seat.answered_at
    if before != answer:
        seat.answer, seat.answered_at = answer, scope.now
    member.practice_ignored = 0
    others = [s.member_id for s in seat.group.seats if s.id != seat.id and s.member_id]
    # The check-in or reminder that asked is answered, by button or typed alike: it's no
    # longer waiting in `followups`.
    if answer == CheckinAnswer.YES:  # they met too: nobody in the group is asked or reminded again
        for other in seat.group.seats:
            if other.answer is None:
                other.answer, other.answered_at = CheckinAnswer.YES, scope.now
        await _close_checkins(scope, seat.round_id, [member.id, *others], _BOTH)
    elif answer == CheckinAnswer.CANT:  # no meeting this round: no reminder for anyone in the group
        await _close_checkins(scope, seat.round_id, [member.id], _BOTH)
        await _close_checkins(scope, seat.round_id, others, (k.PRACTICE_REMIND,), answered=False)
    else:  # not yet: what asked so far is answered; what is planned later still comes
        await _close_checkins(scope, seat.round_id, [member.id], _BOTH, due_by=scope.now)
    later = await _next_ask(scope, seat.round_id) if answer == CheckinAnswer.NOT_YET else None
    return CheckedIn(seat, answer, before, answered_at, later)


def _seat_to_answer(
    scope: Scope, seats: Sequence[PracticeSeat], wanted: str | None
) -> PracticeSeat | None:
    """The seat a check-in answer is about: the round its button names (by number, among
    scheduled rounds: pairings on demand have none); typed, the latest scheduled round
    still running, the one the check-ins ask about; else the latest seat of all."""
    if wanted is not None:
        number = str(wanted).strip()
        return next(
            (
                s
                for s in seats
                if not s.group.round.on_demand and str(s.group.round.number) == number
            ),
            None,
        )
    running = (
        s for s in seats if not s.group.round.on_demand and s.group.round.ends_at > scope.now
    )
    return next(running, seats[0] if seats else None)


async def _cancel_practice_nudges(scope: Scope) -> None:
    await scope.uow.nudges.cancel_pending(scope.member.id, kinds=k.PRACTICE_KINDS, now=scope.now)


async def _close_checkins(
    scope: Scope,
    round_id: int,
    member_ids: list[int],
    kinds: tuple[str, ...],
    *,
    answered: bool = True,
    due_by: datetime | None = None,
) -> None:
    """Close these members' ``kinds`` nudges of one round: one still to come is cancelled,
    and (``answered``) one already sent is done, so `followups` no longer lists it as
    waiting. With ``due_by``, nudges planned after that stay planned."""
    for member_id in member_ids:
        for kind in kinds:
            nudge = await scope.uow.nudges.by_key(member_id, f"{kind}:r{round_id}")
            if nudge is None:
                continue
            if nudge.status == NudgeStatus.PENDING and (due_by is None or nudge.due_at <= due_by):
                nudge.status = NudgeStatus.CANCELLED
            elif nudge.status == NudgeStatus.SENT and answered:
                nudge.status = NudgeStatus.DONE
            else:
                continue
            changed_by_member(nudge, scope.now)


async def _next_ask(scope: Scope, round_id: int) -> Nudge | None:
    """The member's next check-in or reminder of this round still to come, if any."""
    planned = [
        nudge
        for kind in _BOTH
        if (nudge := await scope.uow.nudges.by_key(scope.member.id, f"{kind}:r{round_id}"))
        is not None
        and nudge.status == NudgeStatus.PENDING
    ]
    return min(planned, key=lambda n: n.due_at, default=None)
