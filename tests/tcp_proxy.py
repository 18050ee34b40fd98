"""A TCP proxy in front of a database, whose connections a test can cut (not a test module).

Cutting closes every connection passing through it at once (what a failover, a pooler
restart or ``pg_terminate_backend`` does to a client) and refuses new ones until it is
restored. It counts the connections it refused, so a test can wait until a client has
noticed the cut instead of waiting for some time to pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

__all__ = ["TcpProxy"]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.accepted = 0
        self.refused = 0
        self._cut = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self._cut = True
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._cut = False

    async def wait_refused(self, count: int = 1) -> None:
        """Wait until at least ``count`` connections were refused since the start."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.refused >= count)

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            _abort(writer)
            async with self._changed:
                self._changed.notify_all()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            _abort(writer)
            return
        self.accepted += 1
        self._writers.update((writer, upstream_writer))
        pumps = (
            asyncio.ensure_future(_pump(reader, upstream_writer)),
            asyncio.ensure_future(_pump(upstream_reader, writer)),
        )
        for task in pumps:
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)
        await asyncio.gather(*pumps, return_exceptions=True)
        for side in (writer, upstream_writer):
            self._writers.discard(side)
            _abort(side)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    _abort(writer)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close at once, as a dropped network would: no FIN handshake to wait for."""
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
