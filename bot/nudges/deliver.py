"""Delivering due nudges: claim with a lease, send through the Notifier, settle.

A tick repeats three steps until nothing is due:

1. In one transaction, claim a batch of due rows (a lease and a token per row), drop the
   ones that went stale, hold back the ones that would land in the member's quiet hours,
   and write each member's message.
2. Outside any transaction, send one message per member, ``concurrency`` at a time.
3. As each send ends, record it (in small groups, one transaction each): what was sent
   is marked sent; what failed is retried with backoff, or given up when the failure is
   permanent (the member is then marked unreachable).

A send waits while ``concurrency`` outcomes are unrecorded, so a worker that dies, or
loses its database connection, can leave at most that many sent but unrecorded. Its
rows stay leased; when the lease runs out, another worker claims them again, and only
those few members can get the message twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from bot.clock import Clock
from bot.counts import Counts
from bot.notify import DeliveryError, Notifier
from bot.nudges import kinds as k
from bot.nudges.plan import Occurrence, Planner, plan_all
from bot.nudges.render import Extras, PracticeView, compose, describe
from bot.practice.names import display_name
from bot.values import Message, UserRef
from bot.zones import effective_timezone
from storage.enums import NudgeStatus
from storage.models import Member, Nudge
from storage.store import Sleep, Store
from storage.unit import UnitOfWork

__all__ = ["BACKOFF", "NudgeSender", "TickReport"]

log = logging.getLogger(__name__)

# Waits before each retry of a transient failure; after the last, the nudge is failed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)


@dataclass
class TickReport(Counts):
    """What one tick did, in nudges (``messages`` counts DMs)."""

    claimed: int = 0
    sent: int = 0
    messages: int = 0
    deferred: int = 0
    expired: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0
    lost_lease: int = 0  # sent too late: another worker had taken them over
    changed: int = 0  # the member changed them while they were being sent
    released: int = 0  # not sent because the process is stopping: free for another


_LEASE_OVER = DeliveryError("lease_over")
_STOPPING = DeliveryError("stopping")


@dataclass
class _Outgoing:
    member_id: int
    user: UserRef
    message: Message
    nudges: list[tuple[int, int]]  # (id, attempts so far)


@dataclass
class _Batch:
    outgoing: list[_Outgoing] = field(default_factory=list)
    report: TickReport = field(default_factory=TickReport)


class NudgeSender:
    """Sends due nudges. Safe to run in several processes against one PostgreSQL."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        default_timezone: str,
        batch_size: int = 1000,
        max_batches: int = 50,
        lease: timedelta = timedelta(minutes=5),
        platforms: frozenset[str] | None = None,
        concurrency: int = 16,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``concurrency``: messages sent but not yet recorded, at most; after a crash or
        a lost database connection, at most this many members can get a message twice.
        ``sleep`` waits between attempts to record after a lost connection."""
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.default_timezone = default_timezone
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.lease = lease
        self.concurrency = concurrency
        self.sleep = sleep
        # Claim only reminders of workspaces on these platforms (None: all).
        self.platforms = platforms
        self._stopping = False

    def stop_soon(self) -> None:
        """The process is stopping: sends under way finish and are recorded, nothing new
        is sent or claimed, and claimed nudges not yet sent are released at once (not
        left until their lease runs out)."""
        self._stopping = True

    async def tick(self) -> TickReport:
        """Send everything that is due now (up to ``max_batches`` batches)."""
        total = TickReport()
        try:
            for _ in range(self.max_batches):
                if self._stopping:
                    break
                # Each batch reads the clock afresh: its lease must run from its own claim,
                # or a long tick would hand out leases that have already run out.
                now = self.clock.now()
                token = uuid.uuid4().hex
                batch = await self._claim(now, token)
                if batch is None:
                    break
                try:
                    await self._send_and_record(batch, token, lease_ends=now + self.lease)
                finally:
                    total.add(batch.report)
        finally:
            # Logged even when a later batch fails: earlier batches were sent and recorded.
            if total.claimed:
                level = logging.WARNING if total.failed or total.lost_lease else logging.DEBUG
                log.log(level, "tick: %s", total)
        return total

    # -- 1. claim ------------------------------------------------------------------------

    async def _claim(self, now: datetime, token: str) -> _Batch | None:
        async with self.store.unit() as uow:
            ids = await uow.nudges.claim_due(
                now=now,
                lease_until=now + self.lease,
                token=token,
                limit=self.batch_size,
                platforms=self.platforms,
            )
            if not ids:
                return None
            batch = _Batch()
            batch.report.claimed = len(ids)
            by_member: dict[int, list[Nudge]] = defaultdict(list)
            for nudge in await uow.nudges.with_subjects(ids):
                by_member[nudge.member_id].append(nudge)
            expired: list[int] = []
            skipped: list[int] = []
            deferred: dict[datetime, list[int]] = defaultdict(list)
            recurring: list[tuple[Planner, Occurrence]] = []  # planned together at the end

            async def plan_next(planner: Planner, nudge: Nudge, *, missed: bool) -> None:
                """Recurring nudges plan their next one as this one goes out (or is missed)."""
                occurrence = planner.next_occurrence(nudge, missed=missed)
                if occurrence is not None:
                    recurring.append((planner, occurrence))
                elif (
                    nudge.kind == k.LOG_IT
                    and nudge.meeting is not None
                    and nudge.meeting.held_at <= now
                ):
                    await planner.meeting_happened(nudge.meeting)

            going: list[tuple[Member, str, Planner, list[Nudge]]] = []
            for nudges in by_member.values():
                member = nudges[0].member
                tz = effective_timezone(member, self.default_timezone)
                planner = Planner(uow, member, now, tz)
                live = []
                for nudge in nudges:
                    if nudge.expires_at is not None and nudge.expires_at <= now:
                        expired.append(nudge.id)
                    elif not _wanted(member, nudge):
                        skipped.append(nudge.id)
                    else:
                        live.append(nudge)
                        continue
                    # A recurring reminder that won't go out still plans its next one.
                    await plan_next(planner, nudge, missed=True)
                live = _without_superseded(live, skipped)
                if not live:
                    continue
                if planner.rhythm.is_quiet(now):
                    deferred[planner.rhythm.after_quiet(now)].extend(n.id for n in live)
                    continue
                going.append((member, tz, planner, live))
            # What goes out gets its N ids now, the batch's in one go (in the order the
            # messages list them): a reminder never sent nor listed takes no number.
            await uow.nudges.number([n for *_, live in going for n in live], locked=True)
            for member, tz, planner, live in going:
                sections = []
                for nudge in live:
                    extras = await _extras(uow, member, nudge, now)
                    sections.append(describe(nudge, tz=tz, now=now, extras=extras))
                    await plan_next(planner, nudge, missed=False)
                ws = member.workspace
                batch.outgoing.append(
                    _Outgoing(
                        member_id=member.id,
                        user=UserRef(ws.platform, ws.external_id, member.user_id),
                        message=compose(live, sections),
                        nudges=[(n.id, n.attempts) for n in live],
                    )
                )
            await plan_all(uow, recurring)
            await uow.nudges.settle_claimed(
                expired, token=token, now=now, status=NudgeStatus.EXPIRED
            )
            await uow.nudges.settle_claimed(
                skipped, token=token, now=now, status=NudgeStatus.SKIPPED
            )
            for due, group in deferred.items():
                await uow.nudges.settle_claimed(group, token=token, now=now, due_at=due)
            batch.report.expired = len(expired)
            batch.report.skipped = len(skipped)
            batch.report.deferred = sum(len(g) for g in deferred.values())
            return batch

    # -- 2. send, and 3. record as it goes ------------------------------------------------

    async def _send_and_record(self, batch: _Batch, token: str, *, lease_ends: datetime) -> None:
        """Send the batch's messages and record each outcome right after it happens.

        At most ``concurrency`` messages are ever sent but not yet recorded: a send waits
        for a slot, and a slot comes free only once its outcome is committed. So whatever
        happens to this process or its database connection, at most that many members
        can get a message again when the rows are claimed anew after their lease.

        Outcomes are committed in groups: whatever finished while the previous group was
        being written (a few milliseconds' worth). A lost connection is retried with
        backoff (``Store.write_retrying``) while new sends wait; if the database stays
        away, nothing more is sent, and the error ends the tick.
        """
        slots = asyncio.Semaphore(self.concurrency)
        outcomes: asyncio.Queue[tuple[_Outgoing, DeliveryError | None] | None] = asyncio.Queue()
        broken: list[BaseException] = []  # the recording gave up (holds its error)

        async def one(item: _Outgoing) -> None:
            await slots.acquire()
            if broken:
                slots.release()  # nothing can be recorded: leave the rest claimed, unsent
                return
            error: DeliveryError | None
            if self._stopping:
                error = _STOPPING
            elif self.clock.now() >= lease_ends:
                # Too slow: another worker may own these rows by now. Leave them be.
                error = _LEASE_OVER
            else:
                try:
                    await self.notifier.send_dm(item.user, item.message)
                except DeliveryError as err:
                    error = err
                except Exception as err:  # an adapter bug or a network error: try again later
                    log.warning("sending a nudge failed with %s", type(err).__name__)
                    error = DeliveryError(type(err).__name__)
                else:
                    error = None
            outcomes.put_nowait((item, error))

        async def record() -> None:
            while True:
                first = await outcomes.get()
                if first is None:
                    return
                group = [first]
                finished = False
                while not outcomes.empty():
                    more = outcomes.get_nowait()
                    if more is None:
                        finished = True
                        break
                    group.append(more)
                now = self.clock.now()
                try:
                    delta = await self.store.write_retrying(
                        partial(self._record, group=group, now=now, token=token),
                        sleep=self.sleep,
                    )
                except Exception as err:
                    broken.append(err)
                    for _ in range(self.concurrency):
                        slots.release()  # wake the waiting sends: they stop
                    return
                batch.report.add(delta)
                for _ in group:
                    slots.release()
                if finished:
                    return

        recorder = asyncio.ensure_future(record())
        try:
            await asyncio.gather(*(one(item) for item in batch.outgoing))
        finally:
            outcomes.put_nowait(None)
            await recorder
        if broken:
            raise broken[0]

    async def _record(
        self,
        uow: UnitOfWork,
        group: Sequence[tuple[_Outgoing, DeliveryError | None]],
        now: datetime,
        token: str,
    ) -> TickReport:
        """Write a group of send outcomes; returns what it recorded. Safe to repeat: only
        rows still claimed with ``token`` change, so a retry after a lost commit is a no-op."""
        report = TickReport()
        sent: list[int] = []
        retry: dict[datetime, list[int]] = defaultdict(list)
        given_up: dict[str, list[int]] = defaultdict(list)
        unreachable: list[int] = []
        released: list[int] = []
        for item, error in group:
            ids = [nudge_id for nudge_id, _ in item.nudges]
            if error is _LEASE_OVER:
                report.lost_lease += len(ids)
            elif error is _STOPPING:
                released.extend(ids)
            elif error is None:
                sent.extend(ids)
                report.messages += 1
            elif error.permanent:
                given_up[error.reason].extend(ids)
                unreachable.append(item.member_id)
            else:
                for nudge_id, attempts in item.nudges:
                    if attempts < len(BACKOFF):
                        retry[now + BACKOFF[attempts]].append(nudge_id)
                    else:
                        given_up[error.reason].append(nudge_id)
        kept = await uow.nudges.settle_claimed(sent, token=token, now=now, status=NudgeStatus.SENT)
        report.sent = kept
        if kept < len(sent):
            taken = await uow.nudges.count_claimed_by_others(sent, token)
            report.lost_lease += taken
            report.changed += len(sent) - kept - taken
            if taken:
                log.warning(
                    "%d nudges were sent after their lease ran out; another worker may "
                    "have sent them too (raise TIARA_NUDGE_LEASE_SECONDS)",
                    taken,
                )
        for due, ids in retry.items():
            await uow.nudges.settle_claimed(
                ids, token=token, now=now, due_at=due, error="retrying", failed_attempt=True
            )
            report.retrying += len(ids)
        for reason, ids in given_up.items():
            await uow.nudges.settle_claimed(
                ids,
                token=token,
                now=now,
                status=NudgeStatus.FAILED,
                error=reason,
                failed_attempt=True,
            )
            report.failed += len(ids)
        for member_id in unreachable:
            await uow.members.mark_unreachable(member_id, now)
        # Unchanged, without the lease: the next tick anywhere sends them.
        report.released = await uow.nudges.settle_claimed(released, token=token, now=now)
        return report


def _without_superseded(live: list[Nudge], skipped: list[int]) -> list[Nudge]:
    """Drop a first thank-you reminder when its last call is going out too (after an outage)."""
    last_calls = {n.meeting_id for n in live if n.kind == k.THANKS_LAST}
    kept = []
    for nudge in live:
        if nudge.kind == k.THANKS and nudge.meeting_id in last_calls:
            skipped.append(nudge.id)
        else:
            kept.append(nudge)
    return kept


def _wanted(member: Member, nudge: Nudge) -> bool:
    """Whether the member still wants this kind of nudge at all."""
    if not member.nudges_on or not member.active or member.unreachable_at is not None:
        return False
    if nudge.kind == k.WEEKLY_PLAN and not member.weekly_plan:
        return False
    return k.family_of(nudge.kind) not in member.muted_kinds


async def _extras(uow: UnitOfWork, member: Member, nudge: Nudge, now: datetime) -> Extras | None:
    if nudge.kind in k.PRACTICE_KINDS and nudge.practice_round_id is not None:
        seat = await uow.practice.seat_in(nudge.practice_round_id, member.id)
        if seat is None:
            return None
        group = seat.group
        partners = tuple(display_name(s.member) for s in group.seats if s.id != seat.id)
        return Extras(practice=PracticeView(group.round.number, group.round.ends_at, partners))
    if nudge.kind == k.LANDED:
        landing = await uow.tracker.latest_landing(member.id)
        return Extras(landing=landing, helpers=tuple(await uow.tracker.helpers_of(member.id, now)))
    if nudge.kind == k.WEEKLY_PLAN:
        week_end = now + timedelta(days=7)
        meetings = await uow.tracker.meetings_between(member.id, now, week_end)
        upcoming = [
            n
            for n in await uow.nudges.pending(member.id, limit=50)
            if n.due_at <= week_end and n.kind not in (k.WEEKLY_PLAN, k.PREP, k.LOG_IT)
        ]
        return Extras(week_meetings=tuple(meetings), week_nudges=tuple(upcoming[:15]))
    return None
