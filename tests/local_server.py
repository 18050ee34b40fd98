"""The part every local platform fake shares: an aiohttp server on 127.0.0.1 that starts on
a free port, stops cleanly (open websockets first) and works as ``async with``."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from aiohttp import web

__all__ = ["LocalServer"]


class LocalServer:
    """Subclasses build their routes in ``application`` and close their websockets in
    ``close_sockets``; requests they record stay available after ``stop``."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Condition()

    def application(self) -> web.Application:
        raise NotImplementedError

    async def close_sockets(self) -> None:
        """Close open websockets: one left open holds the server's shutdown until it times
        out."""

    async def start(self, *, port: int = 0) -> None:
        """Start listening on 127.0.0.1 (a free port unless ``port`` is given)."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        runner = web.AppRunner(self.application(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._changed = asyncio.Condition()  # bound to the loop the server runs in

    async def stop(self) -> None:
        """Stop the server; what it recorded stays available for inspection."""
        runner, self._runner = self._runner, None
        await self.close_sockets()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} has not been started")
        return self._port
