"""Peer practice: join the rounds, pause, see your partners, find one right now."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.context import Context, effective_timezone
from bot.nudges import kinds as k
from bot.nudges.plan import rhythm_of
from bot.practice.names import display_name
from bot.practice.rounds import next_slot, plan_held_until, start_round, workspace_tz
from bot.practice.texts import ON_DEMAND, round_name
from bot.registry import Commands, Kind, Option
from bot.values import Button, Field, Message, UserError
from storage.enums import CheckinAnswer, NudgeStatus, PracticeStatus
from storage.models import Nudge, PracticeSeat, changed_by_member
from storage.practice import WAITING_FOR

_GROUP = "Practice"

commands = Commands(
    _GROUP,
    topics={"practice": "Practice rounds: a classmate to rehearse informational interviews with."},
)

_ANSWERS = {"yes": "you met", "not_yet": "not yet", "cant": "can't this round"}


async def _next_round_text(ctx: Context) -> str:
    ws = ctx.member.workspace
    if ws.next_round_at is None:
        ws.next_round_at = next_slot(ws, workspace_tz(ws, ctx.default_tz), ctx.now)
    return ctx.when(ws.next_round_at)


@commands.command("practice", "join", examples=("/tiara practice join",), group=_GROUP)
async def join(ctx: Context, args: dict[str, Any]) -> Message:
    """Join the practice rounds: a classmate to rehearse informational interviews with."""
    member = ctx.member
    again = member.practice != PracticeStatus.OUT
    member.practice, member.practice_paused_until = PracticeStatus.ACTIVE, None
    member.practice_ignored = 0
    when = await _next_round_text(ctx)
    return Message(
        title="You're back in practice" if again else "You're in practice",
        text=(
            f"The next round starts {when}. I'll DM you your partner and a plan: 25 "
            "minutes, one of you plays a professional and the other asks TIARA questions, "
            "then you swap.\n\nCan't wait? /tiara practice now finds someone right away."
        ),
        buttons=(Button("Find a partner now", ("practice", "now")),),
    )


@commands.command("practice", "leave", examples=("/tiara practice leave",), group=_GROUP)
async def leave(ctx: Context, args: dict[str, Any]) -> Message:
    """Stop being paired in practice rounds."""
    member = ctx.member
    member.practice, member.practice_paused_until = PracticeStatus.OUT, None
    member.practice_waiting_since = None
    await _cancel_practice_nudges(ctx)
    return Message(
        title="You've left practice",
        text="No more partners from me. Rejoin any time: /tiara practice join",
    )


@commands.command(
    "practice",
    "pause",
    options=(
        Option(
            "weeks",
            Kind.TEXT,
            "how many weeks to skip, 1 to 12 (e.g. 2 or 2 weeks)",
            required=True,
            positional=True,
            max_length=30,
        ),
    ),
    examples=("/tiara practice pause 2 weeks", "/tiara practice pause weeks=2"),
    group=_GROUP,
)
async def pause(ctx: Context, args: dict[str, Any]) -> Message:
    """Skip practice rounds for a few weeks; you're back in automatically afterwards."""
    member = ctx.member
    weeks = _weeks(args["weeks"])
    if member.practice == PracticeStatus.OUT:
        raise UserError("You're not in practice yet. Join with /tiara practice join")
    member.practice = PracticeStatus.PAUSED
    member.practice_paused_until = ctx.now + timedelta(weeks=weeks)
    member.practice_waiting_since = None
    await _cancel_practice_nudges(ctx)
    return Message(
        title=f"Practice paused for {weeks} {'week' if weeks == 1 else 'weeks'}",
        text=(
            f"You're back in the rounds from {ctx.when(member.practice_paused_until)}. "
            "Back sooner: /tiara practice join"
        ),
    )


_WEEKS = re.compile(r"(\d{1,3})\s*(?:w|wk|wks|week|weeks)?", re.IGNORECASE)
_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def _weeks(text: str) -> int:
    """A number of weeks as typed: 2, 2w, 2 weeks, two weeks, a week."""
    words = text.strip().casefold().split()
    if words and words[0] in _WORDS and words[1:] in ([], ["week"], ["weeks"]):
        return _WORDS[words[0]]
    match = _WEEKS.fullmatch(text.strip())
    weeks = int(match.group(1)) if match is not None else None
    if weeks is None:
        why = f"I couldn't read {text[:30]!r}"
    else:
        why = f"{weeks} weeks is " + ("no pause" if weeks < 1 else "more than that")
    if weeks is None or not 1 <= weeks <= 12:
        raise UserError(
            f"I can pause practice for 1 to 12 weeks; {why}. For example: /tiara practice "
            "pause 2 weeks (to stop for longer: /tiara practice leave)",
            option="weeks",
        )
    return weeks


def _partners(seat: PracticeSeat) -> str:
    names = [display_name(s.member) for s in seat.group.seats if s.id != seat.id]
    return " and ".join(names)


@commands.command("practice", "status", examples=("/tiara practice status",), group=_GROUP)
async def status(ctx: Context, args: dict[str, Any]) -> Message:
    """Where you stand: in or out, your current partner, the next round."""
    member = ctx.member
    prepo = ctx.uow.practice
    fields = []
    if member.practice == PracticeStatus.ACTIVE:
        state = "In: you'll be paired every round"
    elif member.practice == PracticeStatus.PAUSED and member.practice_paused_until is not None:
        state = f"Paused until {ctx.when(member.practice_paused_until)}"
    elif member.practice == PracticeStatus.PAUSED:
        state = "Paused. Resume: /tiara practice join"
    else:
        state = "Not in practice. Join: /tiara practice join"
    fields.append(Field("Practice", state))
    seats = await prepo.seats_of(member.id, limit=1)
    if seats and seats[0].group.round.ends_at > ctx.now:
        seat = seats[0]
        rnd = seat.group.round
        answer = _ANSWERS.get(seat.answer or "", "not answered yet")
        fields.append(
            Field(
                round_name(rnd.number, rnd.on_demand),
                f"with {_partners(seat)}, until {ctx.when(rnd.ends_at)}",
            )
        )
        fields.append(Field("Did you meet?", answer))
    if member.practice != PracticeStatus.OUT:
        fields.append(Field("Next round", await _next_round_text(ctx)))
    if member.practice_waiting_since is not None:
        fields.append(Field("Waiting", "for someone else to ask for a partner now"))
    fields.append(Field("Rounds so far", str(await prepo.count_rounds_of(member.id))))
    return Message(title="Your practice", text="", fields=tuple(fields))


@commands.command("practice", "history", examples=("/tiara practice history",), group=_GROUP)
async def history(ctx: Context, args: dict[str, Any]) -> Message:
    """Everyone you've practised with, latest first."""
    seats = await ctx.uow.practice.seats_of(ctx.member.id, limit=20)
    if not seats:
        return Message(
            title="No practice rounds yet",
            text="Join the rounds with /tiara practice join, or find a partner now: "
            "/tiara practice now",
        )
    lines = []
    for seat in seats:
        rnd = seat.group.round
        answer = _ANSWERS.get(seat.answer or "", "no answer")
        name = round_name(rnd.number, rnd.on_demand)
        lines.append(f"• {name}, {ctx.when(rnd.started_at)}: {_partners(seat)} · {answer}")
    return Message(title="Your practice partners", text="\n".join(lines))


@commands.command("practice", "now", examples=("/tiara practice now",), group=_GROUP)
async def now(ctx: Context, args: dict[str, Any]) -> Message:
    """Find a practice partner right away (someone else who asked), or wait for one."""
    member = ctx.member
    ws = member.workspace
    prepo = ctx.uow.practice
    # One "now" at a time per workspace, and the workspace row locked before any member
    # row, in the same order as a round start: two members asking at once are matched.
    await prepo.lock_workspace(ws.id)
    partner = await prepo.waiting_partner(member, ctx.now)
    if partner is None:
        waiting = member.practice_waiting_since
        if waiting is not None and waiting > ctx.now - WAITING_FOR:
            return Message(
                title="Still looking",
                text="You're first in line: I'll match you as soon as someone else asks.",
            )
        member.practice_waiting_since = ctx.now
        return Message(
            title="You're first in line",
            text=(
                "Nobody else is looking right now. I'll pair you with the next person who "
                "asks (/tiara practice now) in the coming week, and DM you both a plan."
            ),
        )
    # Not a round of the cadence: it takes no number, so scheduled rounds count 1, 2, 3...
    await start_round(
        ctx.uow,
        ws,
        number=ON_DEMAND,
        members=[partner, member],
        now=ctx.now,
        rng=ctx.rng,
        default_tz=ctx.default_tz,
        ends=ctx.now + WAITING_FOR,
        on_demand=True,
    )
    name = display_name(partner)
    held = plan_held_until([partner, member], ctx.now, ctx.default_tz)
    if held is None:
        sending = "I'm sending you both a practice plan in a DM."
    else:
        # The plan is one conversation for both: it waits until neither is in quiet hours.
        quiet = [
            m
            for m in (member, partner)
            if rhythm_of(m, effective_timezone(m, ctx.default_tz)).is_quiet(ctx.now)
        ]
        whose = (
            "both your quiet hours"
            if len(quiet) == 2
            else "your quiet hours"
            if quiet == [member]
            else f"{name}'s quiet hours"
        )
        sending = (
            f"It's {whose} now: your practice plan reaches you both in a DM "
            f"{ctx.when(held)} (your time), when neither of you is in quiet hours."
        )
    return Message(
        title=f"You're practising with {name}",
        text=(
            f"{sending} Find 25 minutes this week; one plays the professional, the other "
            "asks, then swap."
        ),
    )


@commands.command(
    "practice",
    "checkin",
    options=(
        Option(
            "answer",
            Kind.CHOICE,
            "did you meet your practice partner?",
            required=True,
            positional=True,
            choices=tuple(_ANSWERS),
        ),
        Option(
            "round",
            Kind.TEXT,
            "the round number (default: the round on now, else your latest)",
            hidden=True,
        ),
    ),
    examples=("/tiara practice checkin yes", "/tiara practice checkin not_yet"),
    group=_GROUP,
)
async def checkin(ctx: Context, args: dict[str, Any]) -> Message:
    """Tell me whether you met your practice partner this round (yes, not_yet, cant)."""
    member = ctx.member
    seats = await ctx.uow.practice.seats_of(member.id, limit=20)
    seat = _seat_to_answer(ctx, seats, args.get("round"))
    if seat is None:
        raise UserError(
            "You have no practice round to check in on. See yours: /tiara practice history"
        )
    answer: str = args["answer"]
    rnd = seat.group.round
    before, answered_at = seat.answer, seat.answered_at
    if before != answer:
        seat.answer, seat.answered_at = answer, ctx.now
    member.practice_ignored = 0
    others = [s.member_id for s in seat.group.seats if s.id != seat.id and s.member_id]
    # The check-in or reminder that asked is answered, by button or typed alike: it's no
    # longer waiting in `followups`.
    if answer == CheckinAnswer.YES:  # they met too: nobody in the group is asked or reminded again
        for other in seat.group.seats:
            if other.answer is None:
                other.answer, other.answered_at = CheckinAnswer.YES, ctx.now
        await _close_checkins(ctx, seat.round_id, [member.id, *others], _BOTH)
    elif answer == CheckinAnswer.CANT:  # no meeting this round: no reminder for anyone in the group
        await _close_checkins(ctx, seat.round_id, [member.id], _BOTH)
        await _close_checkins(ctx, seat.round_id, others, (k.PRACTICE_REMIND,), answered=False)
    else:  # not yet: what asked so far is answered; what is planned later still comes
        await _close_checkins(ctx, seat.round_id, [member.id], _BOTH, due_by=ctx.now)
    if answer == CheckinAnswer.YES:
        text = "Well done. Next time, swap roles or try questions you haven't asked yet."
    elif answer == CheckinAnswer.CANT:
        text = "No problem. I'll pair you again next round."
    else:
        text = (
            f"There's still time before {ctx.when(rnd.ends_at)}. Send {_partners(seat)} two "
            "times that suit you."
        )
        later = await _next_ask(ctx, seat.round_id)
        if later is not None:
            text += f" I'll check in again {ctx.when(later.due_at)}."
    if before == answer:  # what asked again is answered all the same
        when = f" ({ctx.when(answered_at)})" if answered_at is not None else ""
        text = f"I already have that{when}; nothing changed."
    elif before is not None:
        text = f"Changed from {_ANSWERS[before]!r} to {_ANSWERS[answer]!r}. {text}"
    return Message(title=f"{round_name(rnd.number, rnd.on_demand)}: {_ANSWERS[answer]}", text=text)


def _seat_to_answer(
    ctx: Context, seats: Sequence[PracticeSeat], wanted: object
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
    running = (s for s in seats if not s.group.round.on_demand and s.group.round.ends_at > ctx.now)
    return next(running, seats[0] if seats else None)


async def _cancel_practice_nudges(ctx: Context) -> None:
    await ctx.uow.nudges.cancel_pending(ctx.member.id, kinds=k.PRACTICE_KINDS, now=ctx.now)


_BOTH = (k.PRACTICE_CHECKIN, k.PRACTICE_REMIND)


async def _close_checkins(
    ctx: Context,
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
            nudge = await ctx.uow.nudges.by_key(member_id, f"{kind}:r{round_id}")
            if nudge is None:
                continue
            if nudge.status == NudgeStatus.PENDING and (due_by is None or nudge.due_at <= due_by):
                nudge.status = NudgeStatus.CANCELLED
            elif nudge.status == NudgeStatus.SENT and answered:
                nudge.status = NudgeStatus.DONE
            else:
                continue
            changed_by_member(nudge, ctx.now)


async def _next_ask(ctx: Context, round_id: int) -> Nudge | None:
    """The member's next check-in or reminder of this round still to come, if any."""
    planned = [
        nudge
        for kind in _BOTH
        if (nudge := await ctx.uow.nudges.by_key(ctx.member.id, f"{kind}:r{round_id}")) is not None
        and nudge.status == NudgeStatus.PENDING
    ]
    return min(planned, key=lambda n: n.due_at, default=None)
