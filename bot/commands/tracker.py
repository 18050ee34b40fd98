"""The tracker's commands on one meeting or request by its id: show, edit, delete and
thanks (requests and replies are in :mod:`bot.commands.requests`, logging and listing
meetings in :mod:`bot.commands.meetings`, contacts in :mod:`bot.commands.contacts`)."""

from __future__ import annotations

from typing import Any

from bot.coach.stats import plural
from bot.commands.common import (
    FOLLOWUPS,
    ITEM,
    NEW,
    NOTES,
    VENUE,
    VIAS,
    ask_name,
    clip,
    label,
    reply_buttons,
    thanks_state,
    words,
)
from bot.context import Context
from bot.registry import Commands, Kind, Option
from bot.usecases.contacts import DeleteContactAsked, NameToCheck, delete_contact
from bot.usecases.meetings import ThanksAlready, ThanksRecorded, record_thanks
from bot.usecases.tracker import (
    DeleteAsked,
    Edits,
    ItemEdited,
    ItemView,
    delete_item,
    edit_item,
    show_item,
)
from bot.values import Button, Field, Message, UserError
from storage.enums import RequestStatus
from storage.models import Meeting

__all__ = ["commands", "render_edited", "render_item", "render_thanks"]

commands = Commands("Tracker")


@commands.command("show", options=(ITEM,), examples=("/tiara show M3",))
async def show(ctx: Context, args: dict[str, Any]) -> Message:
    """Show one of your meetings or requests in full."""
    return render_item(ctx, await show_item(ctx.scope, args["id"], command=words(ctx)))


def render_item(ctx: Context, view: ItemView) -> Message:
    item = view.item
    if isinstance(item, Meeting):
        fields = _meeting_fields(ctx, item)
        if view.referrals:
            fields.append(Field("Referrals", ", ".join(r.name for r in view.referrals)))
        buttons = []
        if item.held_at > ctx.now:
            buttons.append(Button("Prepare", ("prep",), {"target": label(item)}, "primary"))
        elif item.thanks_at is None:
            buttons.append(
                Button("Mark thank-you sent", ("thanks",), {"id": label(item)}, "primary")
            )
        buttons.append(Button("Delete", ("delete",), {"id": label(item)}, "danger"))
        kind = "Upcoming meeting" if item.held_at > ctx.now else "Meeting"
        return Message(
            title=f"{label(item)} · {kind} with {item.contact.name}",
            text=f'Edit: /tiara edit {label(item)} notes="..."',
            fields=tuple(fields),
            buttons=tuple(buttons),
        )
    fields = [
        Field("Sent", ctx.when(item.sent_at)),
        Field("Via", item.via),
        Field("Status", item.status),
    ]
    if item.contact.organization:
        fields.insert(0, Field("Organization", item.contact.organization))
    if item.replied_at is not None:
        fields.append(Field("Reply", f"{item.outcome}, {ctx.when(item.replied_at)}"))
    buttons = []
    if item.status == RequestStatus.PENDING:
        buttons = list(reply_buttons(item))
    buttons.append(Button("Delete", ("delete",), {"id": label(item)}, "danger"))
    return Message(
        title=f"{label(item)} · Request to {item.contact.name}",
        text=f"Edit: /tiara edit {label(item)} via=phone",
        fields=tuple(fields),
        buttons=tuple(buttons),
    )


def _meeting_fields(ctx: Context, meeting: Meeting) -> list[Field]:
    contact = meeting.contact
    fields = [Field("When", ctx.when(meeting.held_at))]
    if contact.organization:
        fields.append(Field("Organization", contact.organization))
    if contact.title:
        fields.append(Field("Role", contact.title))
    if meeting.venue:
        fields.append(Field("Venue", meeting.venue))
    state = thanks_state(ctx, meeting)
    if state:
        fields.append(Field("Thank-you", state))
    if meeting.notes:
        fields.append(Field("Notes", meeting.notes))
    if meeting.followups:
        fields.append(Field("Follow-ups", meeting.followups))
    return fields


# The options of `edit`, besides the item and `new`: each one an Edits field.
_EDITS = ("when", "venue", "notes", "followups", "org", "role", "via", "contact", "referrals")


@commands.command(
    "edit",
    options=(
        ITEM,
        Option("when", Kind.WHEN, "a new date and time"),
        VENUE,
        NOTES,
        FOLLOWUPS,
        Option("org", Kind.TEXT, "the contact's organization (meetings)"),
        Option("role", Kind.TEXT, "the contact's title or role (meetings)"),
        Option("via", Kind.CHOICE, "how you asked (requests)", choices=VIAS),
        Option("contact", Kind.NAME, "move it to another contact"),
        Option(
            "referrals",
            Kind.NAMES,
            "everyone they suggested, comma-separated; it replaces the list (meetings)",
        ),
        NEW,
    ),
    examples=(
        '/tiara edit M3 notes="They suggested the SQL course"',
        "/tiara edit R2 via=phone",
        "/tiara edit M3 notes=",
        '/tiara edit M3 contact="Dana Lee" referrals="Sam Ortiz, Ann Wu"',
    ),
    clears=True,
)
async def edit(ctx: Context, args: dict[str, Any]) -> Message:
    """Change a meeting's when, venue, notes, followups, org, role, contact or referrals,
    or a request's when, via or contact.

    A new value replaces the old one; an empty one (notes=) clears it. contact= moves the
    meeting or request to another contact; referrals= replaces who they suggested.
    Recorded facts, such as a thank-you sent, stay.
    """
    done = await edit_item(
        ctx.scope,
        args["id"],
        Edits(**{key: value for key, value in args.items() if key in _EDITS}),
        new=args.get("new") or (),
        command=words(ctx),
    )
    if isinstance(done, NameToCheck):
        return ask_name(ctx, args, done)
    return render_edited(ctx, done)


def render_edited(ctx: Context, done: ItemEdited) -> Message:
    item, said = done.item, []
    if done.changed:
        said.append(
            "Changed:\n" + "\n".join(f"• {key}: {_edited(ctx, done, key)}" for key in done.changed)
        )
    if done.cleared:
        said.append("Cleared: " + ", ".join(done.cleared) + ".")
    if done.moved:
        said.append(f"It's now with {item.contact.name}.")
    return Message(
        title=f"Updated {label(item)}",
        text="\n".join(said) + f"\nSee it: /tiara show {label(item)}",
    )


def _edited(ctx: Context, done: ItemEdited, key: str) -> str:
    """The new value of ``key``, as the member sees it."""
    item = done.item
    if key == "when":
        return ctx.when(item.held_at if isinstance(item, Meeting) else item.sent_at)
    value = getattr(done.edits, key)
    if key == "referrals":
        return ", ".join(value)
    return clip(" ".join(value.split()), 80) if isinstance(value, str) else str(value)


@commands.command(
    "delete",
    options=(
        Option(
            "id",
            Kind.ITEM,
            "a short id such as M3 or R2, or the contact's name",
            positional=True,
        ),
        Option("contact", Kind.NAME, "a contact to delete, with everything about them"),
        Option("confirm", Kind.BOOL, "skip the question", hidden=True),
    ),
    examples=("/tiara delete M3", '/tiara delete contact="Dana Lee"'),
)
async def delete(ctx: Context, args: dict[str, Any]) -> Message:
    """Delete one of your meetings or requests, or a contact (you'll be asked to confirm).

    Deleting a contact deletes their meetings, requests and reminders too.
    """
    confirm = bool(args.get("confirm"))
    if "contact" in args:
        if "id" in args:
            raise UserError("Give an id or contact=, not both.")
        gone = await delete_contact(ctx.scope, args["contact"], confirm=confirm)
        if isinstance(gone, DeleteContactAsked):
            return _ask_delete_contact(gone)
        return Message(
            title=f"Deleted {gone.name}",
            text="Their meetings, requests and reminders are gone too.",
        )
    if "id" not in args:
        raise UserError(
            'Say what to delete: /tiara delete M3, or a contact: /tiara delete contact="Dana Lee"'
        )
    done = await delete_item(ctx.scope, args["id"], confirm=confirm, command=words(ctx))
    item = done.item
    kind = "meeting with" if isinstance(item, Meeting) else "request to"
    if isinstance(done, DeleteAsked):
        return Message(
            title=f"Delete {label(item)}?",
            text=f"This deletes your {kind} {item.contact.name}"
            + (", with its notes" if isinstance(item, Meeting) else "")
            + ". It can't be undone.",
            buttons=(
                Button("Delete", ("delete",), {"id": label(item), "confirm": True}, "danger"),
                Button("Keep it", ("show",), {"id": label(item)}),
            ),
        )
    return Message(
        title=f"Deleted {label(item)}",
        text=f"Your {kind} {done.contact.name} is gone. The contact itself is kept.",
    )


def _ask_delete_contact(asked: DeleteContactAsked) -> Message:
    name = asked.contact.name
    parts = [plural(asked.meetings, "meeting"), plural(asked.requests, "request")]
    return Message(
        title=f"Delete {name}?",
        text=(
            f"This deletes {name} with their {' and '.join(parts)}, their notes "
            "and every reminder about them. People they referred stay in your contacts. "
            "It can't be undone."
        ),
        buttons=(
            Button(
                f"Delete {clip(name, 40)}",
                ("delete",),
                {"contact": name, "confirm": True},
                "danger",
            ),
            Button("Keep them", ("contact",), {"name": name}),
        ),
    )


@commands.command(
    "thanks",
    options=(ITEM, Option("when", Kind.PAST_WHEN, "when you sent it (default: now)")),
    examples=("/tiara thanks M3",),
)
async def thanks(ctx: Context, args: dict[str, Any]) -> Message:
    """Record that you sent the thank-you note for a meeting."""
    done = await record_thanks(ctx.scope, args["id"], when=args.get("when"), command=words(ctx))
    return render_thanks(ctx, done)


def render_thanks(ctx: Context, done: ThanksRecorded | ThanksAlready) -> Message:
    meeting = done.meeting
    if isinstance(done, ThanksAlready):
        return Message(
            title=f"Thank-you to {meeting.contact.name} already recorded",
            text=f"You recorded it {ctx.when(done.at)} ({label(meeting)}); nothing changed.",
        )
    text = (
        "Sent within 24 hours: well done."
        if done.on_time
        else "Recorded. It was after the 24-hour mark, and it still counts."
    )
    if done.before is not None:
        text = (
            f"It was already recorded ({ctx.when(done.before)}); I changed only its time, to "
            f"{ctx.when(done.sent_at)}. " + text
        )
    elif meeting.followups:
        text += f"\n\nYou also promised: {clip(meeting.followups, 300)}"
    return Message(title=f"Thank-you to {meeting.contact.name} recorded", text=text)
