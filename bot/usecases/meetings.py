"""Meetings: logging one (had, or coming up), the thank-you after it, and the list of
upcoming and recent ones with the requests still waiting."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.items import ItemRef
from bot.usecases import Scope
from bot.usecases.contacts import NameToCheck, name_to_check
from bot.usecases.lookup import THANKS_WINDOW, find_item, label, upsert_contact
from bot.values import UserError
from storage.enums import RequestOutcome, RequestStatus
from storage.models import Contact, Meeting, OutreachRequest
from storage.tracker import name_key

__all__ = [
    "LISTED_MEETINGS",
    "LISTED_REQUESTS",
    "MeetingRecorded",
    "MeetingsView",
    "SameMeeting",
    "ThanksAlready",
    "ThanksRecorded",
    "list_meetings",
    "record_meeting",
    "record_thanks",
]

# Two meetings with one contact this close together are likely the same one, logged twice.
SAME_TIME = timedelta(minutes=30)
# A meeting with them the same day, or one not filled in yet this close, likely is the one
# being logged (logged ahead as upcoming, and now they say how it went).
NOT_FILLED_IN = timedelta(hours=12)
# A meeting planned up to this long after one being logged may be it, come early.
MOVED_EARLIER = timedelta(days=14)

# The reminder families a logged meeting's answer speaks of.
_FAMILIES = ("prep", "log_it", "thanks")


@dataclass(frozen=True)
class MeetingRecorded:
    meeting: Meeting
    contact: Contact
    held_at: datetime
    upcoming: bool  # held after now
    filled_in: bool  # a meeting logged ahead, now completed (id=)
    answered: tuple[OutreachRequest, ...]  # requests to them, now marked replied
    new_referrals: tuple[str, ...]  # the referrals' names, as saved
    followups: bool  # follow-ups were promised
    reminds: frozenset[str]  # of prep, log_it and thanks: the families the member gets


@dataclass(frozen=True)
class SameMeeting:
    """Nothing is saved: the member likely has this meeting already (``exact``: at about
    that time), or has it planned later and it came earlier (``moved_to``: the time
    logged now)."""

    contact: Contact
    meeting: Meeting
    exact: bool
    moved_to: datetime | None = None


async def record_meeting(
    scope: Scope,
    *,
    contact: str,
    when: datetime | None = None,
    org: str | None = None,
    role: str | None = None,
    venue: str | None = None,
    notes: str | None = None,
    followups: str | None = None,
    referrals: Sequence[str] = (),
    fill_in: ItemRef | str | None = None,
    confirm: bool = False,
    new: Collection[str] = (),
    command: str = "log",
) -> MeetingRecorded | NameToCheck | SameMeeting:
    """Log a meeting with ``contact`` at ``when`` (default now; later: upcoming), or
    complete the one logged ahead that ``fill_in`` names. Each referral becomes a contact
    referred by them; requests to them waiting are marked replied (scheduled).

    Unless ``confirm``, a name close to a contact's (not answered as ``new``) or a meeting
    with them at about that time is asked about first.
    """
    uow, member, now = scope.uow, scope.member, scope.now
    if fill_in is None:
        unclear = await name_to_check(scope, "contact", contact, new=new)
        if unclear is not None:
            return unclear
        same = None if confirm else await _same_meeting(scope, contact, when or now)
        if same is not None:
            return same
    unclear = await name_to_check(scope, "referrals", referrals, new=new)
    if unclear is not None:
        return unclear
    new_contact = False
    if fill_in is not None:
        meeting = await _fill_in(
            scope,
            fill_in,
            contact=contact,
            when=when,
            venue=venue,
            notes=notes,
            followups=followups,
            org=org,
            role=role,
            command=command,
        )
        person = meeting.contact
        held_at = meeting.held_at
    else:
        held_at = when if when is not None else now
        person, new_contact = await upsert_contact(
            scope, contact, org=org, role=role, met_at=held_at if held_at <= now else None
        )
        meeting = Meeting(
            workspace_id=member.workspace_id,
            member_id=member.id,
            seq=await uow.members.allocate_seq(member, "M"),
            contact=person,
            held_at=held_at,
            venue=venue,
            notes=notes,
            followups=followups,
            created_at=now,
            updated_at=now,
        )
        uow.add(meeting)
    new_referrals: list[str] = []
    if referrals:
        await uow.flush()  # the meeting's id, so each referral reminder names its source
    for name in referrals:
        if name.casefold() == person.name.casefold():
            raise UserError(f"{person.name} can't be their own referral; check referrals=.")
        referral, created = await upsert_contact(scope, name, referred_by=person)
        new_referrals.append(referral.name)
        if created:
            await scope.nudges.referral_received(referral, meeting)
    # Someone just added to the contacts has no requests waiting for a reply.
    pending = [] if new_contact else await uow.tracker.pending_requests_to(member.id, person.id)
    for req in pending:
        req.status, req.outcome = RequestStatus.REPLIED, RequestOutcome.SCHEDULED
        req.replied_at = now
        # The meeting being logged, if it is over, says they have met.
        await scope.nudges.request_answered(req, met=True if held_at <= now else None)
    await uow.flush()
    await scope.nudges.meeting_changed(meeting)
    reminds = frozenset(
        family
        for family in _FAMILIES
        if member.nudges_on and family not in member.muted_kinds  # not stopped, nudges on
    )
    return MeetingRecorded(
        meeting,
        person,
        held_at,
        held_at > now,
        fill_in is not None,
        tuple(pending),
        tuple(new_referrals),
        bool(followups),
        reminds,
    )


async def _same_meeting(scope: Scope, contact: str, held_at: datetime) -> SameMeeting | None:
    """A meeting with a known contact the member likely has already: one with them at
    about that time, the same day, or logged ahead and not filled in yet within 12 hours;
    else one planned later that came earlier."""
    known = await scope.uow.tracker.contact_by_name(scope.member.id, contact)
    if known is None:
        return None
    zone = ZoneInfo(scope.tz)
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
        return held_at <= scope.now < m.held_at <= held_at + MOVED_EARLIER and not filled_in(m)

    meetings = await scope.uow.tracker.meetings_with(scope.member.id, known.id)
    candidates = [m for m in meetings if likely(m)]
    if not candidates:
        planned = [m for m in meetings if moved_earlier(m)]
        if not planned:
            return None
        first = min(planned, key=lambda m: m.held_at)
        return SameMeeting(known, first, exact=False, moved_to=held_at)
    same = min(candidates, key=lambda m: abs(m.held_at - held_at))
    return SameMeeting(known, same, exact=abs(same.held_at - held_at) <= SAME_TIME)


def _appended(old: str | None, new: str | None) -> str | None:
    if not new:
        return old
    if not old:
        return new
    return old if new.strip() in old else f"{old}\n\n{new}"


async def _fill_in(
    scope: Scope,
    ref: ItemRef | str,
    *,
    contact: str,
    when: datetime | None,
    venue: str | None,
    notes: str | None,
    followups: str | None,
    org: str | None,
    role: str | None,
    command: str,
) -> Meeting:
    """Complete a meeting logged ahead of time (the "Log how it went" button)."""
    item = await find_item(scope, ref, want=Meeting, command=command)
    if not isinstance(item, Meeting):
        raise UserError(f"{label(item)} is a request; log the meeting itself with contact=.")
    if name_key(contact) != item.contact.name_key:
        raise UserError(
            f"{label(item)} is your meeting with {item.contact.name}, not {contact}. "
            f'To log a different conversation: /tiara log contact="{contact}"'
        )
    if when is not None:
        item.held_at = when
    elif item.held_at > scope.now:
        item.held_at = scope.now  # they are telling us how it went: it has happened
    if venue is not None:
        item.venue = venue
    item.notes = _appended(item.notes, notes)
    item.followups = _appended(item.followups, followups)
    if org is not None:
        item.contact.organization = org
    if role is not None:
        item.contact.title = role
    item.updated_at = scope.now
    if notes or followups:
        await scope.nudges.meeting_logged_after_the_fact(item)
    return item


LISTED_MEETINGS = 10  # upcoming, and recent
LISTED_REQUESTS = 15


@dataclass(frozen=True)
class MeetingsView:
    """A member's upcoming meetings, recent ones and requests waiting for a reply (the
    first of each, soonest or latest first) with how many there are, as of ``now``."""

    upcoming: tuple[Meeting, ...]
    recent: tuple[Meeting, ...]
    waiting: tuple[OutreachRequest, ...]
    upcoming_total: int
    recent_total: int
    waiting_total: int
    now: datetime
    tz: str

    @property
    def empty(self) -> bool:
        return not (self.upcoming or self.recent or self.waiting)


async def list_meetings(scope: Scope) -> MeetingsView:
    """What ``/tiara meetings`` lists (and the dashboard shows)."""
    tracker, mid, now = scope.uow.tracker, scope.member.id, scope.now
    upcoming = await tracker.upcoming_meetings(mid, now, limit=LISTED_MEETINGS)
    recent = await tracker.recent_meetings(mid, now, limit=LISTED_MEETINGS)
    waiting = await tracker.open_requests(mid, limit=LISTED_REQUESTS)
    # A list shorter than its page is complete: counted only when one may go on.
    n_upcoming, n_past, n_waiting = len(upcoming), len(recent), len(waiting)
    if LISTED_MEETINGS in (n_upcoming, n_past):
        n_upcoming, n_past = await tracker.count_meetings(mid, now)
    if n_waiting == LISTED_REQUESTS:
        n_waiting = await tracker.count_open_requests(mid)
    return MeetingsView(
        tuple(upcoming),
        tuple(recent),
        tuple(waiting),
        n_upcoming,
        n_past,
        n_waiting,
        now,
        scope.tz,
    )


@dataclass(frozen=True)
class ThanksRecorded:
    meeting: Meeting
    sent_at: datetime
    before: datetime | None  # the time recorded before, now changed
    on_time: bool  # within 24 hours of the meeting


@dataclass(frozen=True)
class ThanksAlready:
    """Nothing changed: the thank-you was recorded ``at`` already."""

    meeting: Meeting
    at: datetime


async def record_thanks(
    scope: Scope,
    item: ItemRef | str,
    *,
    when: datetime | None = None,
    command: str = "thanks",
) -> ThanksRecorded | ThanksAlready:
    """Record the thank-you note for a meeting that has happened, sent ``when`` (default
    now; given again, it changes the time recorded)."""
    now = scope.now
    found = await find_item(
        scope,
        item,
        want=Meeting,
        prefer=lambda m: isinstance(m, Meeting) and m.held_at <= now and m.thanks_at is None,
        command=command,
    )
    if not isinstance(found, Meeting):
        raise UserError(f"{label(found)} is a request; thank-you notes go with meetings (M...).")
    if found.held_at > now:
        raise UserError(
            f"{label(found)} with {found.contact.name} hasn't happened yet "
            f"({scope.when(found.held_at)}). Record the thank-you after the meeting."
        )
    sent = when if when is not None else now
    if sent < found.held_at:
        raise UserError(
            f"when= is before the meeting itself ({scope.when(found.held_at)}); check the date."
        )
    before = found.thanks_at
    if before is not None and (when is None or sent == before):
        return ThanksAlready(found, before)
    found.thanks_at = sent
    found.updated_at = now
    await scope.nudges.thanks_recorded(found)
    return ThanksRecorded(found, sent, before, sent - found.held_at <= THANKS_WINDOW)
