"""A member's nudge book: the rows the scheduler sends, made, moved and closed by key.

:class:`NudgeBook` holds the primitives (schedule by dedupe key, cancel, resolve, what
recurs) and the weekly plan; :class:`bot.nudges.plan.Planner` adds the timing rules of
the domain on top, one method per event that triggers them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.nudges import kinds as k
from bot.nudges.rhythm import Rhythm
from storage.enums import NudgeStatus
from storage.models import Contact, Meeting, Member, Nudge, OutreachRequest, changed_by_member
from storage.nudges import NudgeFilter
from storage.unit import UnitOfWork

__all__ = [
    "CHECK_BACK_AFTER",
    "FOLLOW_UP_POLICIES",
    "THANKS_FIRST_AFTER",
    "THANKS_LAST_BEFORE",
    "THANKS_WINDOW",
    "NudgeBook",
    "Occurrence",
    "add_months",
    "plan_all",
    "rhythm_of",
]

THANKS_WINDOW = timedelta(hours=24)
THANKS_FIRST_AFTER = timedelta(hours=2)
THANKS_LAST_BEFORE = timedelta(hours=3)  # the last call comes 21 hours after the meeting
PREP_LATE = timedelta(hours=2)  # logged too late for the day before: two hours before
LOG_IT_AFTER = timedelta(hours=1)
SEEDS_INTERVAL = 14  # days between the request and each follow-up (seeds policy)
CHECK_BACK_AFTER = timedelta(days=14)  # "ask me later" with no day given
FOLLOW_UP_POLICIES = ("seeds", "3b7")


def rhythm_of(member: Member, tz: str) -> Rhythm:
    return Rhythm(tz, member.quiet_start, member.quiet_end, member.nudge_time)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Occurrence:
    """One nudge to plan, as Planner.schedule takes it."""

    kind: str
    key: str
    due: datetime
    expires: datetime | None = None
    contact: Contact | None = None
    practice_round_id: int | None = None


async def plan_all(uow: UnitOfWork, planned: Sequence[tuple[NudgeBook, Occurrence]]) -> None:
    """Plan many members' next occurrences with a few queries instead of three each."""
    await uow.nudges.preload({(planner.member.id, o.key) for planner, o in planned})
    for planner, occurrence in planned:
        await planner.plan(occurrence)


@dataclass
class NudgeBook:
    """One member's nudges inside the current transaction: the primitives."""

    uow: UnitOfWork
    member: Member
    now: datetime
    tz: str

    @property
    def rhythm(self) -> Rhythm:
        return rhythm_of(self.member, self.tz)

    async def schedule(
        self,
        kind: str,
        key: str,
        due: datetime,
        *,
        meeting: Meeting | None = None,
        request: OutreachRequest | None = None,
        contact: Contact | None = None,
        expires: datetime | None = None,
        practice_round_id: int | None = None,
    ) -> Nudge | None:
        """Create the nudge ``key`` due at ``due``, or move it if it is still to be sent.

        A nudge already sent or done is left as it is (never sent twice); a cancelled
        one comes back. Nothing is planned when it would only be due after it expires.
        """
        if expires is not None and due >= expires:
            await self.cancel_keys(key)
            return None
        nudge = await self.uow.nudges.by_key(self.member.id, key)
        if nudge is not None:
            if nudge.status in (NudgeStatus.PENDING, NudgeStatus.CANCELLED):
                snoozed = nudge.snoozed_until
                if nudge.status == NudgeStatus.PENDING and snoozed is not None and snoozed > due:
                    due = self.rhythm.after_quiet(snoozed)
                    if expires is not None and due >= expires:
                        due = nudge.due_at
                new_contact = contact.id if contact is not None else nudge.contact_id
                before = (nudge.status, nudge.due_at, nudge.expires_at, nudge.contact_id)
                if before != (NudgeStatus.PENDING, due, expires, new_contact):
                    nudge.status = NudgeStatus.PENDING
                    nudge.due_at = due
                    nudge.expires_at = expires
                    nudge.contact_id = new_contact
                    changed_by_member(nudge, self.now)
            return nudge
        nudge = Nudge(
            workspace_id=self.member.workspace_id,
            member_id=self.member.id,
            kind=kind,
            dedupe_key=key,
            meeting_id=meeting.id if meeting is not None else None,
            request_id=request.id if request is not None else None,
            contact_id=contact.id if contact is not None else None,
            practice_round_id=practice_round_id,
            due_at=due,
            expires_at=expires,
            status=NudgeStatus.PENDING,
            attempts=0,
            created_at=self.now,
            updated_at=self.now,
        )
        self.uow.nudges.add(nudge)
        return nudge

    async def plan(self, occurrence: Occurrence) -> Nudge | None:
        o = occurrence
        return await self.schedule(
            o.kind,
            o.key,
            o.due,
            contact=o.contact,
            expires=o.expires,
            practice_round_id=o.practice_round_id,
        )

    def next_occurrence(self, nudge: Nudge, *, missed: bool) -> Occurrence | None:
        """The next of a recurring nudge (weekly plan, keep in touch), planned as this one
        goes out or, ``missed``, is dropped."""
        if nudge.kind == k.WEEKLY_PLAN and self.member.weekly_plan:
            return self.next_weekly_plan(max(nudge.due_at, self.now) if missed else nudge.due_at)
        if nudge.kind != k.KEEP_IN_TOUCH or nudge.contact is None:
            return None
        rhythm = self.rhythm
        # Count from the planned day (in the key), not from a snoozed or deferred send.
        try:
            start = date.fromisoformat(nudge.dedupe_key.rsplit(":", 1)[-1])
        except ValueError:
            start = rhythm.local_date(nudge.due_at)
        if missed:
            start = max(start, rhythm.local_date(self.now))
        day = add_months(start, self.member.keep_in_touch_months)
        due = rhythm.at_nudge_time(day)
        return Occurrence(
            k.KEEP_IN_TOUCH,
            f"keep:c{nudge.contact.id}:{day.isoformat()}",
            due,
            expires=due + k.STALE_AFTER[k.KEEP_IN_TOUCH],
            contact=nudge.contact,
        )

    async def cancel_keys(self, *keys: str) -> None:
        await self.uow.nudges.cancel_keys(self.member.id, keys, self.now)

    async def cancel(
        self,
        kinds: Sequence[str],
        *,
        meeting: Meeting | None = None,
        request: OutreachRequest | None = None,
        contact: Contact | None = None,
        keep: Collection[str | None] = (),
    ) -> None:
        """Cancel the pending nudges of ``kinds`` about one meeting, request or contact.

        Nudges whose key is in ``keep`` (the ones about to be re-planned) are left alone.
        """
        await self._close(
            kinds, (NudgeStatus.PENDING,), meeting, request, contact, keep, NudgeStatus.DONE
        )

    async def resolve(
        self,
        kinds: Sequence[str],
        *,
        meeting: Meeting | None = None,
        request: OutreachRequest | None = None,
        contact: Contact | None = None,
        keep: Collection[str | None] = (),
        sent_becomes: NudgeStatus = NudgeStatus.DONE,
    ) -> None:
        """The member did what ``kinds`` remind of: cancel what's pending, close what's sent
        (``sent_becomes``: "done", or "expired" when its moment passed)."""
        await self._close(
            kinds,
            (NudgeStatus.PENDING, NudgeStatus.SENT),
            meeting,
            request,
            contact,
            keep,
            sent_becomes,
        )

    async def _close(
        self,
        kinds: Sequence[str],
        statuses: Sequence[str],
        meeting: Meeting | None,
        request: OutreachRequest | None,
        contact: Contact | None,
        keep: Collection[str | None],
        sent_becomes: NudgeStatus,
    ) -> None:
        """Cancel or close the nudges; look up the ``keep`` ones at the same time."""
        which = NudgeFilter(
            statuses=statuses,
            kinds=kinds,
            meeting_id=meeting.id if meeting is not None else None,
            request_id=request.id if request is not None else None,
            contact_id=contact.id if contact is not None else None,
        )
        if any(self.uow.is_new(row) for row in (meeting, request, contact) if row is not None):
            # About something added in this transaction: all its nudges are in memory.
            self.uow.nudges.keys_of_new_rows(self.member.id, keep)
            found = self.uow.nudges.added(self.member.id, which)
        else:
            found = await self.uow.nudges.to_close(self.member.id, which, load_keys=keep)
        for nudge in found:
            if nudge.dedupe_key in keep:
                continue
            nudge.status = (
                NudgeStatus.CANCELLED if nudge.status == NudgeStatus.PENDING else sent_becomes
            )
            changed_by_member(nudge, self.now)

    def _soon(self, due: datetime) -> datetime:
        """A due time that has passed becomes "now", out of the quiet hours."""
        return self.rhythm.after_quiet(max(due, self.now))

    def _next_nudge(self) -> datetime:
        """The member's next nudge time: today's if it is now or still ahead, else tomorrow's."""
        today = self.rhythm.at_nudge_time(self.rhythm.local_date(self.now))
        return self._soon(
            today if today >= self.now else self.rhythm.next_day_at_nudge_time(self.now)
        )

    async def weekly_plan(self, after: datetime | None = None) -> None:
        """The next Monday's plan, at nudge time (for members who asked for it)."""
        if not self.member.weekly_plan:
            await self.uow.nudges.cancel_pending(
                self.member.id, kinds=(k.WEEKLY_PLAN,), now=self.now
            )
            return
        await self.plan(self.next_weekly_plan(after or self.now))

    def next_weekly_plan(self, after: datetime) -> Occurrence:
        """The first Monday at nudge time after ``after``."""
        rhythm = self.rhythm
        day = rhythm.local_date(after)
        monday = day + timedelta(days=(7 - day.weekday()) % 7)
        due = rhythm.at_nudge_time(monday)
        if due <= after:
            monday += timedelta(days=7)
            due = rhythm.at_nudge_time(monday)
        return Occurrence(
            k.WEEKLY_PLAN,
            f"weekly:{monday.isoformat()}",
            rhythm.after_quiet(due),
            expires=due + k.STALE_AFTER[k.WEEKLY_PLAN],
        )
