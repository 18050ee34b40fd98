"""The tracker's requests: recording one sent, and the answer to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands.common import (
    CONTACT,
    NEW,
    ORG,
    OUTCOMES,
    ROLE,
    VIAS,
    ask_name,
    clip,
    duplicate,
    label,
    reply_buttons,
    words,
)
from bot.context import Context
from bot.nudges import kinds as k
from bot.registry import Commands, Kind, Option
from bot.usecases.contacts import NameToCheck
from bot.usecases.requests import (
    ReplyAgain,
    ReplyRecorded,
    RequestRecorded,
    RequestWaiting,
    record_reply,
    record_request,
)
from bot.values import Button, Message
from storage.enums import RequestOutcome
from storage.models import Nudge

__all__ = ["commands", "render_reply", "render_reply_again", "render_request"]

commands = Commands("Tracker")


@commands.command(
    "request",
    options=(
        CONTACT,
        ORG,
        ROLE,
        Option("via", Kind.CHOICE, "how you asked", choices=VIAS),
        Option("when", Kind.PAST_WHEN, "when you sent it (default: now)"),
        Option("email", Kind.EMAIL, "their email address"),
        Option("confirm", Kind.BOOL, "record it even if it looks like a duplicate", hidden=True),
        NEW,
    ),
    examples=('/tiara request contact="Dana Lee" org=Acme via=email when="yesterday 3pm"',),
)
async def request(ctx: Context, args: dict[str, Any]) -> Message:
    """Record a request for an informational interview that you sent.

    The request stays pending until you record the answer with `/tiara reply`.
    """
    done = await record_request(
        ctx.scope,
        contact=args["contact"],
        org=args.get("org"),
        role=args.get("role"),
        via=args.get("via", "email"),
        sent_at=args.get("when"),
        email=args.get("email"),
        confirm=bool(args.get("confirm")),
        new=args.get("new") or (),
    )
    if isinstance(done, NameToCheck):
        return ask_name(ctx, args, done)
    if isinstance(done, RequestWaiting):
        first = done.waiting
        return duplicate(
            ctx,
            args,
            f"Your request {label(first)} to {done.contact.name} (sent "
            f"{ctx.when(first.sent_at)}) is still waiting for a reply. Record a second "
            "request anyway?",
            first,
            "Record another",
        )
    return render_request(ctx, done)


def render_request(ctx: Context, done: RequestRecorded) -> Message:
    row, name = done.request, done.contact.name
    return Message(
        title=f"Request {label(row)} to {name} recorded",
        text=(
            f"Sent {ctx.when(row.sent_at)} via {row.via}. "
            f"{_follow_up_promise(ctx, done.follow_up)}\n\n"
            f'When they answer: /tiara reply contact="{name}" outcome=scheduled'
        ),
        buttons=reply_buttons(row),
    )


def _follow_up_promise(ctx: Context, first: Nudge | None) -> str:
    """What happens next without a reply, from the reminder actually planned."""
    if first is None:
        return ""
    when = (
        "right away" if first.due_at <= ctx.now + timedelta(minutes=1) else ctx.when(first.due_at)
    )
    if first.kind == k.SECOND_CONTACT:
        return (
            f"No reply by then? I'll remind you {when} to write to a second person at the "
            "same organization, and later to follow up once."
        )
    if first.kind == k.MOVE_ON:
        return f"It has been a while, so I'll suggest {when} whether to move on."
    return (
        f"No reply by then? I'll remind you {when} to follow up; a short, polite follow-up "
        "is normal, as many people simply missed the first note."
    )


@commands.command(
    "reply",
    options=(
        Option("contact", Kind.NAME, "who answered, or the request's id", positional=True),
        Option("outcome", Kind.CHOICE, "what they said", required=True, choices=OUTCOMES),
        Option("id", Kind.ITEM, "the request's id, instead of contact="),
        Option("when", Kind.PAST_WHEN, "when they answered (default: now)"),
        Option(
            "back",
            Kind.WHEN,
            "with outcome=later: when to check back (default: in two weeks)",
            label="Check back",
        ),
    ),
    examples=(
        '/tiara reply contact="Dana Lee" outcome=scheduled',
        '/tiara reply contact="Dana Lee" outcome=later back="in 3 weeks"',
    ),
)
async def reply(ctx: Context, args: dict[str, Any]) -> Message:
    """Record the answer to one of your requests: scheduled, declined or later.

    "scheduled" and "later" mark the request replied; "declined" closes it.
    """
    done = await record_reply(
        ctx.scope,
        outcome=RequestOutcome(args["outcome"]),
        contact=args.get("contact"),
        item=args.get("id"),
        when=args.get("when"),
        back=args.get("back"),
        command=words(ctx),
    )
    if isinstance(done, ReplyAgain):
        return render_reply_again(ctx, done)
    return render_reply(ctx, done)


def render_reply(ctx: Context, done: ReplyRecorded) -> Message:
    name, outcome, last = done.name, done.outcome, done.requests[-1]
    if outcome == RequestOutcome.SCHEDULED:
        text = (
            f"Great news. Log the meeting so I can help you prepare: "
            f'/tiara log contact="{name}" when="next Tuesday 10am"'
        )
    elif outcome == RequestOutcome.DECLINED:
        text = (
            "A no is normal and not personal; many requests go unanswered or declined. "
            "Ask someone else at the same organization, or move to the next name on your list."
        )
    else:
        due = ctx.when(done.check_back) if done.check_back is not None else ""
        text = f"They asked you to come back later. I'll remind you to check back {due}." + (
            ""
            if done.check_back_chosen
            else " That's two weeks from now; if they named a day: "
            f'/tiara reply {label(last)} outcome=later back="in 3 weeks"'
        )
    if done.repeated:
        first_said = ctx.when(done.first_replied_at) if done.first_replied_at else ""
        text = (
            f"It was already recorded ({outcome}, {first_said}); I changed only the "
            f"check-back date. {text}"
        )
    if done.early is not None:
        typed = clip(str(ctx.invocation.args.get("when", "")), 40).replace('"', "")
        text += (
            f"\n\nI recorded the reply at {ctx.when(done.early.sent_at)}, when you sent the "
            "request: a reply can't come before it. when= is when they answered; to log the "
            f'meeting itself: /tiara log contact="{name}" when="{typed}"'
        )
    return Message(
        title=f"{', '.join(label(r) for r in done.requests)}: {name} replied ({outcome})",
        text=text.strip(),
        buttons=_after_reply(outcome, name),
    )


def render_reply_again(ctx: Context, done: ReplyAgain) -> Message:
    name, outcome = done.name, done.outcome
    recorded = ctx.when(done.replied_at)
    if done.moved:
        text = f"It was already recorded as {outcome}; I changed only its time, to {recorded}."
    else:
        text = f"You recorded it {recorded}; nothing changed."
    if outcome == RequestOutcome.SCHEDULED:
        text += f' Log the meeting when it is set: /tiara log contact="{name}" when="..."'
    if outcome == RequestOutcome.LATER:
        if done.check_back is not None:
            text += f" I'll remind you to check back {ctx.when(done.check_back)}."
        last = label(done.requests[-1])
        text += f' Another day? /tiara reply {last} outcome=later back="in 3 weeks"'
    return Message(
        title=f"{', '.join(label(r) for r in done.requests)}: {name}'s reply ({outcome}) "
        "was already recorded",
        text=text,
        buttons=_after_reply(outcome, name),
    )


def _after_reply(outcome: RequestOutcome, name: str) -> tuple[Button, ...]:
    if outcome == RequestOutcome.SCHEDULED:
        return (Button("Log the meeting", ("log",), {"contact": name}, "primary", opens_form=True),)
    return ()
