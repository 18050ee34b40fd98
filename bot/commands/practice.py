"""Peer practice: join the rounds, pause, see your partners, find one right now.

Each handler reads its arguments, calls its use case (:mod:`bot.usecases.practice`) and
renders the result; the dashboard uses :func:`render_standing` too.
"""

from __future__ import annotations

import re
from typing import Any

from bot.context import Context
from bot.practice.names import display_name
from bot.practice.texts import round_name
from bot.registry import Commands, Kind, Option
from bot.usecases import Scope
from bot.usecases import practice as uc
from bot.values import Button, Field, Message, UserError
from storage.enums import CheckinAnswer, PracticeStatus
from storage.models import PracticeSeat

__all__ = ["commands", "render_standing"]

_GROUP = "Practice"

commands = Commands(
    _GROUP,
    topics={"practice": "Practice rounds: a classmate to rehearse informational interviews with."},
)

_ANSWERS = {"yes": "you met", "not_yet": "not yet", "cant": "can't this round"}


@commands.command("practice", "join", examples=("/tiara practice join",), group=_GROUP)
async def join(ctx: Context, args: dict[str, Any]) -> Message:
    """Join the practice rounds: a classmate to rehearse informational interviews with."""
    joined = await uc.join(ctx.scope, default_tz=ctx.default_tz)
    return Message(
        title="You're back in practice" if joined.again else "You're in practice",
        text=(
            f"The next round starts {ctx.when(joined.next_round)}. I'll DM you your partner "
            "and a plan: 25 minutes, one of you plays a professional and the other asks "
            "TIARA questions, then you swap.\n\nCan't wait? /tiara practice now finds "
            "someone right away."
        ),
        buttons=(Button("Find a partner now", ("practice", "now")),),
    )


@commands.command("practice", "leave", examples=("/tiara practice leave",), group=_GROUP)
async def leave(ctx: Context, args: dict[str, Any]) -> Message:
    """Stop being paired in practice rounds."""
    await uc.leave(ctx.scope)
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
    paused = await uc.pause(ctx.scope, weeks=_weeks(args["weeks"]))
    return Message(
        title=f"Practice paused for {paused.weeks} {'week' if paused.weeks == 1 else 'weeks'}",
        text=(
            f"You're back in the rounds from {ctx.when(paused.until)}. "
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
    scope = ctx.scope
    return render_standing(scope, await uc.standing(scope, default_tz=ctx.default_tz))


def render_standing(scope: Scope, standing: uc.Standing) -> Message:
    """Where a member stands in practice (``/tiara practice status``, the dashboard's
    section)."""
    fields = []
    if standing.status == PracticeStatus.ACTIVE:
        state = "In: you'll be paired every round"
    elif standing.status == PracticeStatus.PAUSED and standing.paused_until is not None:
        state = f"Paused until {scope.when(standing.paused_until)}"
    elif standing.status == PracticeStatus.PAUSED:
        state = "Paused. Resume: /tiara practice join"
    else:
        state = "Not in practice. Join: /tiara practice join"
    fields.append(Field("Practice", state))
    seat = standing.current
    if seat is not None:
        rnd = seat.group.round
        answer = _ANSWERS.get(seat.answer or "", "not answered yet")
        fields.append(
            Field(
                round_name(rnd.number, rnd.on_demand),
                f"with {_partners(seat)}, until {scope.when(rnd.ends_at)}",
            )
        )
        fields.append(Field("Did you meet?", answer))
    if standing.next_round is not None:
        fields.append(Field("Next round", scope.when(standing.next_round)))
    if standing.waiting:
        fields.append(Field("Waiting", "for someone else to ask for a partner now"))
    fields.append(Field("Rounds so far", str(standing.rounds)))
    return Message(title="Your practice", text="", fields=tuple(fields))


@commands.command("practice", "history", examples=("/tiara practice history",), group=_GROUP)
async def history(ctx: Context, args: dict[str, Any]) -> Message:
    """Everyone you've practised with, latest first."""
    seats = (await uc.history(ctx.scope)).seats
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
    found = await uc.practice_now(ctx.scope, default_tz=ctx.default_tz)
    if isinstance(found, uc.FirstInLine):
        if found.already:
            return Message(
                title="Still looking",
                text="You're first in line: I'll match you as soon as someone else asks.",
            )
        return Message(
            title="You're first in line",
            text=(
                "Nobody else is looking right now. I'll pair you with the next person who "
                "asks (/tiara practice now) in the coming week, and DM you both a plan."
            ),
        )
    name = display_name(found.partner)
    if found.plan_at is None:
        sending = "I'm sending you both a practice plan in a DM."
    else:
        quiet = found.quiet
        whose = (
            "both your quiet hours"
            if len(quiet) == 2
            else "your quiet hours"
            if quiet == (ctx.member,)
            else f"{name}'s quiet hours"
        )
        sending = (
            f"It's {whose} now: your practice plan reaches you both in a DM "
            f"{ctx.when(found.plan_at)} (your time), when neither of you is in quiet hours."
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
    wanted = args.get("round")
    done = await uc.checkin(
        ctx.scope,
        answer=CheckinAnswer(args["answer"]),
        round_number=None if wanted is None else str(wanted),
    )
    answer, rnd = done.answer, done.round
    if answer == CheckinAnswer.YES:
        text = "Well done. Next time, swap roles or try questions you haven't asked yet."
    elif answer == CheckinAnswer.CANT:
        text = "No problem. I'll pair you again next round."
    else:
        text = (
            f"There's still time before {ctx.when(rnd.ends_at)}. Send "
            f"{_partners(done.seat)} two times that suit you."
        )
        if done.next_ask is not None:
            text += f" I'll check in again {ctx.when(done.next_ask.due_at)}."
    if done.before == answer:  # what asked again is answered all the same
        when = f" ({ctx.when(done.answered_at)})" if done.answered_at is not None else ""
        text = f"I already have that{when}; nothing changed."
    elif done.before is not None:
        text = f"Changed from {_ANSWERS[done.before]!r} to {_ANSWERS[answer]!r}. {text}"
    return Message(title=f"{round_name(rnd.number, rnd.on_demand)}: {_ANSWERS[answer]}", text=text)
