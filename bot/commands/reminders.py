"""Reminders (nudges) a member can see and act on, and telling helpers you landed.

Each handler reads its arguments, calls its use case (:mod:`bot.usecases.reminders`) and
renders the result; the dashboard uses :func:`render_followups` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.context import Context
from bot.nudges import kinds as k
from bot.nudges.render import describe, nudge_label
from bot.registry import Commands, Kind, Option
from bot.usecases import Scope
from bot.usecases import reminders as uc
from bot.values import Button, Field, Message, UserError
from storage.models import Nudge

__all__ = ["commands", "render_followups"]

commands = Commands("Reminders", topics={"nudge": "Your reminders."})

# A name kind, so a contact's name is welcome (and suggested as it is typed); the use
# case tells an id from a name.
_ID = Option(
    "id",
    Kind.NAME,
    "a reminder's id, such as N4, or the name of the person it is about",
    required=True,
    positional=True,
)
# Snooze buttons in DMs sent before they counted from the nudge time carried these; a
# click on one is the snooze its label promised ("Snooze 1 day", "Snooze 1 week").
_OLD_BUTTONS = {"in 24 hours": 1, "in 168 hours": 7}


def _line(scope: Scope, nudge: Nudge) -> str:
    title = describe(nudge, tz=scope.tz, now=scope.now).title
    return f"{nudge_label(nudge)} · {scope.when(nudge.due_at)} · {title}"


def _render_several(
    scope: Scope, several: uc.Several, verb: str, args: Mapping[str, object]
) -> Message:
    """Which of a contact's reminders: a button each, to run ``verb`` on it (with the
    command's other ``args``)."""
    person, shown, total = several.person, several.shown, several.total
    more = f"\n…and {total - len(shown)} more: /tiara followups" if total > len(shown) else ""
    return Message(
        title=f"Which reminder about {person.name}?",
        text=f"You have {total} reminders about {person.name}; nothing has changed yet. "
        "Choose one, or type its id:\n"
        + "\n".join(f"• {_line(scope, n)}" for n in shown)
        + more
        + f"\n\nFor example: /tiara {verb} {nudge_label(shown[0])}",
        buttons=tuple(
            Button(f"{verb.capitalize()} {nudge_label(n)}", (verb,), {**args, "id": nudge_label(n)})
            for n in shown
        ),
    )


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
    page_text = str(args.get("page", "1")).strip()
    if not page_text.isdigit() or int(page_text) < 1:
        raise UserError(
            f"page= takes a page number, like page=2 (you typed {page_text[:10]!r}).",
            option="page",
        )
    scope = ctx.scope
    return render_followups(scope, await uc.list_reminders(scope, page=int(page_text)))


def render_followups(scope: Scope, listing: uc.Reminders) -> Message:
    """A page of the member's reminders (``/tiara followups``, the dashboard's section)."""
    notes = []
    if not listing.reminders_on:
        notes.append(
            "Reminders are off, so I won't send these. Turn them on: /tiara settings nudges=on"
        )
    elif listing.stopped:
        notes.append(f"Stopped: {', '.join(listing.stopped)}. Back on: /tiara settings nudges=on")
    shown = listing.shown
    if not shown:
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
    page, pages = listing.page, listing.pages
    sections = list(notes) if page == 1 else []
    for heading, here in (
        ("Sent, waiting for you", listing.recent),
        ("Coming up", listing.pending),
    ):
        if here:
            sections.append(heading + "\n" + "\n".join(f"• {_line(scope, n)}" for n in here))
    sections.append(f'Move one: /tiara snooze {nudge_label(shown[0])} when="Monday 9am"')
    buttons: list[Button] = []
    for nudge in shown:
        ref = {"id": nudge_label(nudge)}
        buttons.append(Button(f"Done {nudge_label(nudge)}", ("done",), ref))
        buttons.append(Button(f"Snooze {nudge_label(nudge)}", ("snooze",), ref))
    title = "Your reminders"
    if pages > 1:
        title += f" (page {page} of {pages})"
        if listing.rest > 0:
            sections.append(f"{listing.rest} more: /tiara followups page={page + 1}")
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
    days = int(args.get("days") or 1)
    until = args.get("when")
    typed = ctx.invocation.args.get("when")
    if isinstance(typed, str) and typed in _OLD_BUTTONS:
        until, days = None, _OLD_BUTTONS[typed]
    scope = ctx.scope
    result = await uc.snooze(scope, ref=args["id"], until=until, days=days)
    if isinstance(result, uc.Several):
        return _render_several(scope, result, "snooze", ctx.invocation.args)
    label = nudge_label(result.nudge)
    if result.covered_by is not None:
        return Message(
            title=f"Snoozed {label}",
            text="Your last call for this thank-you comes "
            f"{scope.when(result.covered_by.due_at)}; I'll remind you then.",
        )
    note = ""
    if result.last_useful and result.nudge.expires_at is not None:
        note = (
            ". That's the last useful moment: it stops mattering at "
            f"{scope.when(result.nudge.expires_at)}."
        )
    elif result.out_of_quiet:
        note = " (moved out of your quiet hours)"
    return Message(
        title=f"Snoozed {label} until {scope.when(result.until)}",
        text=describe(result.nudge, tz=scope.tz, now=scope.now).title + note,
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
    scope = ctx.scope
    result = await uc.done(scope, ref=args["id"])
    if isinstance(result, uc.Several):
        return _render_several(scope, result, "done", ctx.invocation.args)
    if isinstance(result, uc.AlreadyClosed):
        return Message(title=result.title, text=result.text)
    extra = ""
    if result.thanks_to is not None:
        extra = f" The thank-you to {result.thanks_to.name} is recorded."
    elif result.closed is not None:
        ref_text = f"R{result.closed.seq}"
        extra = (
            f" {ref_text}, your request to {result.closed.contact.name}, is closed. If they "
            f"write back: /tiara reply {ref_text} outcome=scheduled"
        )
    elif result.again_later:
        extra = " I'll remind you again in a few months."
    title = describe(result.nudge, tz=scope.tz, now=scope.now).title
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
    stopped = await uc.stop_kind(ctx.scope, family=args["kind"])
    return Message(
        title=f"No more {k.FAMILY_NAMES[stopped.family]}",
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
    result = await uc.landed(ctx.scope, organization=args["org"], role=args.get("role"))
    what = f"{result.role} at {result.organization}" if result.role else result.organization
    if result.helpers:
        text = (
            "The people who helped you get here will be glad to hear it. Write to each of "
            "them with the news and a word of thanks:\n"
            + "\n".join(f"• {name}" for name in result.helpers)
            + "\n\nI'll remind you tomorrow morning."
        )
    else:
        text = "When you tell the people who helped, they'll be glad to hear it."
    return Message(
        title=f"Congratulations: {what}",
        text=text,
        fields=(Field("People who helped", str(len(result.helpers))),),
    )
