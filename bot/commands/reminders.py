"""Reminders (nudges) a member can see and act on, and telling helpers you landed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.commands.common import find_contact
from bot.context import Context
from bot.items import parse_nudge
from bot.nudges import kinds as k
from bot.nudges.render import describe, nudge_label, subject
from bot.registry import Commands, Kind, Option
from bot.values import Button, Field, Message, UserError
from storage.enums import NudgeStatus, RequestStatus
from storage.models import Landing, Nudge, changed_by_member

commands = Commands("Reminders", topics={"nudge": "Your reminders."})

# A name kind, so a contact's name is welcome (and suggested as it is typed); an id is
# told from a name in `_resolve`.
_ID = Option(
    "id",
    Kind.NAME,
    "a reminder's id, such as N4, or the name of the person it is about",
    required=True,
    positional=True,
)
_ID_LIKE = re.compile(r"#?\s*([a-z])?\s*\d+", re.IGNORECASE)  # N4, 4, #4, M3, X1
_PAGE = 10  # reminders on a page of `followups`, each with two buttons (platforms allow 25)
_RECENT = 50  # sent in the last week, still waiting for the member
_WHICH = 10  # reminders listed (each with a button) when a name fits several
# Snooze buttons in DMs sent before they counted from the nudge time carried these; a
# click on one is the snooze its label promised ("Snooze 1 day", "Snooze 1 week").
_OLD_BUTTONS = {"in 24 hours": 1, "in 168 hours": 7}


async def _find(ctx: Context, seq: int) -> Nudge:
    nudge = await ctx.uow.nudges.by_seq(ctx.member.id, seq)
    if nudge is None:
        raise UserError(f"You have no reminder N{seq}. `/tiara followups` lists yours.")
    return nudge


async def _resolve(ctx: Context, typed: str, verb: str) -> Nudge | Message:
    """The reminder ``typed`` names: its id (N4), or a contact's name (or the start of
    one) when exactly one reminder `followups` lists is about them. When several are,
    a message listing them with a button each, to say which (nothing is changed)."""
    id_like = _ID_LIKE.fullmatch(typed)
    if id_like and (id_like.group(1) or "n").casefold() not in ("m", "r"):
        return await _find(ctx, parse_nudge(typed))  # "X1" is "not a reminder id"
    try:
        person = await find_contact(ctx, typed)  # a name, its start, or M3/R2's contact
    except UserError as err:
        raise UserError(f"{err.message} `/tiara followups` lists your reminders.") from None
    recent, pending = await _open_reminders(ctx)
    about = [n for n in [*recent, *pending] if (s := subject(n)) is not None and s.id == person.id]
    if not about:
        raise UserError(
            f"You have no reminders about {person.name} waiting. "
            "`/tiara followups` lists your reminders."
        )
    if len(about) == 1:
        await ctx.uow.nudges.number(about)  # its id is in the answer
        return about[0]
    shown = about[:_WHICH]
    await ctx.uow.nudges.number(shown)
    more = f"\n…and {len(about) - len(shown)} more: /tiara followups" if len(about) > _WHICH else ""
    return Message(
        title=f"Which reminder about {person.name}?",
        text=f"You have {len(about)} reminders about {person.name}; nothing has changed yet. "
        "Choose one, or type its id:\n"
        + "\n".join(f"• {_line(ctx, n)}" for n in shown)
        + more
        + f"\n\nFor example: /tiara {verb} {nudge_label(shown[0])}",
        buttons=tuple(
            Button(
                f"{verb.capitalize()} {nudge_label(n)}",
                (verb,),
                {**ctx.invocation.args, "id": nudge_label(n)},
            )
            for n in shown
        ),
    )


def _line(ctx: Context, nudge: Nudge) -> str:
    title = describe(nudge, tz=ctx.tz, now=ctx.now).title
    return f"{nudge_label(nudge)} · {ctx.when(nudge.due_at)} · {title}"


_ALL_KINDS = tuple(kind for kinds in k.FAMILIES.values() for kind in kinds)


def _wanted_kinds(ctx: Context) -> tuple[str, ...]:
    """The kinds of reminder the member still gets (not stopped with `nudge stop`)."""
    stopped = set(ctx.member.muted_kinds)
    if not ctx.member.weekly_plan:
        stopped.add("weekly_plan")
    return tuple(kind for kind in _ALL_KINDS if k.family_of(kind) not in stopped)


def _expired(ctx: Context, nudge: Nudge) -> bool:
    return nudge.expires_at is not None and nudge.expires_at <= ctx.now


async def _open_reminders(ctx: Context) -> tuple[list[Nudge], list[Nudge]]:
    """The reminders `followups` lists: those sent in the last week and still waiting for
    the member (latest first), and those still to come (soonest first). Stopped kinds
    won't be sent, and a reminder whose moment has passed expires quietly: neither is
    among them."""
    wanted = _wanted_kinds(ctx)
    muted = len(wanted) < len(_ALL_KINDS)
    pending = [
        n
        for n in await ctx.uow.nudges.pending(ctx.member.id, kinds=wanted if muted else ())
        if not _expired(ctx, n)
    ]
    recent = [
        n
        for n in await ctx.uow.nudges.recently_sent(
            ctx.member.id, since=ctx.now - timedelta(days=7), limit=_RECENT
        )
        if n.kind in wanted and not _expired(ctx, n)
    ]
    return recent, pending


@commands.command(
    "followups",
    options=(
        Option("page", Kind.TEXT, "which page of the list (default: the first)", max_length=6),
    ),
    examples=("/tiara followups", "/tiara followups page=2"),
    group="Reminders",
    aliases=("reminders", "nudges"),
)
async def followups(ctx: Context, args: dict[str, Any]) -> Message:
    """List the reminders I'll send you, and the ones waiting for you to act on.

    Each page shows up to 10, each with its buttons; "More" shows the next page.
    """
    member = ctx.member
    page_text = str(args.get("page", "1")).strip()
    if not page_text.isdigit() or int(page_text) < 1:
        raise UserError(
            f"page= takes a page number, like page=2 (you typed {page_text[:10]!r}).",
            option="page",
        )
    page = int(page_text)
    recent, pending = await _open_reminders(ctx)
    notes = []
    if not member.nudges_on:
        notes.append(
            "Reminders are off, so I won't send these. Turn them on: /tiara settings nudges=on"
        )
    elif member.muted_kinds:
        names = ", ".join(k.FAMILY_NAMES[f] for f in member.muted_kinds if f in k.FAMILY_NAMES)
        notes.append(f"Stopped: {names}. Back on: /tiara settings nudges=on")
    if not pending and not recent:
        return Message(
            title="No reminders right now",
            text="\n\n".join(
                [
                    *notes,
                    "I plan reminders as you go: log a request (/tiara request) or a meeting "
                    "(/tiara log) and I'll remind you to follow up, prepare and say thank you.",
                ]
            ),
        )
    listed = [*recent, *pending]
    pages = (len(listed) + _PAGE - 1) // _PAGE
    if page > pages:
        raise UserError(
            f"There {'is' if pages == 1 else 'are'} only {pages} "
            f"{'page' if pages == 1 else 'pages'} of reminders. See the first: /tiara followups",
            option="page",
        )
    shown = listed[(page - 1) * _PAGE : page * _PAGE]
    # Listed for the first time, a reminder gets its id: in the order they are listed.
    await ctx.uow.nudges.number(shown)
    sections = list(notes) if page == 1 else []
    for heading, group in (("Sent, waiting for you", recent), ("Coming up", pending)):
        here = [n for n in shown if any(n is g for g in group)]
        if here:
            sections.append(heading + "\n" + "\n".join(f"• {_line(ctx, n)}" for n in here))
    sections.append(f'Move one: /tiara snooze {nudge_label(shown[0])} when="Monday 9am"')
    buttons: list[Button] = []
    for nudge in shown:
        ref = {"id": nudge_label(nudge)}
        buttons.append(Button(f"Done {nudge_label(nudge)}", ("done",), ref))
        buttons.append(Button(f"Snooze {nudge_label(nudge)}", ("snooze",), ref))
    title = "Your reminders"
    if pages > 1:
        title += f" (page {page} of {pages})"
        rest = len(listed) - page * _PAGE
        if rest > 0:
            sections.append(f"{rest} more: /tiara followups page={page + 1}")
            buttons.append(Button("More", ("followups",), {"page": str(page + 1)}, "primary"))
        else:
            buttons.append(Button("Back to the first page", ("followups",), {}))
    return Message(title=title, text="\n\n".join(sections), buttons=tuple(buttons))


@commands.command(
    "snooze",
    options=(
        _ID,
        Option(
            "when",
            Kind.WHEN,
            "when to remind you instead (default: the next day, at your nudge time)",
        ),
        # Carried by the "Snooze 1 week" button: that many days instead of one.
        Option("days", Kind.CHOICE, "days to snooze by", choices=("1", "7"), hidden=True),
    ),
    examples=('/tiara snooze N4 when="Monday 9am"', "/tiara snooze N4", "/tiara snooze Dana"),
    group="Reminders",
)
async def snooze(ctx: Context, args: dict[str, Any]) -> Message:
    """Move a reminder to later (one already sent comes back then).

    Name it by its id (N4) or by the person it is about (Dana, or Dana Lee).
    """
    found = await _resolve(ctx, args["id"], "snooze")
    if isinstance(found, Message):
        return found
    nudge = found
    if nudge.status in (*_CLOSED, NudgeStatus.FAILED):
        why = _already_closed(nudge).title if nudge.status != NudgeStatus.FAILED else None
        raise UserError(
            f"{why or nudge_label(nudge) + ' could not be sent'}, so there is nothing to "
            "snooze. `/tiara followups` lists your reminders."
        )
    rhythm = ctx.nudges.rhythm
    days = int(args.get("days") or 1)
    when: datetime | None = args.get("when")
    typed = ctx.invocation.args.get("when")
    if isinstance(typed, str) and typed in _OLD_BUTTONS:
        when, days = None, _OLD_BUTTONS[typed]
    # By default (and from every snooze button): the nudge time a day (or ``days``) after
    # the later of now and when it is due.
    when = when or rhythm.next_day_at_nudge_time(max(ctx.now, nudge.due_at), days)
    if when <= ctx.now:
        raise UserError('Snooze to a time still to come, e.g. when="tomorrow 9am".')
    if when < nudge.due_at and nudge.status == NudgeStatus.PENDING:
        label = nudge_label(nudge)
        raise UserError(
            f"{label} is due {ctx.when(nudge.due_at)}; a snooze moves it later, and "
            f"{ctx.when(when)} is sooner. Nothing has changed. To be reminded later, give a "
            f"time after {ctx.when(nudge.due_at)}. To have it sooner, you needn't wait for "
            f"it: act on it now, then /tiara done {label}",
            option="when",
        )
    due = rhythm.after_quiet(when)
    note = ""
    if nudge.expires_at is not None and due >= nudge.expires_at:
        latest = rhythm.before_quiet(nudge.expires_at - timedelta(hours=1))
        if latest <= ctx.now:
            raise UserError(
                f"{nudge_label(nudge)} stops being useful at {ctx.when(nudge.expires_at)}. "
                f"Act on it now, or mark it done: /tiara done {nudge_label(nudge)}"
            )
        due = latest
        note = (
            f". That's the last useful moment: it stops mattering at {ctx.when(nudge.expires_at)}."
        )
    elif due != when:
        note = " (moved out of your quiet hours)"
    if nudge.kind == k.THANKS and nudge.meeting is not None:
        last_call = await ctx.uow.nudges.by_key(ctx.member.id, f"thanks_last:m{nudge.meeting.id}")
        if (
            last_call is not None
            and last_call.status in (NudgeStatus.PENDING, NudgeStatus.SENT)
            and (
                last_call.due_at <= due
                or rhythm.local_date(last_call.due_at) == rhythm.local_date(due)
            )
        ):
            # The last call covers it (it comes first, or later that day): one more
            # thank-you reminder, not two within hours.
            nudge.status = NudgeStatus.DONE
            changed_by_member(nudge, ctx.now)
            return Message(
                title=f"Snoozed {nudge_label(nudge)}",
                text="Your last call for this thank-you comes "
                f"{ctx.when(last_call.due_at)}; I'll remind you then.",
            )
    nudge.status = NudgeStatus.PENDING
    nudge.due_at = due
    nudge.snoozed_until = due
    changed_by_member(nudge, ctx.now)
    return Message(
        title=f"Snoozed {nudge_label(nudge)} until {ctx.when(due)}",
        text=describe(nudge, tz=ctx.tz, now=ctx.now).title + note,
    )


# A reminder in one of these has nothing left to do: `done` changes nothing.
_CLOSED = (NudgeStatus.DONE, NudgeStatus.CANCELLED, NudgeStatus.EXPIRED, NudgeStatus.SKIPPED)


def _closed_by(nudge: Nudge) -> str:
    """What closed a reminder, as far as its meeting or request tells."""
    meeting, request = nudge.meeting, nudge.request
    if nudge.kind in (k.THANKS, k.THANKS_LAST) and meeting is not None and meeting.thanks_at:
        return f"closed when you recorded the thank-you to {meeting.contact.name}"
    if (
        request is not None
        and request.status != RequestStatus.PENDING
        and (nudge.kind in k.FAMILIES["follow_up"] or nudge.kind == k.MOVE_ON)
    ):
        if request.replied_at is not None:
            return f"closed when you recorded {request.contact.name}'s reply"
        return f"closed when R{request.seq}, your request to {request.contact.name}, was closed"
    if nudge.kind == k.LOG_IT and meeting is not None and meeting.notes:
        return f"closed when you logged your notes on {meeting.contact.name}"
    if nudge.status == NudgeStatus.DONE:
        return "you marked it done"
    return "closed: what it asked for was done, or what it was about changed"


def _already_closed(nudge: Nudge) -> Message:
    label = nudge_label(nudge)
    if nudge.status == NudgeStatus.EXPIRED:
        return Message(
            title=f"{label} has passed",
            text="Its moment passed, so it is closed. Nothing to change.",
        )
    if nudge.status == NudgeStatus.SKIPPED:
        return Message(
            title=f"{label} was not sent",
            text="Those reminders were off when it was due, so it is closed. Nothing to change.",
        )
    return Message(
        title=f"{label} was already done ({_closed_by(nudge)})", text="Nothing to change."
    )


@commands.command(
    "done",
    options=(_ID,),
    examples=("/tiara done N4", '/tiara done "Dana Lee"'),
    group="Reminders",
    aliases=("nudge done",),
)
async def done(ctx: Context, args: dict[str, Any]) -> Message:
    """Tell me you've acted on a reminder (a thank-you sent marks the meeting too).

    Name it by its id (N4) or by the person it is about (Dana, or Dana Lee).
    """
    found = await _resolve(ctx, args["id"], "done")
    if isinstance(found, Message):
        return found
    nudge = found
    if nudge.status in _CLOSED:
        return _already_closed(nudge)
    planner = ctx.nudges
    extra = ""
    meeting, request = nudge.meeting, nudge.request
    if nudge.kind in (k.THANKS, k.THANKS_LAST) and meeting is not None:
        if meeting.thanks_at is None:
            meeting.thanks_at = ctx.now
            meeting.updated_at = ctx.now
            extra = f" The thank-you to {meeting.contact.name} is recorded."
        await planner.thanks_recorded(meeting)
    elif nudge.kind == k.MOVE_ON and request is not None:
        if request.status == RequestStatus.PENDING:
            request.status = RequestStatus.CLOSED
            ref = f"R{request.seq}"
            extra = (
                f" {ref}, your request to {request.contact.name}, is closed. If they write "
                f"back: /tiara reply {ref} outcome=scheduled"
            )
        await planner.cancel(k.FAMILIES["follow_up"], request=request)
    elif nudge.kind in k.FAMILIES["follow_up"] and request is not None:
        await planner.touch(request.contact, ctx.now)
    elif nudge.contact is not None and nudge.kind in (
        k.REFERRAL,
        k.TELL_REFERRER,
        k.KEEP_IN_TOUCH,
    ):
        await planner.touch(nudge.contact, ctx.now)
        if nudge.kind == k.KEEP_IN_TOUCH:
            extra = " I'll remind you again in a few months."
    nudge.status = NudgeStatus.DONE
    changed_by_member(nudge, ctx.now)
    title = describe(nudge, tz=ctx.tz, now=ctx.now).title
    return Message(title=f"Done: {title}", text=("Nice work." + extra).strip())


@commands.command(
    "nudge",
    "stop",
    options=(
        Option(
            "kind",
            Kind.CHOICE,
            "which reminders to stop",
            required=True,
            positional=True,
            choices=tuple(k.FAMILIES),
        ),
    ),
    examples=("/tiara nudge stop keep_in_touch",),
    group="Reminders",
)
async def stop(ctx: Context, args: dict[str, Any]) -> Message:
    """Stop one kind of reminder (thanks, prep, log_it, follow_up, referrals, ...)."""
    family: str = args["kind"]
    if family not in ctx.member.muted_kinds:
        ctx.member.muted_kinds = [*ctx.member.muted_kinds, family]
    if family == "weekly_plan":
        ctx.member.weekly_plan = False
    return Message(
        title=f"No more {k.FAMILY_NAMES[family]}",
        text="The others keep coming. To get every kind back: /tiara settings nudges=on",
    )


@commands.command(
    "landed",
    options=(
        Option(
            "org",
            Kind.TEXT,
            "the organization",
            required=True,
            positional=True,
            label="Organization",
        ),
        Option("role", Kind.TEXT, "the position or path", label="Role"),
    ),
    examples=('/tiara landed Acme role="Data analyst"', "/tiara landed org=Acme"),
    group="Reminders",
)
async def landed(ctx: Context, args: dict[str, Any]) -> Message:
    """Record that you landed a position (or chose a path), and thank the people who helped."""
    landing = Landing(
        workspace_id=ctx.member.workspace_id,
        member_id=ctx.member.id,
        organization=args["org"],
        role=args.get("role"),
        landed_at=ctx.now,
    )
    ctx.uow.add(landing)
    await ctx.uow.flush()
    helpers = await ctx.uow.tracker.helpers_of(ctx.member.id, ctx.now)
    await ctx.nudges.landed(landing.id)
    what = f"{args['role']} at {args['org']}" if args.get("role") else args["org"]
    if helpers:
        text = (
            "The people who helped you get here will be glad to hear it. Write to each of "
            "them with the news and a word of thanks:\n"
            + "\n".join(f"• {name}" for name in helpers)
            + "\n\nI'll remind you tomorrow morning."
        )
    else:
        text = "When you tell the people who helped, they'll be glad to hear it."
    return Message(
        title=f"Congratulations: {what}",
        text=text,
        fields=(Field("People who helped", str(len(helpers))),),
    )
