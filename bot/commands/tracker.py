"""The networking tracker: requests, replies, meetings and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.coach.stats import plural
from bot.commands.common import (
    THANKS_WINDOW,
    clip,
    find_contact,
    find_item,
    label,
    likely_meant,
    meeting_line,
    request_line,
    thanks_state,
    upsert_contact,
    who,
)
from bot.context import Context
from bot.items import looks_like_item, parse_item
from bot.nudges import kinds as k
from bot.nudges.plan import CHECK_BACK_AFTER
from bot.registry import Commands, Kind, Option
from bot.values import Button, Field, Message, UserError
from storage.enums import RequestOutcome, RequestStatus
from storage.models import Contact, Meeting, Nudge, OutreachRequest
from storage.tracker import name_key

commands = Commands("Tracker")

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

# Two meetings with one contact this close together are likely the same one, logged twice.
SAME_TIME = timedelta(minutes=30)
# A meeting with them the same day, or one not filled in yet this close, likely is the one
# being logged (logged ahead as upcoming, and now they say how it went).
NOT_FILLED_IN = timedelta(hours=12)
# A meeting planned up to this long after one being logged may be it, come early.
MOVED_EARLIER = timedelta(days=14)

# An upcoming meeting at least this far away gets the offer of a rehearsal partner.
REHEARSAL_AHEAD = timedelta(days=2)


# -- requests ------------------------------------------------------------------------


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
    asked = await _ask_names(ctx, args, "contact")
    if asked is not None:
        return asked
    known = await ctx.uow.tracker.contact_by_name(ctx.member.id, args["contact"])
    if known is not None and not args.get("confirm"):
        waiting = await ctx.uow.tracker.pending_requests_to(ctx.member.id, known.id)
        if waiting:
            first = waiting[0]
            return _duplicate(
                ctx,
                args,
                f"Your request {label(first)} to {known.name} (sent {ctx.when(first.sent_at)}) "
                "is still waiting for a reply. Record a second request anyway?",
                first,
                "Record another",
            )
    contact, _ = await upsert_contact(
        ctx, args["contact"], org=args.get("org"), role=args.get("role")
    )
    if "email" in args:
        contact.email = args["email"]
    sent_at = args.get("when", ctx.now)
    row = OutreachRequest(
        workspace_id=ctx.member.workspace_id,
        member_id=ctx.member.id,
        seq=await ctx.uow.members.allocate_seq(ctx.member, "R"),
        contact=contact,
        via=args.get("via", "email"),
        sent_at=sent_at,
        status=RequestStatus.PENDING,
        created_at=ctx.now,
    )
    ctx.uow.add(row)
    await ctx.uow.flush()
    await ctx.nudges.request_sent(row)
    planned = await ctx.uow.nudges.pending(ctx.member.id, request_id=row.id, limit=1)
    return Message(
        title=f"Request {label(row)} to {contact.name} recorded",
        text=(
            f"Sent {ctx.when(sent_at)} via {row.via}. {_follow_up_promise(ctx, planned)}\n\n"
            f'When they answer: /tiara reply contact="{contact.name}" outcome=scheduled'
        ),
        buttons=_reply_buttons(row),
    )


def _duplicate(
    ctx: Context,
    args: dict[str, Any],
    text: str,
    existing: Meeting | OutreachRequest,
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
        onto = _again(ctx, args, id=ref)
        if moved_to is not None:
            onto["when"] = f"{moved_to.astimezone(ZoneInfo(ctx.tz)):%Y-%m-%d %H:%M}"
        buttons.append(Button(f"Add to {ref}", ctx.invocation.command, onto, "primary"))
    buttons.append(Button(f"Show {ref}", ("show",), {"id": ref}, None if add else "primary"))
    buttons.append(Button(anyway, ctx.invocation.command, _again(ctx, args, confirm=True)))
    return Message(
        title=title,
        text=text + " Nothing is saved until you choose.",
        buttons=tuple(buttons),
    )


def _again(ctx: Context, args: dict[str, Any], **changes: object) -> dict[str, object]:
    """What was typed, for a button that runs the command again with ``changes``. A typed
    time is given as the moment it was read as: "today 11:00" clicked tomorrow is still
    today's."""
    again = dict(ctx.invocation.args)
    when = args.get("when")
    if "when" in again and isinstance(when, datetime):
        again["when"] = f"{when.astimezone(ZoneInfo(ctx.tz)):%Y-%m-%d %H:%M}"
    return {**again, **changes}


async def _ask_names(
    ctx: Context, args: dict[str, Any], option: str, *, besides: Contact | None = None
) -> Message | None:
    """Ask before adding a contact whose name is close to one the member has (Erik for
    Erik Berg, Dana L for Dana Lee); None when every name in ``option`` is someone known,
    clearly someone new, or was answered as new (``new=``)."""
    value = args.get(option)
    typed: list[str] = value if isinstance(value, list) else [value] if value else []
    answered = list(args.get("new") or [])
    new_keys = {name_key(n) for n in answered}
    for name in typed:
        if name_key(name) in new_keys or looks_like_item(name):
            continue
        meant = await likely_meant(ctx, name, besides=besides)
        if not meant:
            continue

        def instead(other: str, name: str = name) -> str:
            if isinstance(value, list):
                return ", ".join(other if n == name else n for n in value)
            return other

        buttons = [
            Button(
                f"Yes, {clip(other, 40)}",
                ctx.invocation.command,
                _again(ctx, args, **{option: instead(other)}),
                "primary" if index == 0 else None,
            )
            for index, other in enumerate(meant)
        ]
        buttons.append(
            Button(
                f"No, a new contact {clip(name, 30)}",
                ctx.invocation.command,
                _again(ctx, args, new=", ".join([*answered, name])),
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
    return None


def _day_at(ctx: Context, moment: datetime) -> str:
    """A moment as "today at 11:00" (yesterday, tomorrow), else "on Wed 18 Nov 2026, 11:00"."""
    zone = ZoneInfo(ctx.tz)
    local = moment.astimezone(zone)
    days = (local.date() - ctx.now.astimezone(zone).date()).days
    word = {0: "today", -1: "yesterday", 1: "tomorrow"}.get(days)
    return f"{word} at {local:%H:%M}" if word else f"on {ctx.when(moment)}"


def _follow_up_promise(ctx: Context, planned: Sequence[Nudge]) -> str:
    """What happens next without a reply, from the reminder actually planned."""
    if not planned:
        return ""
    first = planned[0]
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


def _reply_buttons(request: OutreachRequest) -> tuple[Button, ...]:
    return (
        Button("They agreed to meet", ("reply",), {"id": label(request), "outcome": "scheduled"}),
        Button("They declined", ("reply",), {"id": label(request), "outcome": "declined"}),
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
    typed = args.get("contact", "")
    if (
        "id" not in args
        and looks_like_item(typed)
        and await ctx.uow.tracker.contact_by_name(ctx.member.id, typed) is None
    ):
        args["id"] = parse_item(args.pop("contact"))  # `reply R15`: the request's id
    if "id" in args:
        item = await find_item(
            ctx,
            args["id"],
            want=OutreachRequest,
            prefer=lambda r: isinstance(r, OutreachRequest) and r.status == RequestStatus.PENDING,
        )
        if not isinstance(item, OutreachRequest):
            raise UserError(f"{label(item)} is a meeting, not a request.")
        settled: list[OutreachRequest] = [item]  # a new answer replaces an earlier one
    elif "contact" in args:
        contact = await find_contact(ctx, args["contact"])
        settled = list(await ctx.uow.tracker.pending_requests_to(ctx.member.id, contact.id))
        if not settled:
            # "Come back later" and now they answered: that request gets the new outcome.
            later = [
                r
                for r in await ctx.uow.tracker.requests_to(ctx.member.id, contact.id)
                if r.outcome == RequestOutcome.LATER
            ]
            settled = later[-1:]
        if not settled:
            # Already answered so: typed again, it is said to be recorded (below).
            settled = [
                r
                for r in await ctx.uow.tracker.requests_to(ctx.member.id, contact.id)
                if r.outcome == args["outcome"]
            ][-1:]
        if not settled:
            raise UserError(
                f"You have no request to {contact.name} waiting for a reply. "
                f'Record one first: /tiara request contact="{contact.name}" via=email'
            )
    else:
        raise UserError('Say whose reply it is: /tiara reply contact="Dana Lee" outcome=scheduled')
    outcome = RequestOutcome(args["outcome"])
    when = args.get("when", ctx.now)
    check_back = args.get("back")
    if check_back is not None and outcome != RequestOutcome.LATER:
        raise UserError("back= is for outcome=later: when they asked you to check back.")
    if check_back is not None and check_back <= ctx.now:
        raise UserError('Check back at a time still to come, e.g. back="in 3 weeks".')
    name = settled[-1].contact.name
    repeated = all(r.outcome == outcome and r.replied_at is not None for r in settled)
    if repeated and check_back is None:
        return await _reply_again(ctx, args, settled, name)
    first_said = ctx.when(settled[-1].replied_at) if settled[-1].replied_at else ""
    # A reply can't come before the request it answers: it is recorded at the request's
    # time, and the member is told.
    early = [r for r in settled if when < r.sent_at]
    for req in settled:
        if not repeated or "when" in args:  # the same answer again keeps its time
            req.replied_at = max(when, req.sent_at)
        req.outcome = outcome
        req.status = (
            RequestStatus.CLOSED if outcome == RequestOutcome.DECLINED else RequestStatus.REPLIED
        )
        await ctx.nudges.request_answered(req)
    req = settled[-1]
    texts = {
        RequestOutcome.SCHEDULED: (
            f"Great news. Log the meeting so I can help you prepare: "
            f'/tiara log contact="{name}" when="next Tuesday 10am"'
        ),
        RequestOutcome.DECLINED: (
            "A no is normal and not personal; many requests go unanswered or declined. "
            "Ask someone else at the same organization, or move to the next name on your list."
        ),
        RequestOutcome.LATER: "",
    }
    if outcome == RequestOutcome.LATER:
        rhythm = ctx.nudges.rhythm
        chosen = check_back is not None
        if check_back is None:
            check_back = rhythm.at_nudge_time(rhythm.local_date(ctx.now + CHECK_BACK_AFTER))
        nudge = await ctx.nudges.check_back(req, check_back)
        due = nudge.due_at if nudge is not None else check_back
        texts[RequestOutcome.LATER] = (
            f"They asked you to come back later. I'll remind you to check back {ctx.when(due)}."
            + (
                ""
                if chosen
                else " That's two weeks from now; if they named a day: "
                f'/tiara reply {label(req)} outcome=later back="in 3 weeks"'
            )
        )
    text = texts[outcome]
    if repeated:
        text = (
            f"It was already recorded ({outcome}, {first_said}); I changed only the "
            f"check-back date. {text}"
        )
    if early:
        typed = clip(str(ctx.invocation.args.get("when", "")), 40).replace('"', "")
        text += (
            f"\n\nI recorded the reply at {ctx.when(early[-1].sent_at)}, when you sent the "
            "request: a reply can't come before it. when= is when they answered; to log the "
            f'meeting itself: /tiara log contact="{name}" when="{typed}"'
        )
    return Message(
        title=f"{', '.join(label(r) for r in settled)}: {name} replied ({outcome})",
        text=text.strip(),
        buttons=_after_reply(outcome, name),
    )


def _after_reply(outcome: RequestOutcome, name: str) -> tuple[Button, ...]:
    if outcome == RequestOutcome.SCHEDULED:
        return (Button("Log the meeting", ("log",), {"contact": name}, "primary", opens_form=True),)
    return ()


async def _reply_again(
    ctx: Context, args: dict[str, Any], settled: list[OutreachRequest], name: str
) -> Message:
    """The same answer recorded again: nothing changes, unless when= says another time."""
    outcome = RequestOutcome(args["outcome"])
    ids = ", ".join(label(r) for r in settled)
    moved = []
    if "when" in args:
        for req in settled:
            at = max(args["when"], req.sent_at)
            if at != req.replied_at:
                req.replied_at = at
                moved.append(req)
                await ctx.nudges.request_answered(req)
    recorded = ctx.when(settled[-1].replied_at or ctx.now)
    if moved:
        text = f"It was already recorded as {outcome}; I changed only its time, to {recorded}."
    else:
        text = f"You recorded it {recorded}; nothing changed."
    if outcome == RequestOutcome.SCHEDULED:
        text += f' Log the meeting when it is set: /tiara log contact="{name}" when="..."'
    if outcome == RequestOutcome.LATER:
        planned = await ctx.uow.nudges.pending(
            ctx.member.id, request_id=settled[-1].id, kinds=(k.CHECK_BACK,), limit=1
        )
        if planned:
            text += f" I'll remind you to check back {ctx.when(planned[0].due_at)}."
        text += f' Another day? /tiara reply {label(settled[-1])} outcome=later back="in 3 weeks"'
    return Message(
        title=f"{ids}: {name}'s reply ({outcome}) was already recorded",
        text=text,
        buttons=_after_reply(outcome, name),
    )


# -- meetings ------------------------------------------------------------------------


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
    new_contact = False
    if "id" not in args:
        asked = await _ask_names(ctx, args, "contact") or await _same_meeting(ctx, args)
        if asked is not None:
            return asked
    asked = await _ask_names(ctx, args, "referrals")
    if asked is not None:
        return asked
    if "id" in args:
        meeting = await _fill_in(ctx, args)
        contact = meeting.contact
        held_at = meeting.held_at
    else:
        held_at = args.get("when", ctx.now)
        contact, new_contact = await upsert_contact(
            ctx,
            args["contact"],
            org=args.get("org"),
            role=args.get("role"),
            met_at=held_at if held_at <= ctx.now else None,
        )
        meeting = Meeting(
            workspace_id=ctx.member.workspace_id,
            member_id=ctx.member.id,
            seq=await ctx.uow.members.allocate_seq(ctx.member, "M"),
            contact=contact,
            held_at=held_at,
            venue=args.get("venue"),
            notes=args.get("notes"),
            followups=args.get("followups"),
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.uow.add(meeting)
    new_referrals: list[str] = []
    if args.get("referrals"):
        await ctx.uow.flush()  # the meeting's id, so each referral reminder names its source
    for name in args.get("referrals", []):
        if name.casefold() == contact.name.casefold():
            raise UserError(f"{contact.name} can't be their own referral; check referrals=.")
        referral, created = await upsert_contact(ctx, name, referred_by=contact)
        new_referrals.append(referral.name)
        if created:
            await ctx.nudges.referral_received(referral, meeting)
    # Someone just added to the contacts has no requests waiting for a reply.
    pending = (
        [] if new_contact else await ctx.uow.tracker.pending_requests_to(ctx.member.id, contact.id)
    )
    for req in pending:
        req.status, req.outcome = RequestStatus.REPLIED, RequestOutcome.SCHEDULED
        req.replied_at = ctx.now
        # The meeting being logged, if it is over, says they have met.
        await ctx.nudges.request_answered(req, met=True if held_at <= ctx.now else None)
    await ctx.uow.flush()
    await ctx.nudges.meeting_changed(meeting)

    paragraphs: list[str] = []
    buttons: list[Button] = []
    if held_at > ctx.now:
        title = f"Upcoming {label(meeting)}: {contact.name}, {ctx.when(held_at)}"
        promises = [
            said
            for family, said in (
                ("prep", "send you a checklist the day before"),
                ("log_it", "ask how it went afterwards"),
            )
            if _reminds(ctx, family)
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
        verb = "Updated" if "id" in args else "Logged"
        title = f"{verb} {label(meeting)}: your conversation with {contact.name}"
        deadline = held_at + THANKS_WINDOW
        if meeting.thanks_at is not None:
            pass
        elif deadline > ctx.now:
            paragraphs.append(
                f"Send a thank-you by {ctx.when(deadline)}, and mention one or two things you "
                "learned. Then mark it sent"
                + ("; until then I'll remind you." if _reminds(ctx, "thanks") else ".")
            )
        else:
            paragraphs.append(
                "The 24-hour window for a thank-you has passed, but a warm note now still helps."
            )
        if meeting.thanks_at is None:
            buttons.append(
                Button("Mark thank-you sent", ("thanks",), {"id": label(meeting)}, "primary")
            )
    if pending:
        ids = ", ".join(label(r) for r in pending)
        paragraphs.append(f"Your request {ids} to {contact.name} is marked replied.")
    if args.get("followups"):
        paragraphs.append("You promised follow-ups; doing them is what people remember.")
    if new_referrals:
        paragraphs.append(
            "Referrals to contact, mentioning that "
            f"{contact.name} suggested them:\n" + "\n".join(f"• {n}" for n in new_referrals)
        )
    return Message(title=title, text="\n\n".join(paragraphs), buttons=tuple(buttons))


async def _same_meeting(ctx: Context, args: dict[str, Any]) -> Message | None:
    """Ask before logging a meeting the member likely has already: one with them at about
    that time, the same day, or logged ahead and not filled in yet within 12 hours. The
    answer can add what was typed to that meeting, or record a new one."""
    if args.get("confirm"):
        return None
    known = await ctx.uow.tracker.contact_by_name(ctx.member.id, args["contact"])
    if known is None:
        return None
    held_at: datetime = args.get("when", ctx.now)
    zone = ZoneInfo(ctx.tz)
    day = held_at.astimezone(zone).date()

    def filled_in(m: Meeting) -> bool:
        return m.notes is not None or m.followups is not None

    def likely(m: Meeting) -> bool:
        gap = abs(m.held_at - held_at)
        return (
            gap <= SAME_TIME
            or m.held_at.astimezone(zone).date() == day
            or (gap <= NOT_FILLED_IN and not filled_in(m))
        )

    def moved_earlier(m: Meeting) -> bool:
        """Planned for later, but this one has happened: it came earlier than planned."""
        return held_at <= ctx.now < m.held_at <= held_at + MOVED_EARLIER and not filled_in(m)

    meetings = await ctx.uow.tracker.meetings_with(ctx.member.id, known.id)
    candidates = [m for m in meetings if likely(m)]
    if not candidates:
        planned = [m for m in meetings if moved_earlier(m)]
        if not planned:
            return None
        first = min(planned, key=lambda m: m.held_at)
        ref = label(first)
        return _duplicate(
            ctx,
            args,
            f"You have {ref} with {known.name} planned for {ctx.when(first.held_at)}. Did it "
            f"happen earlier? Add this to {ref}, moved to {ctx.when(held_at)}?",
            first,
            "Record a new meeting",
            title=f"Same meeting as {ref}?",
            add=True,
            moved_to=held_at,
        )
    same = min(candidates, key=lambda m: abs(m.held_at - held_at))
    ref = label(same)
    exact = abs(same.held_at - held_at) <= SAME_TIME
    return _duplicate(
        ctx,
        args,
        f"You {'already ' if exact else ''}have {ref} with {known.name} "
        f"{_day_at(ctx, same.held_at)}. Add this to {ref}?",
        same,
        "Record a new meeting",
        title="Already recorded?" if exact else f"Same meeting as {ref}?",
        add=True,
    )


def _appended(old: str | None, new: str | None) -> str | None:
    if not new:
        return old
    if not old:
        return new
    return old if new.strip() in old else f"{old}\n\n{new}"


async def _fill_in(ctx: Context, args: dict[str, Any]) -> Meeting:
    """Complete a meeting logged ahead of time (the "Log how it went" button)."""
    item = await find_item(ctx, args["id"], want=Meeting)
    if not isinstance(item, Meeting):
        raise UserError(f"{label(item)} is a request; log the meeting itself with contact=.")
    if "contact" in args and name_key(args["contact"]) != item.contact.name_key:
        raise UserError(
            f"{label(item)} is your meeting with {item.contact.name}, not {args['contact']}. "
            f'To log a different conversation: /tiara log contact="{args["contact"]}"'
        )
    when = args.get("when")
    if when is not None:
        item.held_at = when
    elif item.held_at > ctx.now:
        item.held_at = ctx.now  # they are telling us how it went: it has happened
    if "venue" in args:
        item.venue = args["venue"]
    item.notes = _appended(item.notes, args.get("notes"))
    item.followups = _appended(item.followups, args.get("followups"))
    if "org" in args:
        item.contact.organization = args["org"]
    if "role" in args:
        item.contact.title = args["role"]
    item.updated_at = ctx.now
    if args.get("notes") or args.get("followups"):
        await ctx.nudges.meeting_logged_after_the_fact(item)
    return item


_LISTED_MEETINGS = 10  # upcoming, and recent
_LISTED_REQUESTS = 15


@commands.command("meetings", examples=("/tiara meetings",), aliases=("list", "ls"))
async def meetings(ctx: Context, args: dict[str, Any]) -> Message:
    """List your upcoming meetings, recent ones, and requests still waiting for a reply."""
    mid = ctx.member.id
    upcoming = await ctx.uow.tracker.upcoming_meetings(mid, ctx.now, limit=_LISTED_MEETINGS)
    recent = await ctx.uow.tracker.recent_meetings(mid, ctx.now, limit=_LISTED_MEETINGS)
    waiting = await ctx.uow.tracker.open_requests(mid, limit=_LISTED_REQUESTS)
    if not (upcoming or recent or waiting):
        return Message(
            title="No meetings or requests yet",
            text=(
                "Start by recording a request you sent:\n"
                '/tiara request contact="Dana Lee" org=Acme via=email\n\n'
                'Or log a conversation you had: /tiara log contact="Dana Lee"'
            ),
        )
    # A list shorter than its page is complete: counted only when one may go on.
    n_upcoming, n_past, n_waiting = len(upcoming), len(recent), len(waiting)
    if _LISTED_MEETINGS in (n_upcoming, n_past):
        n_upcoming, n_past = await ctx.uow.tracker.count_meetings(mid, ctx.now)
    if n_waiting == _LISTED_REQUESTS:
        n_waiting = await ctx.uow.tracker.count_open_requests(mid)
    sections = []
    for heading, lines, total in (
        ("Upcoming", [meeting_line(ctx, m) for m in upcoming], n_upcoming),
        ("Recent", [meeting_line(ctx, m) for m in recent], n_past),
        ("Waiting for a reply", [request_line(ctx, r) for r in waiting], n_waiting),
    ):
        if lines:
            more = f"\n…and {total - len(lines)} more" if total > len(lines) else ""
            sections.append(heading + "\n" + "\n".join(f"• {line}" for line in lines) + more)
    sections.append("Details: /tiara show <id>")
    return Message(title="Your meetings and requests", text="\n\n".join(sections))


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


@commands.command("show", options=(ITEM,), examples=("/tiara show M3",))
async def show(ctx: Context, args: dict[str, Any]) -> Message:
    """Show one of your meetings or requests in full."""
    item = await find_item(ctx, args["id"])
    if isinstance(item, Meeting):
        fields = _meeting_fields(ctx, item)
        referrals = await ctx.uow.tracker.referrals_of(ctx.member.id, item.contact_id)
        if referrals:
            fields.append(Field("Referrals", ", ".join(r.name for r in referrals)))
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
        buttons = list(_reply_buttons(item))
    buttons.append(Button("Delete", ("delete",), {"id": label(item)}, "danger"))
    return Message(
        title=f"{label(item)} · Request to {item.contact.name}",
        text=f"Edit: /tiara edit {label(item)} via=phone",
        fields=tuple(fields),
        buttons=tuple(buttons),
    )


_MEETING_EDITS = {"when", "venue", "notes", "followups", "org", "role", "contact", "referrals"}
_REQUEST_EDITS = {"when", "via", "contact"}
_NEEDED = {"when", "contact", "via"}  # can be changed, never emptied


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
    item = await find_item(ctx, args["id"])
    changes = {k: v for k, v in args.items() if k not in ("id", "new")}
    allowed = _MEETING_EDITS if isinstance(item, Meeting) else _REQUEST_EDITS
    if not changes:
        raise UserError(
            f"Say what to change, e.g. /tiara edit {label(item)} "
            + ('notes="..."' if isinstance(item, Meeting) else "via=phone")
            + f". You can change: {', '.join(sorted(allowed))}."
        )
    wrong = sorted(set(changes) - allowed)
    if wrong:
        raise UserError(
            f"{label(item)} has no {', '.join(wrong)} to change. You can change: "
            f"{', '.join(sorted(allowed))}."
        )
    emptied = sorted(k for k, v in changes.items() if v is None and k in _NEEDED)
    if emptied:
        raise UserError(
            f"{', '.join(f'{k}=' for k in emptied)} can be changed but not left empty; give "
            f"a new value, e.g. /tiara edit {label(item)} {emptied[0]}=..."
        )
    if changes.get("contact") and name_key(changes["contact"]) != item.contact.name_key:
        # Close to the name it has? Then the name is being corrected (Dana Le to Dana Lee).
        asked = await _ask_names(ctx, args, "contact", besides=item.contact)
        if asked is not None:
            return asked
    if isinstance(item, Meeting) and changes.get("referrals"):
        asked = await _ask_names(ctx, args, "referrals")
        if asked is not None:
            return asked
    before = item.contact
    if "contact" in changes:
        if name_key(changes["contact"]) == before.name_key:
            del changes["contact"]
        else:
            item.contact, _ = await upsert_contact(ctx, changes["contact"])
    if isinstance(item, Meeting):
        await _edit_meeting(ctx, item, changes)
    else:
        if "when" in changes:
            if changes["when"] > ctx.now:
                raise UserError("A request's when= can't be in the future.")
            item.sent_at = changes["when"]
        if "via" in changes:
            item.via = changes["via"]
        if item.status == RequestStatus.PENDING and ("when" in changes or "contact" in changes):
            await ctx.uow.flush()
            await ctx.nudges.request_sent(item)
    if "contact" in changes:
        await ctx.uow.flush()
        await ctx.nudges.keep_in_touch(before)  # met them still? else no keep-in-touch
    cleared = sorted(k for k, v in changes.items() if v is None)
    changed = sorted(k for k, v in changes.items() if v is not None and k != "contact")
    said = []
    if changed:
        said.append(
            "Changed:\n" + "\n".join(f"• {k}: {_edited(ctx, item, k, changes)}" for k in changed)
        )
    if cleared:
        said.append("Cleared: " + ", ".join(cleared) + ".")
    if "contact" in changes:
        said.append(f"It's now with {item.contact.name}.")
    return Message(
        title=f"Updated {label(item)}",
        text="\n".join(said) + f"\nSee it: /tiara show {label(item)}",
    )


def _edited(
    ctx: Context, item: Meeting | OutreachRequest, key: str, changes: dict[str, Any]
) -> str:
    """The new value of ``key``, as the member sees it."""
    if key == "when":
        return ctx.when(item.held_at if isinstance(item, Meeting) else item.sent_at)
    if key == "referrals":
        return ", ".join(changes["referrals"])
    value = changes[key]
    return clip(" ".join(value.split()), 80) if isinstance(value, str) else str(value)


async def _edit_meeting(ctx: Context, item: Meeting, changes: dict[str, Any]) -> None:
    thanked = item.thanks_at
    if "when" in changes:
        item.held_at = changes["when"]
    for key in ("venue", "notes", "followups"):
        if key in changes:
            setattr(item, key, changes[key])
    if "org" in changes:
        item.contact.organization = changes["org"]
    if "role" in changes:
        item.contact.title = changes["role"]
    item.updated_at = ctx.now
    if "referrals" in changes:
        await _set_referrals(ctx, item, changes["referrals"] or [])
    if "when" in changes or "contact" in changes:
        await ctx.uow.flush()
        await ctx.nudges.meeting_changed(item)
        if thanked is not None and item.thanks_at is None:
            # A recorded thank-you is a fact: moving the meeting doesn't undo it.
            item.thanks_at = thanked
            await ctx.nudges.cancel((k.THANKS, k.THANKS_LAST), meeting=item)
    if item.held_at <= ctx.now and ("notes" in changes or "followups" in changes):
        await ctx.nudges.meeting_logged_after_the_fact(item)


async def _set_referrals(ctx: Context, meeting: Meeting, names: list[str]) -> None:
    """Make ``names`` exactly the people the meeting's contact referred."""
    source = meeting.contact
    keys = {name_key(n) for n in names}
    if source.name_key in keys:
        raise UserError(f"{source.name} can't be their own referral; check referrals=.")
    for old in await ctx.uow.tracker.referrals_of(ctx.member.id, source.id):
        if old.name_key not in keys:
            old.referred_by_id = None
            old.updated_at = ctx.now
    await ctx.uow.flush()
    for name in names:
        referral, created = await upsert_contact(ctx, name)
        referral.referred_by_id = source.id
        if created:
            await ctx.nudges.referral_received(referral, meeting)


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
    if "contact" in args:
        if "id" in args:
            raise UserError("Give an id or contact=, not both.")
        return await _delete_contact(ctx, args)
    if "id" not in args:
        raise UserError(
            'Say what to delete: /tiara delete M3, or a contact: /tiara delete contact="Dana Lee"'
        )
    item = await find_item(ctx, args["id"])
    kind = "meeting with" if isinstance(item, Meeting) else "request to"
    if not args.get("confirm"):
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
    person = item.contact
    await ctx.uow.delete(item)
    await ctx.uow.flush()
    await ctx.nudges.keep_in_touch(person)  # no longer "met"? then no keep-in-touch either
    return Message(
        title=f"Deleted {label(item)}",
        text=f"Your {kind} {item.contact.name} is gone. The contact itself is kept.",
    )


def _reminds(ctx: Context, family: str) -> bool:
    """Whether the member gets reminders of ``family`` (not stopped, nudges on)."""
    return ctx.member.nudges_on and family not in ctx.member.muted_kinds


async def _delete_contact(ctx: Context, args: dict[str, Any]) -> Message:
    person = await find_contact(ctx, args["contact"])
    mid = ctx.member.id
    meetings = await ctx.uow.tracker.meetings_with(mid, person.id)
    requests = await ctx.uow.tracker.requests_to(mid, person.id)
    if not args.get("confirm"):
        parts = [plural(len(meetings), "meeting"), plural(len(requests), "request")]
        return Message(
            title=f"Delete {person.name}?",
            text=(
                f"This deletes {person.name} with their {' and '.join(parts)}, their notes "
                "and every reminder about them. People they referred stay in your contacts. "
                "It can't be undone."
            ),
            buttons=(
                Button(
                    f"Delete {clip(person.name, 40)}",
                    ("delete",),
                    {"contact": person.name, "confirm": True},
                    "danger",
                ),
                Button("Keep them", ("contact",), {"name": person.name}),
            ),
        )
    for referral in await ctx.uow.tracker.referrals_of(mid, person.id):
        referral.referred_by_id = None
    for nudge in await ctx.uow.nudges.pending(mid, contact_id=person.id):
        await ctx.uow.delete(nudge)
    for item in [*meetings, *requests]:
        for nudge in await ctx.uow.nudges.pending(
            mid,
            meeting_id=item.id if isinstance(item, Meeting) else None,
            request_id=item.id if isinstance(item, OutreachRequest) else None,
        ):
            await ctx.uow.delete(nudge)
        await ctx.uow.delete(item)
    await ctx.uow.delete(person)
    await ctx.uow.flush()
    return Message(
        title=f"Deleted {person.name}",
        text="Their meetings, requests and reminders are gone too.",
    )


@commands.command(
    "thanks",
    options=(ITEM, Option("when", Kind.PAST_WHEN, "when you sent it (default: now)")),
    examples=("/tiara thanks M3",),
)
async def thanks(ctx: Context, args: dict[str, Any]) -> Message:
    """Record that you sent the thank-you note for a meeting."""
    item = await find_item(
        ctx,
        args["id"],
        want=Meeting,
        prefer=lambda m: isinstance(m, Meeting) and m.held_at <= ctx.now and m.thanks_at is None,
    )
    if not isinstance(item, Meeting):
        raise UserError(f"{label(item)} is a request; thank-you notes go with meetings (M...).")
    if item.held_at > ctx.now:
        raise UserError(
            f"{label(item)} with {item.contact.name} hasn't happened yet "
            f"({ctx.when(item.held_at)}). Record the thank-you after the meeting."
        )
    sent = args.get("when", ctx.now)
    if sent < item.held_at:
        raise UserError(
            f"when= is before the meeting itself ({ctx.when(item.held_at)}); check the date."
        )
    before = item.thanks_at
    if before is not None and ("when" not in args or sent == before):
        return Message(
            title=f"Thank-you to {item.contact.name} already recorded",
            text=f"You recorded it {ctx.when(before)} ({label(item)}); nothing changed.",
        )
    item.thanks_at = sent
    item.updated_at = ctx.now
    await ctx.nudges.thanks_recorded(item)
    on_time = sent - item.held_at <= THANKS_WINDOW
    text = (
        "Sent within 24 hours: well done."
        if on_time
        else "Recorded. It was after the 24-hour mark, and it still counts."
    )
    if before is not None:
        text = (
            f"It was already recorded ({ctx.when(before)}); I changed only its time, to "
            f"{ctx.when(sent)}. " + text
        )
    elif item.followups:
        text += f"\n\nYou also promised: {clip(item.followups, 300)}"
    return Message(title=f"Thank-you to {item.contact.name} recorded", text=text)


# -- contacts ------------------------------------------------------------------------

_CONTACT_EDITS = {
    "title": "title",
    "org": "organization",
    "field": "field",
    "email": "email",
    "url": "profile_url",
    "phone": "phone",
    "notes": "notes",
}


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
    name: str = args["name"]
    updates = {k: v for k, v in args.items() if k in _CONTACT_EDITS}
    referrer: Contact | None = None
    if "referred_by" in args:
        referrer = await find_contact(ctx, args["referred_by"])
    if updates or referrer is not None:
        asked = await _ask_names(ctx, args, "name")
        if asked is not None:
            return asked
        person, created = await upsert_contact(ctx, name)
        if referrer is not None:
            if referrer.id == person.id:
                raise UserError("A contact can't be referred by themselves.")
            person.referred_by_id = referrer.id
        for key, value in updates.items():
            setattr(person, _CONTACT_EDITS[key], value)
        person.updated_at = ctx.now
        await ctx.uow.flush()
        changed = sorted(updates) + (["referred_by"] if referrer is not None else [])
        return Message(
            title=f"{'Added' if created else 'Updated'} {person.name}",
            text="Saved: " + ", ".join(changed) + f'. See them: /tiara contact "{person.name}"',
        )
    person = await find_contact(ctx, name)
    return await _contact_card(ctx, person)


async def _contact_card(ctx: Context, person: Contact) -> Message:
    referrer = await person.awaitable_attrs.referred_by
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
    mid = ctx.member.id
    requests = await ctx.uow.tracker.requests_to(mid, person.id)
    met = await ctx.uow.tracker.meetings_with(mid, person.id)
    referrals = await ctx.uow.tracker.referrals_of(mid, person.id)
    if referrals:
        fields.append(Field("Referred you to", ", ".join(r.name for r in referrals)))
    moments = [r.sent_at for r in requests] + [r.replied_at for r in requests if r.replied_at]
    moments += [m.held_at for m in met if m.held_at <= ctx.now]
    moments += [m.thanks_at for m in met if m.thanks_at]
    last = max((m for m in moments if m is not None), default=None)
    fields.append(Field("Last interaction", ctx.when(last) if last else "none yet"))
    if person.notes:
        fields.append(Field("Notes", person.notes))
    parts = []
    if met:
        parts.append("Meetings\n" + "\n".join(f"• {meeting_line(ctx, m)}" for m in met))
    if requests:
        parts.append("Requests\n" + "\n".join(f"• {request_line(ctx, r)}" for r in requests))
    if not parts:
        parts.append("No requests or meetings with them yet.")
    buttons = (Button("Prepare", ("prep",), {"target": person.name}, "primary"),)
    return Message(
        title=who(person), text="\n\n".join(parts), fields=tuple(fields), buttons=buttons
    )
