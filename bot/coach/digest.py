"""The weekly digest: a coach who asked for it gets the cohort's progress by DM on Monday.

A digest is claimed by moving the coach's ``digest_next_at`` forward by a lease in one
conditional UPDATE, so two processes never send the same one; once sent it moves on to
next Monday. A transient failure leaves it to be tried again when the lease runs out.

Coaches come and go, and whether someone is still a workspace admin is only known when
they use Tiara. So a digest stops, with a word saying how to resume it, for a coach who
hasn't used Tiara for ``LAPSE`` (unless TIARA_COACHES names them): cohort figures don't
keep going to someone who has left.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.coach.stats import gather, render_stats
from bot.notify import DeliveryError, Notifier
from bot.timeutil import next_weekly
from bot.values import Message, UserRef
from bot.zones import effective_timezone
from storage.models import Member
from storage.store import Store

__all__ = ["DigestRunner", "next_digest"]

log = logging.getLogger(__name__)

DIGEST_CHART_WEEKS = 8  # the digest counts its week and charts the trend before it

MONDAY = 0
LAPSE = timedelta(weeks=8)

STOPPED = Message(
    title="Your weekly digest has stopped",
    text=(
        "You haven't used Tiara for 8 weeks, so I've stopped sending you the cohort's "
        "weekly progress. Still coaching this cohort? Turn it back on: /tiara coach digest on"
    ),
)


def next_digest(member: Member, tz: str, after: datetime) -> datetime:
    """Next Monday at the coach's own reminder time, in their timezone."""
    return next_weekly(after, tz, MONDAY, member.nudge_time)


class DigestRunner:
    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        default_timezone: str,
        lease: timedelta,
        platforms: frozenset[str] | None = None,
        coaches: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.coaches = coaches  # TIARA_COACHES: ids, or workspace:id
        self.notifier = notifier
        self.clock = clock
        self.default_timezone = default_timezone
        self.lease = lease
        self.platforms = platforms  # whose coaches this process writes to (None: all)

    async def tick(self) -> int:
        """Send the digests that are due; return how many went out."""
        now = self.clock.now()
        async with self.store.unit() as uow:
            due = await uow.coach.digest_due(now, platforms=self.platforms)
        sent = 0
        for member_id, was in due:
            try:
                sent += await self._one(member_id, was)
            except Exception as err:  # one coach's trouble must not stop the others
                log.error("a weekly digest failed with %s", type(err).__name__)
        return sent

    async def _one(self, member_id: int, was: datetime) -> int:
        now = self.clock.now()
        claim = now + self.lease
        async with self.store.unit() as uow:
            if not await uow.coach.move_digest(member_id, was=was, to=claim):
                return 0  # another process has it
        async with self.store.transaction() as session:
            member = await session.get(Member, member_id)
            if member is None:
                return 0
            ws = member.workspace
            tz = effective_timezone(member, self.default_timezone)
            user = UserRef(ws.platform, ws.external_id, member.user_id)
            seen = member.last_seen_at
            if not user.named_in(self.coaches) and (seen is None or now - seen > LAPSE):
                member.digest_next_at = None
                stats = None
            else:
                stats = await gather(
                    session, ws, now=now, weeks=1, tz=tz, chart_weeks=DIGEST_CHART_WEEKS
                )
            following = next_digest(member, tz, now)
        if stats is None:
            try:
                await self.notifier.send_dm(user, STOPPED)
            except DeliveryError as err:  # told or not, the digest has stopped
                log.info("the note that a digest stopped was not delivered (%s)", err.reason)
            return 0
        try:
            message = await render_stats(stats, title="Your weekly digest: cohort progress")
            await self.notifier.send_dm(user, message)
        except DeliveryError as err:
            if not err.permanent:
                log.info("a weekly digest will be retried (%s)", err.reason)
                return 0  # the lease runs out and the next tick tries again
            async with self.store.unit() as uow:
                await uow.members.mark_unreachable(member_id, self.clock.now())
                await uow.coach.move_digest(member_id, was=claim, to=following)
            return 0
        except Exception:
            # Not the platform saying "later" but a fault of ours (the chart, a bug): trying
            # again every few minutes would only repeat it. Next week's comes as planned.
            async with self.store.unit() as uow:
                await uow.coach.move_digest(member_id, was=claim, to=following)
            raise
        # Recorded at once, and again after a lost connection: a digest whose sending was
        # not recorded would go out a second time when its claim runs out.
        await self.store.write_retrying(
            lambda uow: uow.coach.move_digest(member_id, was=claim, to=following)
        )
        return 1
