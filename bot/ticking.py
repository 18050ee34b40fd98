"""The ticking side of the bot: every ~30 s, start and end practice rounds, send the
reminders that are due and the coaches' digests; and whether all that is healthy."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.coach.digest import DigestRunner
from bot.metrics import Health, Metrics
from bot.nudges.deliver import NudgeSender, TickReport
from bot.practice.rounds import PracticeRunner
from storage.store import Store

__all__ = ["DATABASE_CHECK_SECONDS", "EVENT_MEMORY", "Runners", "Ticker"]

log = logging.getLogger(__name__)

# How long a handled event id is remembered; platforms redeliver within minutes.
EVENT_MEMORY = timedelta(days=1)
# /healthz counts the database as down when it takes longer than this to answer.
DATABASE_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Runners:
    """What a tick runs, built by the bootstrap around the notifier: reminders, practice
    rounds and coaches' digests."""

    sender: NudgeSender
    practice: PracticeRunner
    digests: DigestRunner | None = None


class Ticker:
    """Runs the ticks (the scheduler calls :meth:`tick`) and says how they are going.
    Without ``runners`` (no notifier: nothing can be sent) it only answers health checks."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        metrics: Metrics,
        runners: Runners | None = None,
        platforms: frozenset[str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.runners = runners
        self.platforms = platforms
        self.started_at = clock.now()
        self.last_tick: datetime | None = None
        self.monotonic = monotonic  # real time, for how long a tick has been running
        self._tick_began: float | None = None
        self._ticks_seen = monotonic()  # a tick last began or ended (or start-up)
        self._stopping = False
        # Real time; tests that don't measure the database's speed set it high.
        self.database_check_seconds = DATABASE_CHECK_SECONDS

    async def tick(self) -> TickReport:
        """Send the nudges that are due now (the scheduler calls this every ~30 s)."""
        if self.runners is None:
            raise RuntimeError("this bot has no notifier, so it can't send nudges")
        self._tick_began = self._ticks_seen = self.monotonic()
        try:
            report = await self._tick(self.runners)
        except Exception:
            self.metrics.ticks.labels("failed").inc()
            raise
        finally:
            self._tick_began = None
            self._ticks_seen = self.monotonic()
        self.metrics.ticks.labels("ok").inc()
        self.last_tick = self.clock.now()
        self.metrics.last_tick.set(self.last_tick.timestamp())
        return report

    async def _tick(self, runners: Runners) -> TickReport:
        # Rounds first: starting one plans nudges (a member left alone is told at once).
        # Practice trouble is logged and must never hold up the reminders.
        try:
            if not self._stopping:
                rounds = await runners.practice.tick()
                self.metrics.rounds.inc(rounds.rounds_started)
        except Exception as err:
            log.error("the practice step of the tick failed with %s", type(err).__name__)
        now = self.clock.now()
        async with self.store.unit() as uow:
            await uow.inbox.forget_events(now - EVENT_MEMORY)
            await uow.inbox.forget_expired_payloads(now)
            pending, oldest = await uow.nudges.pending_summary(now, platforms=self.platforms)
        # As the tick starts: how many wait, and how overdue the oldest due one is.
        self.metrics.pending.set(pending)
        self.metrics.lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        report = await runners.sender.tick()
        for result in ("sent", "failed", "retrying", "expired", "skipped", "deferred"):
            self.metrics.nudges.labels(result).inc(getattr(report, result))
        # Coaches' digests last: a slow chart must never hold up the members' reminders.
        try:
            if runners.digests is not None and not self._stopping:
                await runners.digests.tick()
        except Exception as err:
            log.error("the digest step of the tick failed with %s", type(err).__name__)
        return report

    def stop_soon(self) -> None:
        """The process is stopping: a tick under way finishes the sends it has begun,
        records them and releases the rest (see NudgeSender.stop_soon); it starts no
        practice round step or digest."""
        self._stopping = True
        if self.runners is not None:
            self.runners.sender.stop_soon()

    def tick_running_for(self) -> float | None:
        """Seconds the tick under way has been running (None: none is). A database outage
        makes ticks fail quickly; one that runs on and on is hung."""
        began = self._tick_began
        return None if began is None else self.monotonic() - began

    def ticks_idle_for(self) -> float:
        """Seconds since a tick last began or ended, failed ones included (or since
        start-up). Ticks run every interval even through an outage; when none has for a
        long while, the scheduler has stopped."""
        return self.monotonic() - self._ticks_seen

    async def health(self, *, max_tick_age: timedelta) -> Health:
        """Whether the database answers (within ``database_check_seconds``) and the
        scheduler has ticked within ``max_tick_age`` (counted from start-up until the first
        tick)."""
        try:
            async with asyncio.timeout(self.database_check_seconds):
                await self.store.ping()
            database = True
        except Exception as err:
            log.warning("health check: the database failed with %s", type(err).__name__)
            database = False
        since = self.last_tick or self.started_at
        ticking = self.runners is None or self.clock.now() - since <= max_tick_age
        return Health(database=database, scheduler=ticking, last_tick=self.last_tick)

    async def next_due(self, until: datetime) -> datetime | None:
        """When the next nudge is due or round starts or ends, if before ``until`` (for the
        console's clock)."""
        now = self.clock.now()
        async with self.store.unit() as uow:
            found = [
                await uow.nudges.next_due(after=now, until=until),
                await uow.practice.next_event(after=now, until=until),
            ]
        return min((f for f in found if f is not None), default=None)
