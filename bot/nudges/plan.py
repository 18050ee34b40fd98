"""Planning nudges: what members do creates, moves and cancels the rows the scheduler sends.

Every rule of the timing table lives here, as a method named after the event that
triggers it. Each nudge has a dedupe key naming its subject ("thanks:m12"), so planning
the same thing twice moves one row instead of adding another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.businessdays import add_business_days, next_business_day, workspace_calendar
from bot.nudges import kinds as k
from bot.nudges.book import (
    CHECK_BACK_AFTER,
    FOLLOW_UP_POLICIES,
    LOG_IT_AFTER,
    PREP_LATE,
    SEEDS_INTERVAL,
    THANKS_FIRST_AFTER,
    THANKS_LAST_BEFORE,
    THANKS_WINDOW,
    NudgeBook,
    Occurrence,
    add_months,
    plan_all,
    rhythm_of,
)
from bot.zones import effective_timezone
from storage.enums import NudgeStatus, RequestStatus
from storage.models import (
    Contact,
    Meeting,
    Nudge,
    OutreachRequest,
    Workspace,
    changed_by_member,
)
from storage.unit import UnitOfWork

__all__ = [
    "CHECK_BACK_AFTER",
    "FOLLOW_UP_POLICIES",
    "THANKS_FIRST_AFTER",
    "THANKS_LAST_BEFORE",
    "THANKS_WINDOW",
    "Occurrence",
    "Planner",
    "follow_up_keys",
    "plan_all",
    "replan_follow_ups",
    "replan_workspace",
    "rhythm_of",
]


_MIN_GAP = timedelta(hours=3)  # two thank-you nudges closer than this would nag


class Planner(NudgeBook):
    """Plans one member's nudges inside the current transaction: the timing rules."""

    async def replan(self) -> None:
        """Work out every pending nudge again (the member's timezone or rhythm changed)."""
        pending = await self.uow.nudges.pending(self.member.id)
        meetings = {n.meeting.id: n.meeting for n in pending if n.meeting is not None}
        requests = {n.request.id: n.request for n in pending if n.request is not None}
        for meeting in meetings.values():
            await self.meeting_changed(meeting)
        for request in requests.values():
            if request.status == RequestStatus.PENDING:  # its contact's keep-in-touch comes below
                await self.follow_ups(request)
        for nudge in pending:
            if nudge.kind == k.KEEP_IN_TOUCH and nudge.contact is not None:
                await self.keep_in_touch(nudge.contact)
            elif nudge.kind in (k.REFERRAL, k.LANDED):
                day = self.rhythm.local_date(nudge.due_at)
                nudge.due_at = self._soon(self.rhythm.at_nudge_time(day))
        await self.weekly_plan()

    # -- meetings ----------------------------------------------------------------------

    async def meeting_changed(self, meeting: Meeting) -> None:
        """Plan (or re-plan) everything about one meeting after it was logged or edited."""
        # The nudges looked up by key below, in one query (none when the meeting is new:
        # it has no reminders yet).
        keys = [f"thanks:m{meeting.id}", f"thanks_last:m{meeting.id}"]
        keys.append(f"tell_referrer:m{meeting.id}")
        upcoming = meeting.held_at > self.now
        if upcoming:
            keys.extend(self._day_keys(meeting))
        new = self.uow.is_new(meeting)
        await self.uow.nudges.preload_about(meeting, self.member.id, keys)
        if upcoming:
            await self._upcoming(meeting, new=new)
        else:
            if not new:
                # Its moment has passed: a prep checklist already sent expires quietly.
                await self.resolve((k.PREP,), meeting=meeting, sent_becomes=NudgeStatus.EXPIRED)
                await self.resolve((k.LOG_IT,), meeting=meeting)
            await self.touch(meeting.contact, meeting.held_at, met=True)
            await self._tell_referrer(meeting)
        await self._thanks(meeting)

    async def _upcoming(self, meeting: Meeting, *, new: bool) -> None:
        rhythm = self.rhythm
        held = meeting.held_at
        # Not met (yet)? Then no keep-in-touch. A meeting is set up: the member reached
        # out, so a reminder to (a referral, an "ask me later") is done.
        await self.keep_in_touch(meeting.contact, also_cancel=(k.REFERRAL, k.CHECK_BACK), done=True)
        prep_key, log_key = self._day_keys(meeting)
        if not new:
            await self.cancel((k.PREP, k.LOG_IT), meeting=meeting, keep=(prep_key, log_key))
        day_before = rhythm.at_nudge_time(rhythm.local_date(held) - timedelta(days=1))
        prep = day_before if day_before > self.now else held - PREP_LATE
        if rhythm.is_quiet(prep):
            # A nudge time inside quiet hours: the end of them, if still well before the
            # meeting; otherwise the evening before.
            later = rhythm.after_quiet(prep)
            prep = later if later <= held - PREP_LATE else rhythm.before_quiet(prep)
        if prep > self.now:
            await self.schedule(k.PREP, prep_key, prep, meeting=meeting, expires=held)
        else:
            await self.cancel_keys(prep_key)
        log_it = rhythm.after_quiet(held + LOG_IT_AFTER)
        await self.schedule(
            k.LOG_IT,
            log_key,
            log_it,
            meeting=meeting,
            expires=log_it + k.STALE_AFTER[k.LOG_IT],
        )
        await self.cancel_keys(f"tell_referrer:m{meeting.id}")

    def _day_keys(self, meeting: Meeting) -> tuple[str, str]:
        """The prep and how-did-it-go keys of an upcoming meeting. They carry its date: a
        meeting moved to another day gets its prep again."""
        day = self.rhythm.local_date(meeting.held_at).isoformat()
        return f"prep:m{meeting.id}:{day}", f"log_it:m{meeting.id}:{day}"

    async def _thanks(self, meeting: Meeting) -> None:
        """Thank-you nudges: one a couple of hours after, a last call before the 24 hours."""
        first_key, last_key = f"thanks:m{meeting.id}", f"thanks_last:m{meeting.id}"
        # Both are looked up below: in one query.
        await self.uow.nudges.preload({(self.member.id, first_key), (self.member.id, last_key)})
        if meeting.thanks_at is not None:
            await self.cancel_keys(first_key, last_key)
            return
        rhythm = self.rhythm
        held = meeting.held_at
        deadline = held + THANKS_WINDOW
        last = held + THANKS_WINDOW - THANKS_LAST_BEFORE
        if rhythm.is_quiet(last):
            after = rhythm.after_quiet(last)
            last = after if after < deadline - timedelta(hours=1) else rhythm.before_quiet(last)
        first: datetime | None = rhythm.after_quiet(held + THANKS_FIRST_AFTER)
        upcoming = held > self.now
        if upcoming or first is None or first <= self.now or last - first < _MIN_GAP:
            # For an upcoming meeting the how-did-it-go check-in asks first; for a meeting
            # logged late the reply to `log` already said it.
            first = None
        if first is not None:
            await self.schedule(k.THANKS, first_key, first, meeting=meeting, expires=deadline)
        else:
            await self.cancel_keys(first_key)
        if last > self.now:
            await self.schedule(k.THANKS_LAST, last_key, last, meeting=meeting, expires=deadline)
        else:
            await self.cancel_keys(last_key)

    async def thanks_recorded(self, meeting: Meeting) -> None:
        await self.resolve((k.THANKS, k.THANKS_LAST), meeting=meeting)
        held = meeting.held_at <= self.now  # then they have met, this very meeting says
        await self.touch(meeting.contact, meeting.thanks_at or self.now, met=held or None)

    async def meeting_logged_after_the_fact(self, meeting: Meeting) -> None:
        """Notes arrived for a meeting: no need to ask how it went, and the prep is over."""
        await self.resolve((k.LOG_IT,), meeting=meeting)
        if meeting.held_at <= self.now:
            await self.resolve((k.PREP,), meeting=meeting, sent_becomes=NudgeStatus.EXPIRED)

    async def meeting_happened(self, meeting: Meeting) -> None:
        """An upcoming meeting's time has come (the how-did-it-go check-in is going out)."""
        # A prep checklist already sent has had its moment. One still pending is in this
        # very tick's claim, which expires it itself.
        await self._close(
            (k.PREP,), (NudgeStatus.SENT,), meeting, None, None, (), NudgeStatus.EXPIRED
        )
        await self.touch(meeting.contact, meeting.held_at)
        await self._tell_referrer(meeting)

    async def _tell_referrer(self, meeting: Meeting) -> None:
        referrer_id = meeting.contact.referred_by_id
        if referrer_id is None:
            return
        referrer = await self.uow.tracker.contact_by_id(self.member.id, referrer_id)
        if referrer is None:
            return
        due = self.rhythm.next_day_at_nudge_time(max(meeting.held_at, self.now))
        await self.schedule(
            k.TELL_REFERRER,
            f"tell_referrer:m{meeting.id}",
            self.rhythm.after_quiet(due),
            meeting=meeting,
            contact=referrer,
        )

    # -- referrals -----------------------------------------------------------------------

    async def referral_received(self, referral: Contact, source: Meeting | None = None) -> None:
        """Reach out to a new referral: the next morning. ``source``, the meeting where
        someone suggested them, lets the reminder name who did."""
        due = self.rhythm.after_quiet(self.rhythm.next_day_at_nudge_time(self.now))
        await self.schedule(
            k.REFERRAL, f"referral:c{referral.id}", due, contact=referral, meeting=source
        )

    # -- requests ------------------------------------------------------------------------

    async def request_sent(self, request: OutreachRequest) -> None:
        """Follow-ups for a request without a reply, by the workspace's policy. Writing to
        someone else at an organization is what "try a second person" asked for."""
        await self.follow_ups(request)
        await self.touch(request.contact, request.sent_at)
        org = (request.contact.organization or "").strip().casefold()
        if not org:
            return
        waiting = [
            *await self.uow.nudges.pending(self.member.id, kinds=(k.SECOND_CONTACT,)),
            *(
                n
                for n in await self.uow.nudges.recently_sent(
                    self.member.id, since=self.now - timedelta(days=30), limit=50
                )
                if n.kind == k.SECOND_CONTACT
            ),
        ]
        for nudge in waiting:
            other = nudge.request
            if (
                other is not None
                and other.id != request.id
                and other.contact.id != request.contact.id
                and (other.contact.organization or "").strip().casefold() == org
            ):
                nudge.status = (
                    NudgeStatus.CANCELLED
                    if nudge.status == NudgeStatus.PENDING
                    else NudgeStatus.DONE
                )
                changed_by_member(nudge, self.now)

    async def check_back(self, request: OutreachRequest, when: datetime) -> Nudge | None:
        """They said "ask me later": remind the member to write again at ``when``."""
        due = self.rhythm.after_quiet(when)
        day = self.rhythm.local_date(due).isoformat()
        await self.cancel((k.CHECK_BACK,), request=request)
        return await self.schedule(
            k.CHECK_BACK,
            f"check_back:r{request.id}:{day}",
            due,
            request=request,
            contact=request.contact,
        )

    async def follow_ups(self, request: OutreachRequest) -> None:
        """Plan the request's follow-ups under the workspace's policy and holidays, and
        cancel the steps of the other policy (the workspace switched) and those past."""
        keys = follow_up_keys(request)
        # One query at most; none when a whole workspace's were looked up together.
        await self.uow.nudges.preload_about(request, self.member.id, keys)
        planned = self._follow_up_times(request)
        for key in keys:
            step = planned.get(key)
            if step is None:
                await self.cancel_keys(key)
            else:
                await self.schedule(step[0], key, step[1], request=request)

    def _follow_up_times(self, request: OutreachRequest) -> dict[str, tuple[str, datetime]]:
        """The follow-ups to plan, by key: their kind and due time."""
        rhythm = self.rhythm
        sent_day = rhythm.local_date(request.sent_at)
        plan: list[tuple[str, str, date]]
        days_off = workspace_calendar(self.member.workspace)
        if self.member.workspace.followup_policy == "3b7":
            plan = [
                (k.SECOND_CONTACT, "second", add_business_days(sent_day, 3, days_off)),
                (k.FOLLOW_UP, "follow_up", add_business_days(sent_day, 7, days_off)),
            ]
        else:  # about two weeks apart, each moved off a weekend or holiday
            plan = [
                (kind, name, next_business_day(sent_day + timedelta(days=weeks), days_off))
                for kind, name, weeks in (
                    (k.FOLLOW_UP, "follow_up", SEEDS_INTERVAL),
                    (k.FOLLOW_UP_LAST, "follow_up_last", 2 * SEEDS_INTERVAL),
                    (k.MOVE_ON, "move_on", 3 * SEEDS_INTERVAL),
                )
            ]
        timed = [(kind, name, rhythm.at_nudge_time(day)) for kind, name, day in plan]
        # A request logged late: of the steps already past, only the latest still matters,
        # and it comes at the member's next nudge time, not the moment they save it.
        past = [step for step in timed if step[2] <= self.now]
        return {
            f"{name}:r{request.id}": (
                kind,
                self._soon(due) if due > self.now else self._next_nudge(),
            )
            for kind, name, due in timed
            if due > self.now or (kind, name, due) == past[-1]
        }

    async def request_answered(self, request: OutreachRequest, *, met: bool | None = None) -> None:
        """A reply stops every follow-up timer of the request. ``met``: see keep_in_touch."""
        await self.resolve(k.FAMILIES["follow_up"], request=request)
        await self.touch(request.contact, request.replied_at or self.now, met=met)

    # -- keeping in touch ----------------------------------------------------------------

    async def touch(self, contact: Contact, when: datetime, *, met: bool | None = None) -> None:
        """Any interaction with ``contact``: remember it, close the reminders it answers
        (reach out to a referral, tell a referrer how it went, check back, keep in touch,
        sent or not), and restart keep-in-touch. ``met``: see keep_in_touch."""
        self.remember(contact, when)
        await self.keep_in_touch(
            contact,
            also_cancel=(k.REFERRAL, k.TELL_REFERRER, k.CHECK_BACK),
            met=met,
            done=True,
        )

    @staticmethod
    def remember(contact: Contact, when: datetime) -> None:
        """Record an interaction with ``contact`` at ``when``, unless a later one is known."""
        if contact.last_contact_at is None or when > contact.last_contact_at:
            contact.last_contact_at = when

    def _keep_key(self, contact: Contact) -> tuple[str | None, date | None]:
        """The keep-in-touch key and day after the contact's last interaction (if any)."""
        last = contact.last_contact_at
        if last is None:
            return None, None
        day = add_months(self.rhythm.local_date(last), self.member.keep_in_touch_months)
        return f"keep:c{contact.id}:{day.isoformat()}", day

    async def keep_in_touch(
        self,
        contact: Contact,
        *,
        also_cancel: Sequence[str] = (),
        met: bool | None = None,
        done: bool = False,
    ) -> None:
        """Every few months after the last interaction with someone the member has met.

        Pending nudges of ``also_cancel`` about the contact go in the same pass. ``met``:
        True when the caller knows they have met (a meeting held with them); None asks
        the database. ``done``: the member just interacted with them, so the ones already
        sent are done too.
        """
        key, day = self._keep_key(contact)
        if key is not None:
            if met is None:
                met = await self.uow.tracker.has_met(self.member.id, contact.id, self.now)
            if not met:
                key = day = None
        kinds = (k.KEEP_IN_TOUCH, *also_cancel)
        if done:
            await self.resolve(kinds, contact=contact, keep=(key,))
        else:
            await self.cancel(kinds, contact=contact, keep=(key,))
        if key is None or day is None:
            return
        due = self._soon(self.rhythm.at_nudge_time(day))
        await self.schedule(
            k.KEEP_IN_TOUCH,
            key,
            due,
            contact=contact,
            expires=due + k.STALE_AFTER[k.KEEP_IN_TOUCH],
        )

    # -- outcomes and the weekly plan ----------------------------------------------------

    async def landed(self, landing_id: int) -> None:
        due = self.rhythm.after_quiet(self.rhythm.next_day_at_nudge_time(self.now))
        await self.schedule(k.LANDED, f"landed:{landing_id}", due)


# The follow-up steps of every policy, as their keys name them ("second:r12").
_FOLLOW_UP_STEPS = ("second", "follow_up", "follow_up_last", "move_on")
_REPLAN_CHUNK = 1000  # requests whose follow-ups are looked up in one query


def follow_up_keys(request: OutreachRequest) -> list[str]:
    """The keys of every follow-up step a request can have, under any policy."""
    return [f"{step}:r{request.id}" for step in _FOLLOW_UP_STEPS]


async def replan_follow_ups(uow: UnitOfWork, ws: Workspace, default_tz: str, now: datetime) -> int:
    """Plan the follow-ups still to come of the workspace's requests again (its policy or
    holidays changed); return how many requests. Nothing else depends on those, so only
    these are looked at, a few queries per thousand requests. A request with no follow-up
    pending (all sent, done or stopped) is left alone: re-planning it would bring back a
    step that is already past."""
    requests = await uow.tracker.unanswered_requests_in(ws.id)
    members = {m.id: m for m in await uow.members.members_of(ws.id)}
    planners: dict[int, Planner] = {}
    replanned = 0
    for start in range(0, len(requests), _REPLAN_CHUNK):
        chunk = requests[start : start + _REPLAN_CHUNK]
        await uow.nudges.preload({(r.member_id, key) for r in chunk for key in follow_up_keys(r)})
        for request in chunk:
            steps = [await uow.nudges.by_key(request.member_id, k) for k in follow_up_keys(request)]
            if not any(step is not None and step.status == NudgeStatus.PENDING for step in steps):
                continue
            planner = planners.get(request.member_id)
            if planner is None:
                member = members[request.member_id]
                planner = Planner(uow, member, now, effective_timezone(member, default_tz))
                planners[request.member_id] = planner
            await planner.follow_ups(request)
            replanned += 1
    return replanned


async def replan_workspace(uow: UnitOfWork, ws: Workspace, default_tz: str, now: datetime) -> None:
    """Work out every member's pending reminders again under the workspace's new rules
    (its follow-up policy, holidays or timezone)."""
    for member in await uow.members.members_of(ws.id):
        await Planner(uow, member, now, effective_timezone(member, default_tz)).replan()
