"""Lookups for any command, and what the tracker's command modules share: their options,
and the answers that ask before anything is saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.items import ItemRef
from bot.registry import Kind, Option
from bot.usecases import lookup
from bot.usecases.contacts import NameToCheck
from bot.usecases.lookup import (
    THANKS_WINDOW,
    Item,
    clip,
    label,
    meeting_line,
    request_line,
    thanks_state,
    who,
)
from bot.values import Button, Message
from storage.enums import RequestOutcome
from storage.models import Contact, Meeting, OutreachRequest

__all__ = [
    "CONTACT",
    "FOLLOWUPS",
    "ITEM",
    "NEW",
    "NOTES",
    "ORG",
    "OUTCOMES",
    "ROLE",
    "THANKS_WINDOW",
    "VENUE",
    "VENUES",
    "VIAS",
    "again",
    "ask_name",
    "clip",
    "duplicate",
    "find_contact",
    "find_item",
    "label",
    "meeting_line",
    "reply_buttons",
    "request_line",
    "thanks_state",
    "who",
    "words",
]


async def find_contact(ctx: Context, name: str) -> Contact:
    """One of the member's contacts (see :func:`bot.usecases.lookup.find_contact`)."""
    return await lookup.find_contact(ctx.scope, name)


async def find_item(
    ctx: Context,
    ref: ItemRef | str,
    *,
    want: type[Meeting] | type[OutreachRequest] | None = None,
    prefer: Callable[[Item], bool] | None = None,
) -> Item:
    """The member's meeting or request by id or contact, for the command being run (see
    :func:`bot.usecases.lookup.find_item`)."""
    return await lookup.find_item(ctx.scope, ref, want=want, prefer=prefer, command=words(ctx))


def words(ctx: Context) -> str:
    """The command being run, as typed after ``/tiara`` (its examples in errors)."""
    return " ".join(ctx.invocation.command)


# -- the tracker's options -----------------------------------------------------------

VIAS = ("email", "phone", "linkedin", "other")
OUTCOMES = tuple(o.value for o in RequestOutcome)
VENUES = ("phone", "video", "in-person")

CONTACT = Option(
    "contact", Kind.NAME, "who you contacted", required=True, positional=True, label="Contact"
)
ORG = Option("org", Kind.TEXT, "their organization", label="Organization")
ROLE = Option("role", Kind.TEXT, "their title or role", label="Role")
ITEM = Option(
    "id",
    Kind.ITEM,
    "a short id such as M3 or R2, or the contact's name",
    required=True,
    positional=True,
)
NOTES = Option(
    "notes", Kind.LONGTEXT, "what you learned, advice you got", label="Notes: what you learned"
)
FOLLOWUPS = Option(
    "followups", Kind.LONGTEXT, "what you promised to do", label="Follow-ups you promised"
)
VENUE = Option("venue", Kind.CHOICE, "how you met", choices=VENUES)
# Set by the "No, a new contact ..." button: these names are new contacts, though close to
# existing ones (Erik when the member has Erik Berg).
NEW = Option("new", Kind.NAMES, "names that are new contacts, not existing ones", hidden=True)


# -- asking first --------------------------------------------------------------------


def again(ctx: Context, args: dict[str, Any], **changes: object) -> dict[str, object]:
    """What was typed, for a button that runs the command again with ``changes``. A typed
    time is given as the moment it was read as: "today 11:00" clicked tomorrow is still
    today's."""
    typed = dict(ctx.invocation.args)
    when = args.get("when")
    if "when" in typed and isinstance(when, datetime):
        typed["when"] = f"{when.astimezone(ZoneInfo(ctx.tz)):%Y-%m-%d %H:%M}"
    return {**typed, **changes}


def ask_name(ctx: Context, args: dict[str, Any], check: NameToCheck) -> Message:
    """Ask whether a name typed for a new contact meant one the member has; each answer
    runs the command again, with that contact or with the name marked new (``new=``)."""
    name, meant, answered = check.typed, check.meant, list(args.get("new") or [])

    def instead(other: str) -> str:
        if check.names is None:
            return other
        return ", ".join(other if n == name else n for n in check.names)

    buttons = [
        Button(
            f"Yes, {clip(other, 40)}",
            ctx.invocation.command,
            again(ctx, args, **{check.option: instead(other)}),
            "primary" if index == 0 else None,
        )
        for index, other in enumerate(meant)
    ]
    buttons.append(
        Button(
            f"No, a new contact {clip(name, 30)}",
            ctx.invocation.command,
            again(ctx, args, new=", ".join([*answered, name])),
        )
    )
    listed = " or ".join(meant)
    return Message(
        title=f"Did you mean {listed}?",
        text=(
            f"You have {'a contact' if len(meant) == 1 else 'contacts'} named {listed}; "
            f"{clip(name)!r} would be a new contact. Nothing is saved until you choose."
        ),
        buttons=tuple(buttons),
    )


def duplicate(
    ctx: Context,
    args: dict[str, Any],
    text: str,
    existing: Item,
    anyway: str,
    *,
    title: str = "Already recorded?",
    add: bool = False,
    moved_to: datetime | None = None,
) -> Message:
    """Ask before recording what looks like a duplicate; nothing is saved meanwhile.

    With ``add``, the first answer runs the same command onto ``existing`` instead (its
    id given), so nothing typed has to be typed again; ``moved_to`` moves it too.
    """
    ref = label(existing)
    buttons = []
    if add:
        onto = again(ctx, args, id=ref)
        if moved_to is not None:
            onto["when"] = f"{moved_to.astimezone(ZoneInfo(ctx.tz)):%Y-%m-%d %H:%M}"
        buttons.append(Button(f"Add to {ref}", ctx.invocation.command, onto, "primary"))
    buttons.append(Button(f"Show {ref}", ("show",), {"id": ref}, None if add else "primary"))
    buttons.append(Button(anyway, ctx.invocation.command, again(ctx, args, confirm=True)))
    return Message(
        title=title,
        text=text + " Nothing is saved until you choose.",
        buttons=tuple(buttons),
    )


def reply_buttons(request: OutreachRequest) -> tuple[Button, ...]:
    return (
        Button("They agreed to meet", ("reply",), {"id": label(request), "outcome": "scheduled"}),
        Button("They declined", ("reply",), {"id": label(request), "outcome": "declined"}),
    )
