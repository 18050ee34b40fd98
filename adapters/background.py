"""Work an adapter starts after answering (profile reads, redraws), kept track of so a
stop can wait for it and a failure is logged, never lost silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

__all__ = ["Background"]

log = logging.getLogger(__name__)


class Background:
    """A set of guarded tasks: each failure is logged by type only (never its text, which
    can quote members' words or a request body)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Awaitable[None]) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await work
            except Exception as err:
                log.error("background %s work failed with %s", self.what, type(err).__name__)

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until no background work is left (including work started meanwhile)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
