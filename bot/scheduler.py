"""The scheduler: APScheduler is only a clock here, calling ``Ticker.tick`` every few seconds.

The work itself lives in database rows (nudges), so a restart loses nothing and several
processes can share the work; APScheduler's own job store is not used for it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.ticking import Ticker

__all__ = ["TICK_JOB", "TickScheduler"]

log = logging.getLogger(__name__)

TICK_JOB = "tick"
# How long a stopping process gives the sends under way (deploy/ allows 30 s in all).
STOP_GRACE_SECONDS = 20.0
# APScheduler's warning when a run comes due while the tick before it is still running.
_SKIPPED_RUN = "maximum number of running instances reached"


class _SchedulerLog(logging.LoggerAdapter[logging.Logger]):
    """APScheduler's own logger, except that a run skipped because the tick before it is
    still running is logged at DEBUG, not WARNING: with ``max_instances=1`` that is the
    design (a wave of reminders may outlast the interval), not a fault. Its other
    warnings stay warnings."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level == logging.WARNING and _SKIPPED_RUN in str(msg):
            level = logging.DEBUG
        super().log(level, msg, *args, **kwargs)


class TickScheduler:
    """Runs one job, ``tick``, at a fixed interval; overlapping or missed runs collapse."""

    def __init__(self, ticker: Ticker, *, interval_seconds: float = 30) -> None:
        self.ticker = ticker
        self.interval_seconds = interval_seconds
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, logger=_SchedulerLog(logging.getLogger("apscheduler.scheduler"))
        )
        self._running: asyncio.Task[object] | None = None
        self.scheduler.add_job(
            self.run_tick,
            "interval",
            seconds=interval_seconds,
            id=TICK_JOB,
            coalesce=True,  # after a pause, one run instead of a burst
            max_instances=1,  # a slow tick is never overlapped by the next
            misfire_grace_time=max(1, int(interval_seconds)),
            next_run_time=datetime.now(UTC),  # the first tick right away
        )

    async def run_tick(self) -> None:
        """One tick; a failure is logged (by type, never with data) and the next tick retries."""
        self._running = asyncio.current_task()
        try:
            await self.ticker.tick()
        except Exception as err:
            log.error("tick failed with %s", type(err).__name__)
        finally:
            self._running = None

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop ticking, letting a tick under way finish the sends it has begun and record
        them (for up to ``grace`` seconds): cancelled between sending and recording, its
        nudges would be sent again once their lease ran out. It starts no new sends and
        releases the nudges it claimed but didn't send. The platforms' connections close
        after this, so 20 s leaves them about 10 of the 30 s a stop is given (systemd,
        Docker, Kubernetes)."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        self.ticker.stop_soon()  # no new sends: the grace is for those already under way
        running = self._running
        if running is not None and not running.done():
            try:
                await asyncio.wait_for(asyncio.shield(running), timeout=grace)
            except TimeoutError:
                log.warning("the tick under way did not finish within %.0f s", grace)
            except asyncio.CancelledError:
                pass
        self.scheduler.shutdown(wait=False)
