"""The tracker's meetings: logging one, and the list of meetings and requests.

:func:`render_meetings` draws a :class:`~bot.usecases.meetings.MeetingsView` (from
:func:`~bot.usecases.meetings.list_meetings`) for ``/tiara meetings`` and the dashboard.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.common import (
    CONTACT,
    FOLLOWUPS,
    NEW,
    NOTES,
    ORG,
    ROLE,
    THANKS_WINDOW,
    VENUE,
    ask_name,
    duplicate,
    label,
    meeting_line,
    request_line,
    words,
)
from bot.context import Context
from bot.registry import Commands, Kind, Option
from bot.usecases.contacts import NameToCheck
from bot.usecases.meetings import (
    MeetingRecorded,
    MeetingsView,
    SameMeeting,
    list_meetings,
    record_meeting,
)
from bot.values import Button, Message

__all__ = ["commands", "render_meeting", "render_meetings"]

commands = Commands("Tracker")

# An upcoming meeting at least this far away gets the offer of a rehearsal partner.
REHEARSAL_AHEAD = timedelta(days=2)


@commands.command(
    "log",
    options=(
        CONTACT,
        ORG,
        ROLE,
        Option(
            "when",
            Kind.WHEN,
            "when you met (default: now; a future time means upcoming)",
            label="When",
        ),
        VENUE,
        NOTES,
        FOLLOWUPS,
        Option(
            "referrals",
            Kind.NAMES,
            "people they suggested you talk to, comma-separated",
            label="Referrals (names, comma-separated)",
        ),
        Option("id", Kind.ITEM, "an upcoming meeting to fill in after it happened", hidden=True),
        Option("confirm", Kind.BOOL, "record it even if it looks like a duplicate", hidden=True),
        NEW,
    ),
    form=("Log a conversation", ("contact", "when", "notes", "followups", "referrals")),
    examples=(
        '/tiara log contact="Dana Lee" org=Acme when="yesterday 3pm" notes="Data teams want SQL"',
        '/tiara log contact="Sam Ortiz" when="next Tuesday 10am" venue=video',
    ),
)
async def log_meeting(ctx: Context, args: dict[str, Any]) -> Message:
    """Log an informational interview you had, or one coming up.

    A time in the future makes it an upcoming meeting. Each name in referrals= becomes a
    contact referred by this one.
    """
    done = await record_meeting(
        ctx.scope,
        contact=args["contact"],
        when=args.get("when"),
        org=args.get("org"),
        role=args.get("role"),
        venue=args.get("venue"),
        notes=args.get("notes"),
        followups=args.get("followups"),
        referrals=args.get("referrals") or (),
        fill_in=args.get("id"),
        confirm=bool(args.get("confirm")),
        new=args.get("new") or (),
        command=words(ctx),
    )
    if isinstance(done, NameToCheck):
        return ask_name(ctx, args, done)
    if isinstance(done, SameMeeting):
        return _same_meeting(ctx, args, done)
    return render_meeting(ctx, done)


def render_meeting(ctx: Context, done: MeetingRecorded) -> Message:
    meeting, name, held_at = done.meeting, done.contact.name, done.held_at
    paragraphs: list[str] = []
    buttons: list[Button] = []
    if done.upcoming:
        title = f"Upcoming {label(meeting)}: {name}, {ctx.when(held_at)}"
        promises = [
            said
            for family, said in (
                ("prep", "send you a checklist the day before"),
                ("log_it", "ask how it went afterwards"),
            )
            if family in done.reminds
        ]
        paragraphs.append(
            "Prepare the day before: look up their background, their organization's news and "
            "trends in the field, and write your questions."
            + (f" I'll {' and '.join(promises)}." if promises else "")
        )
        buttons.append(Button("Prepare", ("prep",), {"target": label(meeting)}, "primary"))
        if held_at - ctx.now >= REHEARSAL_AHEAD:
            paragraphs.append(
                "There's time to rehearse: a classmate can play the professional for 25 "
                "minutes while you try your questions."
            )
            buttons.append(Button("Find a rehearsal partner", ("practice", "now")))
    else:
        verb = "Updated" if done.filled_in else "Logged"
        title = f"{verb} {label(meeting)}: your conversation with {name}"
        deadline = held_at + THANKS_WINDOW
        if meeting.thanks_at is not None:
            pass
        elif deadline > ctx.now:
            paragraphs.append(
                f"Send a thank-you by {ctx.when(deadline)}, and mention one or two things you "
                "learned. Then mark it sent"
                + ("; until then I'll remind you." if "thanks" in done.reminds else ".")
            )
        else:
            paragraphs.append(
                "The 24-hour window for a thank-you has passed, but a warm note now still helps."
            )
        if meeting.thanks_at is None:
            buttons.append(
                Button("Mark thank-you sent", ("thanks",), {"id": label(meeting)}, "primary")
            )
    if done.answered:
        ids = ", ".join(label(r) for r in done.answered)
        paragraphs.append(f"Your request {ids} to {name} is marked replied.")
    if done.followups:
        paragraphs.append("You promised follow-ups; doing them is what people remember.")
    if done.new_referrals:
        paragraphs.append(
            "Referrals to contact, mentioning that "
            f"{name} suggested them:\n" + "\n".join(f"• {n}" for n in done.new_referrals)
        )
    return Message(title=title, text="\n\n".join(paragraphs), buttons=tuple(buttons))


def _same_meeting(ctx: Context, args: dict[str, Any], same: SameMeeting) -> Message:
    """Ask before logging a meeting the member likely has already: the answer can add
    what was typed to that meeting, or record a new one."""
    ref, name = label(same.meeting), same.contact.name
    if same.moved_to is not None:
        return duplicate(
            ctx,
            args,
            f"You have {ref} with {name} planned for {ctx.when(same.meeting.held_at)}. Did it "
            f"happen earlier? Add this to {ref}, moved to {ctx.when(same.moved_to)}?",
            same.meeting,
            "Record a new meeting",
            title=f"Same meeting as {ref}?",
            add=True,
            moved_to=same.moved_to,
        )
    return duplicate(
        ctx,
        args,
        f"You {'already ' if same.exact else ''}have {ref} with {name} "
        f"{_day_at(ctx, same.meeting.held_at)}. Add this to {ref}?",
        same.meeting,
        "Record a new meeting",
        title="Already recorded?" if same.exact else f"Same meeting as {ref}?",
        add=True,
    )


def _day_at(ctx: Context, moment: datetime) -> str:
    """A moment as "today at 11:00" (yesterday, tomorrow), else "on Wed 18 Nov 2026, 11:00"."""
    zone = ZoneInfo(ctx.tz)
    local = moment.astimezone(zone)
    days = (local.date() - ctx.now.astimezone(zone).date()).days
    word = {0: "today", -1: "yesterday", 1: "tomorrow"}.get(days)
    return f"{word} at {local:%H:%M}" if word else f"on {ctx.when(moment)}"


@commands.command("meetings", examples=("/tiara meetings",), aliases=("list", "ls"))
async def meetings(ctx: Context, args: dict[str, Any]) -> Message:
    """List your upcoming meetings, recent ones, and requests still waiting for a reply."""
    return render_meetings(await list_meetings(ctx.scope))


def render_meetings(view: MeetingsView) -> Message:
    """A member's meetings and requests (``/tiara meetings``, the dashboard's section)."""
    if view.empty:
        return Message(
            title="No meetings or requests yet",
            text=(
                "Start by recording a request you sent:\n"
                '/tiara request contact="Dana Lee" org=Acme via=email\n\n'
                'Or log a conversation you had: /tiara log contact="Dana Lee"'
            ),
        )
    sections = []
    for heading, lines, total in (
        ("Upcoming", [meeting_line(view, m) for m in view.upcoming], view.upcoming_total),
        ("Recent", [meeting_line(view, m) for m in view.recent], view.recent_total),
        ("Waiting for a reply", [request_line(view, r) for r in view.waiting], view.waiting_total),
    ):
        if lines:
            more = f"\n…and {total - len(lines)} more" if total > len(lines) else ""
            sections.append(heading + "\n" + "\n".join(f"• {line}" for line in lines) + more)
    sections.append("Details: /tiara show <id>")
    return Message(title="Your meetings and requests", text="\n\n".join(sections))
