"""The tracker's contacts: everything about one, and their details."""

from __future__ import annotations

from typing import Any

from bot.commands.common import NEW, ORG, ask_name, meeting_line, request_line, who
from bot.context import Context
from bot.registry import Commands, Kind, Option
from bot.timeutil import format_when
from bot.usecases.contacts import (
    COLUMNS,
    ContactDetails,
    ContactView,
    NameToCheck,
    contact_card,
    save_contact,
)
from bot.values import Button, Field, Message

__all__ = ["commands", "render_contact"]

commands = Commands("Tracker")


@commands.command(
    "contact",
    options=(
        Option("name", Kind.NAME, "the contact's name", required=True, positional=True),
        Option("title", Kind.TEXT, "their title or role"),
        ORG,
        Option("field", Kind.TEXT, "their field or industry"),
        Option("email", Kind.EMAIL, "their email address"),
        Option("url", Kind.URL, "a profile link (LinkedIn, website)"),
        Option("phone", Kind.TEXT, "their phone number", max_length=40),
        Option("notes", Kind.LONGTEXT, "anything worth remembering about them"),
        Option("referred_by", Kind.NAME, "the contact who introduced you"),
        NEW,
    ),
    examples=(
        "/tiara contact Dana Lee",
        '/tiara contact "Dana Lee" email=dana@acme.org field="health tech"',
    ),
)
async def contact(ctx: Context, args: dict[str, Any]) -> Message:
    """Show everything about one contact, or add and change their details.

    With only a name it shows the contact: details, requests, meetings, referrals and
    your last interaction. With fields it saves them (adding the contact if new).
    """
    details = ContactDetails(**{key: value for key, value in args.items() if key in COLUMNS})
    if not details.given() and "referred_by" not in args:
        return render_contact(await contact_card(ctx.scope, args["name"]))
    saved = await save_contact(
        ctx.scope,
        args["name"],
        details=details,
        referred_by=args.get("referred_by"),
        new=args.get("new") or (),
    )
    if isinstance(saved, NameToCheck):
        return ask_name(ctx, args, saved)
    name = saved.contact.name
    return Message(
        title=f"{'Added' if saved.created else 'Updated'} {name}",
        text="Saved: " + ", ".join(saved.changed) + f'. See them: /tiara contact "{name}"',
    )


def render_contact(view: ContactView) -> Message:
    """Everything about one contact: details, meetings, requests, referrals."""
    person, referrer = view.contact, view.referrer
    fields: list[Field] = []
    for label_text, value in (
        ("Title", person.title),
        ("Organization", person.organization),
        ("Field", person.field),
        ("Email", person.email),
        ("Profile", person.profile_url),
        ("Phone", person.phone),
        ("Referred by", referrer.name if referrer else None),
    ):
        if value:
            fields.append(Field(label_text, value))
    if view.referrals:
        fields.append(Field("Referred you to", ", ".join(r.name for r in view.referrals)))
    last = view.last_interaction
    fields.append(Field("Last interaction", format_when(last, view.tz) if last else "none yet"))
    if person.notes:
        fields.append(Field("Notes", person.notes))
    parts = []
    if view.meetings:
        parts.append("Meetings\n" + "\n".join(f"• {meeting_line(view, m)}" for m in view.meetings))
    if view.requests:
        parts.append("Requests\n" + "\n".join(f"• {request_line(view, r)}" for r in view.requests))
    if not parts:
        parts.append("No requests or meetings with them yet.")
    buttons = (Button("Prepare", ("prep",), {"target": person.name}, "primary"),)
    return Message(
        title=who(person), text="\n\n".join(parts), fields=tuple(fields), buttons=buttons
    )
