"""Reminders (nudges): list them, snooze one, mark one done, stop a kind; landing a position.

A reminder is named by a :data:`ReminderRef`: its id as typed (N4) or the name of the
contact it is about (Dana, or M3/R2 for that item's contact), its number, or the
contact. A contact with several reminders waiting gives :class:`Several` (nothing is
changed), for the member to choose one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.items import parse_nudge
from bot.nudges import kinds as k
from bot.nudges.render import nudge_label, subject
from bot.usecases import Scope
from bot.usecases.lookup import find_contact
from bot.values import UserError
from storage.enums import NudgeStatus, RequestStatus
from storage.models import Contact, Landing, Nudge, OutreachRequest, changed_by_member

__all__ = [
    "PAGE",
    "AlreadyClosed",
    "Done",
    "Landed",
    "ReminderRef",
    "Reminders",
    "Several",
    "Snoozed",
    "Stopped",
    "done",
    "landed",
    "list_reminders",
    "snooze",
    "stop_kind",
]

PAGE = 10  # reminders on a page of `followups`, each with two buttons (platforms allow 25)
_RECENT = 50  # sent in the last week, still waiting for the member
_WHICH = 10  # reminders listed (each with a button) when a name fits several

# A reminder as typed (N4, or a contact's name), its number (N4 is 4), or its contact.
ReminderRef = str | int | Contact

_ID_LIKE = re.compile(r"#?\s*([a-z])?\s*\d+", re.IGNORECASE)  # N4, 4, #4, M3, X1

_ALL_KINDS = tuple(kind for kinds in k.FAMILIES.values() for kind in kinds)
# A reminder in one of these has nothing left to do: `done` changes nothing.
_CLOSED = (NudgeStatus.DONE, NudgeStatus.CANCELLED, NudgeStatus.EXPIRED, NudgeStatus.SKIPPED)


@dataclass(frozen=True)
class Several:
    """A contact with several reminders waiting: the first few (numbered), nothing changed."""

    person: Contact
    shown: tuple[Nudge, ...]
    total: int


@dataclass(frozen=True)
class Reminders:
    """One page of `followups`: sent and still waiting (latest first), then coming up.

    Empty (``pages`` 0) when the member has none. ``stopped`` names the kinds stopped.
    """

    recent: tuple[Nudge, ...]  # of this page
    pending: tuple[Nudge, ...]  # of this page
    page: int
    pages: int
    total: int  # on every page
    reminders_on: bool
    stopped: tuple[str, ...]

    @property
    def shown(self) -> tuple[Nudge, ...]:
        return (*self.recent, *self.pending)

    @property
    def rest(self) -> int:
        """How many come on the pages after this one."""
        return max(0, self.total - self.page * PAGE)


@dataclass(frozen=True)
class Snoozed:
    """A reminder moved to ``until`` (``last_useful``: as late as it is still of use;
    ``out_of_quiet``: moved out of the member's quiet hours). ``covered_by``: a thank-you
    reminder closed instead, as its last call comes first or that same day."""

    nudge: Nudge
    until: datetime
    last_useful: bool = False
    out_of_quiet: bool = False
    covered_by: Nudge | None = None


@dataclass(frozen=True)
class AlreadyClosed:
    """`done` on a reminder with nothing left to do: nothing changed."""

    nudge: Nudge

    @property
    def title(self) -> str:
        label = nudge_label(self.nudge)
        if self.nudge.status == NudgeStatus.EXPIRED:
            return f"{label} has passed"
        if self.nudge.status == NudgeStatus.SKIPPED:
            return f"{label} was not sent"
        return f"{label} was already done ({_closed_by(self.nudge)})"

    @property
    def text(self) -> str:
        if self.nudge.status == NudgeStatus.EXPIRED:
            return "Its moment passed, so it is closed. Nothing to change."
        if self.nudge.status == NudgeStatus.SKIPPED:
            return "Those reminders were off when it was due, so it is closed. Nothing to change."
        return "Nothing to change."


@dataclass(frozen=True)
class Done:
    """A reminder marked done, and what that did besides: the thank-you recorded to
    ``thanks_to``, the request ``closed`` (a move-on), another keep-in-touch to come."""

    nudge: Nudge
    thanks_to: Contact | None = None
    closed: OutreachRequest | None = None
    again_later: bool = False


@dataclass(frozen=True)
class Stopped:
    family: str  # a key of bot.nudges.kinds.FAMILIES


@dataclass(frozen=True)
class Landed:
    organization: str
    role: str | None
    helpers: tuple[str, ...]  # names of the people who helped


def _wanted_kinds(scope: Scope) -> tuple[str, ...]:
    """The kinds of reminder the member still gets (not stopped with `nudge stop`)."""
    stopped = set(scope.member.muted_kinds)
    if not scope.member.weekly_plan:
        stopped.add("weekly_plan")
    return tuple(kind for kind in _ALL_KINDS if k.family_of(kind) not in stopped)


def _expired(scope: Scope, nudge: Nudge) -> bool:
    return nudge.expires_at is not None and nudge.expires_at <= scope.now


async def _open_reminders(scope: Scope) -> tuple[list[Nudge], list[Nudge]]:
    """The reminders `followups` lists: those sent in the last week and still waiting for
    the member (latest first), and those still to come (soonest first). Stopped kinds
    won't be sent, and a reminder whose moment has passed expires quietly: neither is
    among them."""
    wanted = _wanted_kinds(scope)
    muted = len(wanted) < len(_ALL_KINDS)
    nudges = scope.uow.nudges
    pending = [
        n
        for n in await nudges.pending(scope.member.id, kinds=wanted if muted else ())
        if not _expired(scope, n)
    ]
    recent = [
        n
        for n in await nudges.recently_sent(
            scope.member.id, since=scope.now - timedelta(days=7), limit=_RECENT
        )
        if n.kind in wanted and not _expired(scope, n)
    ]
    return recent, pending


async def list_reminders(scope: Scope, *, page: int = 1) -> Reminders:
    """One page of the member's reminders (``PAGE`` a page); listed for the first time, a
    reminder gets its number, in the order they are listed."""
    member = scope.member
    recent, pending = await _open_reminders(scope)
    stopped = tuple(k.FAMILY_NAMES[f] for f in member.muted_kinds if f in k.FAMILY_NAMES)
    listed = [*recent, *pending]
    pages = (len(listed) + PAGE - 1) // PAGE
    if listed and page > pages:
        raise UserError(
            f"There {'is' if pages == 1 else 'are'} only {pages} "
            f"{'page' if pages == 1 else 'pages'} of reminders. See the first: /tiara followups",
            option="page",
        )
    shown = listed[(page - 1) * PAGE : page * PAGE]
    await scope.uow.nudges.number(shown)
    return Reminders(
        recent=tuple(n for n in shown if any(n is r for r in recent)),
        pending=tuple(n for n in shown if any(n is p for p in pending)),
        page=page,
        pages=pages,
        total=len(listed),
        reminders_on=member.nudges_on,
        stopped=stopped,
    )


async def _read(scope: Scope, typed: str) -> int | Contact:
    """What ``typed`` names: a reminder's id (N4), or a contact (a name, the start of
    one, or M3/R2's contact)."""
    id_like = _ID_LIKE.fullmatch(typed)
    if id_like and (id_like.group(1) or "n").casefold() not in ("m", "r"):
        return parse_nudge(typed)  # "X1" is "not a reminder id"
    try:
        return await find_contact(scope, typed)
    except UserError as err:
        raise UserError(f"{err.message} `/tiara followups` lists your reminders.") from None


async def _find(scope: Scope, ref: ReminderRef) -> Nudge | Several:
    """The reminder ``ref`` names: by its number, or the one reminder `followups` lists
    about a contact. When several are about them, the first few, numbered."""
    if isinstance(ref, str):
        ref = await _read(scope, ref)
    if isinstance(ref, int):
        nudge = await scope.uow.nudges.by_seq(scope.member.id, ref)
        if nudge is None:
            raise UserError(f"You have no reminder N{ref}. `/tiara followups` lists yours.")
        return nudge
    recent, pending = await _open_reminders(scope)
    about = [n for n in [*recent, *pending] if (s := subject(n)) is not None and s.id == ref.id]
    if not about:
        raise UserError(
            f"You have no reminders about {ref.name} waiting. "
            "`/tiara followups` lists your reminders."
        )
    if len(about) == 1:
        await scope.uow.nudges.number(about)  # its id is in the answer
        return about[0]
    shown = about[:_WHICH]
    await scope.uow.nudges.number(shown)
    return Several(ref, tuple(shown), len(about))


async def snooze(
    scope: Scope, *, ref: ReminderRef, until: datetime | None = None, days: int = 1
) -> Snoozed | Several:
    """Move a reminder to ``until`` (one already sent comes back then); by default, to the
    nudge time ``days`` after the later of now and when it is due. Never into quiet
    hours, nor past the moment it stops being useful."""
    found = await _find(scope, ref)
    if isinstance(found, Several):
        return found
    nudge = found
    if nudge.status in (*_CLOSED, NudgeStatus.FAILED):
        why = AlreadyClosed(nudge).title if nudge.status != NudgeStatus.FAILED else None
        raise UserError(
            f"{why or nudge_label(nudge) + ' could not be sent'}, so there is nothing to "
            "snooze. `/tiara followups` lists your reminders."
        )
    rhythm = scope.nudges.rhythm
    when = until or rhythm.next_day_at_nudge_time(max(scope.now, nudge.due_at), days)
    if when <= scope.now:
        raise UserError('Snooze to a time still to come, e.g. when="tomorrow 9am".')
    if when < nudge.due_at and nudge.status == NudgeStatus.PENDING:
        label = nudge_label(nudge)
        raise UserError(
            f"{label} is due {scope.when(nudge.due_at)}; a snooze moves it later, and "
            f"{scope.when(when)} is sooner. Nothing has changed. To be reminded later, give a "
            f"time after {scope.when(nudge.due_at)}. To have it sooner, you needn't wait for "
            f"it: act on it now, then /tiara done {label}",
            option="when",
        )
    due = rhythm.after_quiet(when)
    last_useful = False
    if nudge.expires_at is not None and due >= nudge.expires_at:
        latest = rhythm.before_quiet(nudge.expires_at - timedelta(hours=1))
        if latest <= scope.now:
            raise UserError(
                f"{nudge_label(nudge)} stops being useful at {scope.when(nudge.expires_at)}. "
                f"Act on it now, or mark it done: /tiara done {nudge_label(nudge)}"
            )
        due, last_useful = latest, True
    if nudge.kind == k.THANKS and nudge.meeting is not None:
        last_call = await scope.uow.nudges.by_key(
            scope.member.id, f"thanks_last:m{nudge.meeting.id}"
        )
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
            changed_by_member(nudge, scope.now)
            return Snoozed(nudge, last_call.due_at, covered_by=last_call)
    nudge.status = NudgeStatus.PENDING
    nudge.due_at = due
    nudge.snoozed_until = due
    changed_by_member(nudge, scope.now)
    return Snoozed(
        nudge, due, last_useful=last_useful, out_of_quiet=not last_useful and due != when
    )


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


async def done(scope: Scope, *, ref: ReminderRef) -> Done | AlreadyClosed | Several:
    """Mark a reminder done, and record what it asked for: a thank-you sent marks the
    meeting, a move-on closes the request, a follow-up or referral touches the contact."""
    found = await _find(scope, ref)
    if isinstance(found, Several):
        return found
    nudge = found
    if nudge.status in _CLOSED:
        return AlreadyClosed(nudge)
    planner = scope.nudges
    thanks_to: Contact | None = None
    closed: OutreachRequest | None = None
    meeting, request = nudge.meeting, nudge.request
    if nudge.kind in (k.THANKS, k.THANKS_LAST) and meeting is not None:
        if meeting.thanks_at is None:
            meeting.thanks_at = scope.now
            meeting.updated_at = scope.now
            thanks_to = meeting.contact
        await planner.thanks_recorded(meeting)
    elif nudge.kind == k.MOVE_ON and request is not None:
        if request.status == RequestStatus.PENDING:
            request.status = RequestStatus.CLOSED
            closed = request
        await planner.cancel(k.FAMILIES["follow_up"], request=request)
    elif nudge.kind in k.FAMILIES["follow_up"] and request is not None:
        await planner.touch(request.contact, scope.now)
    elif nudge.contact is not None and nudge.kind in (
        k.REFERRAL,
        k.TELL_REFERRER,
        k.KEEP_IN_TOUCH,
    ):
        await planner.touch(nudge.contact, scope.now)
    nudge.status = NudgeStatus.DONE
    changed_by_member(nudge, scope.now)
    again = nudge.kind == k.KEEP_IN_TOUCH and nudge.contact is not None
    return Done(nudge, thanks_to=thanks_to, closed=closed, again_later=again)


async def stop_kind(scope: Scope, *, family: str) -> Stopped:
    """Stop one family of reminders (a key of ``kinds.FAMILIES``); the others keep coming."""
    member = scope.member
    if family not in member.muted_kinds:
        member.muted_kinds = [*member.muted_kinds, family]
    if family == "weekly_plan":
        member.weekly_plan = False
    return Stopped(family)


async def landed(scope: Scope, *, organization: str, role: str | None = None) -> Landed:
    """Record a position landed (or a path chosen), and plan the reminder to thank the
    people who helped."""
    landing = Landing(
        workspace_id=scope.member.workspace_id,
        member_id=scope.member.id,
        organization=organization,
        role=role,
        landed_at=scope.now,
    )
    scope.uow.add(landing)
    await scope.uow.flush()
    helpers = await scope.uow.tracker.helpers_of(scope.member.id, scope.now)
    await scope.nudges.landed(landing.id)
    return Landed(organization, role, tuple(helpers))
