"""SQLite on the event loop's own thread, under SQLAlchemy's aiosqlite dialect.

aiosqlite runs every driver call (open a cursor, execute, fetch, close, commit) in a
worker thread and hands the answer back through the event loop. One SELECT is four such
hand-offs: about 2 ms on a small two-core VM, where SQLite itself needs a few
microseconds. A command runs 5 to 20 statements, so the hand-offs were most of what a
member waited for.

This driver calls :mod:`sqlite3` directly instead. It offers the part of aiosqlite's
interface that SQLAlchemy uses (``Store`` passes it as ``async_creator``), so the dialect,
the SQL and the transactions are SQLAlchemy's own. Blocking the loop is fine here: the
statements are indexed lookups of microseconds, and with the WAL journal a commit writes
one file. The one wait that can be long, another process holding the write lock (a
second bot, ``tiara db upgrade``), is not left to SQLite's busy timeout, which would
block the loop: the connection has none. Where SQLite allows it (``BEGIN IMMEDIATE``, a
statement outside a transaction, ``COMMIT``), one that finds the database locked is tried
again, with ``asyncio.sleep`` between tries, until ``busy_timeout`` has passed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

__all__ = ["InlineConnection", "InlineCursor", "connect"]

T = TypeVar("T")

# The first pause after "database is locked", doubling up to the last.
FIRST_PAUSE = 0.002
LONGEST_PAUSE = 0.1


SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = 517  # a WAL reader's snapshot went stale: retrying can't help


def _busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock we need (SQLITE_BUSY and its extended codes)."""
    code: int | None = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return "database is locked" in str(error)
    return code & 0xFF == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


class InlineCursor:
    """A :class:`sqlite3.Cursor` behind aiosqlite's awaitable methods."""

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await self._connection.call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(parameters)  # an iterator could not be replayed after "locked"
        await self._connection.call(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """A :class:`sqlite3.Connection` behind aiosqlite's awaitable methods."""

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout: float) -> None:
        self._conn = connection
        self._open = True
        self.busy_timeout = busy_timeout

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # What SQLAlchemy's aiosqlite adapter reads to tell an open connection (aiosqlite's
        # own attribute of that name) before it commits or rolls back.
        return self._conn if self._open else None

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None) -> None:
        self._conn.isolation_level = value

    async def call(self, function: Callable[..., T], *args: Any, commit: bool = False) -> T:
        """``function(*args)``, tried again while another connection holds the lock.

        Only where SQLite says a retry is safe: a statement outside a transaction (BEGIN
        IMMEDIATE itself, a lone read) or a COMMIT. Inside a transaction a busy statement
        fails at once (with BEGIN IMMEDIATE it holds the lock, so this doesn't happen).
        """
        deadline: float | None = None
        pause = FIRST_PAUSE
        while True:
            retry = commit or not self._conn.in_transaction
            try:
                return function(*args)
            except sqlite3.OperationalError as error:
                if not (retry and _busy(error)):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.busy_timeout
                if now >= deadline:
                    raise
                await asyncio.sleep(min(pause, deadline - now))
                pause = min(pause * 2, LONGEST_PAUSE)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def commit(self) -> None:
        await self.call(self._conn.commit, commit=True)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's ``terminate`` outside a coroutine)."""
        self._open = False
        self._conn.close()


def connect(database: str, *, busy_timeout: float) -> Callable[[], Any]:
    """An ``async_creator`` for :func:`~sqlalchemy.ext.asyncio.create_async_engine`."""

    async def creator() -> InlineConnection:
        connection = sqlite3.connect(
            database,
            # SQLAlchemy begins transactions itself (Store's "begin" listener).
            isolation_level=None,
            # The loop's thread uses it, but SQLAlchemy may close it from the garbage
            # collector's.
            check_same_thread=False,
            # No waiting inside SQLite: a locked database is retried without blocking.
            timeout=0,
        )
        return InlineConnection(connection, busy_timeout=busy_timeout)

    return creator
