"""The database handle: engine, sessions and migrations. Nothing connects at import time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from storage import nudge_ids, sqlite_inline
from storage.models import Nudge
from storage.unit import UnitOfWork

__all__ = [
    "MIGRATIONS",
    "RETRY_DELAYS",
    "Sleep",
    "Store",
    "TiaraSession",
    "alembic_config",
    "is_disconnect",
    "sqlite_url_problem",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
# PostgreSQL: transactions run at once by one process, and the pool's connections for them.
# More would not go faster (every command's Python runs on one event loop), and under a
# burst they would wait for a pooled connection and time out; beyond this many, a command
# waits its turn instead, and the event loop stays free to acknowledge new requests.
CONCURRENT_TRANSACTIONS = 8
# Room for what doesn't go through transaction(): health checks and migrations.
POOL_OVERFLOW = 4
# A pooled PostgreSQL connection is replaced after this long: a pooler or a firewall may
# drop an idle connection without telling either end.
POOL_RECYCLE_SECONDS = 1800
# Waits between attempts of a write that lost its connection (about 30 s in all): long
# enough for a failover or a pooler restart, short enough to stay well inside a lease.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


def is_disconnect(err: BaseException) -> bool:
    """Whether ``err`` means the database connection was lost (not a bad statement).

    SQLAlchemy marks such errors ``connection_invalidated`` and then discards the
    connection; a refused or reset socket while connecting shows up as an ``OSError``.
    """
    if isinstance(err, DisconnectionError | OSError):
        return True
    if isinstance(err, DBAPIError):
        if err.connection_invalidated:
            return True
        return isinstance(err.orig, OSError) or type(err.orig).__name__ in _DRIVER_DISCONNECTS
    return False


# asyncpg's names for a connection that went away under a statement.
_DRIVER_DISCONNECTS = frozenset(
    {
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "InterfaceError",
        "AdminShutdownError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
    }
)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our migrations, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin: the driver's own
    # handling turns a SAVEPOINT into a commit point, so a failed command would keep the
    # rows it wrote before the failure. (storage.sqlite_inline opens it that way already.)
    if dbapi_connection.isolation_level is not None:
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Write-ahead logging: other processes' readers (a backup, `tiara db current`) don't
    # wait for the writer, and a commit appends to one file instead of writing and deleting
    # a rollback journal. NORMAL syncs the log at
    # checkpoints, not at every commit: a power cut (not a crash of the bot) can lose the
    # last commits, never corrupt the file. In memory, SQLite answers "memory" and keeps
    # no log.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros, not left in free pages: what a member
    # erases leaves the file (see Store.scrub for the log).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then
    # writes can meet another process's writer half-way and fail with "database is
    # locked" regardless of the busy timeout; taking the lock first makes it wait instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _pragma(connection: Connection, pragma: str) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _checkpoint(connection: Connection) -> int:
    """Checkpoint and empty SQLite's write-ahead log; 1 if a reader blocked it, else 0."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return int(row[0]) if row else 0


def sqlite_url_problem(url: str) -> str | None:
    """Why a SQLite URL can't be used as it is written, or None.

    Tiara opens the file itself (storage.sqlite_inline), in WAL mode, so options in the
    URL (``?mode=ro``, ``?uri=true``, ``?timeout=``) would be silently ignored: refused.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # not a URL at all: opening it says so
    if parsed.get_backend_name() != "sqlite" or not parsed.query:
        return None
    options = ", ".join(sorted(parsed.query))
    return (
        f"SQLite URL options are not supported ({options}): Tiara opens the file itself. "
        "Give a plain path, e.g. sqlite+aiosqlite:///tiara.db"
    )


class TiaraSession(Session):
    """The sessions a Store hands out (under their AsyncSession).

    Tiara's ORM event handlers listen to this class only, never to SQLAlchemy's Session as
    a whole: a session made elsewhere on the same models (a script, a test, a migration)
    runs none of them.
    """


event.listen(TiaraSession, "before_flush", nudge_ids.hand_ids_on)
event.listen(TiaraSession, "after_transaction_end", nudge_ids.forget_freed)


@event.listens_for(Nudge.status, "set")
def _nudge_status_set(nudge: Nudge, value: object, old: object, _initiator: object) -> None:
    # An attribute event fires in any session: only ours take note.
    session = inspect(nudge).session
    if isinstance(session, TiaraSession):
        nudge_ids.status_changed(session, nudge, value, old)


class Store:
    """Owns the async engine; hands out sessions and runs migrations."""

    def __init__(self, url: str, *, connect_args: dict[str, Any] | None = None) -> None:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"connect_args": connect_args or {}}
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            problem = sqlite_url_problem(url) or (
                "connect_args are not used for SQLite" if connect_args else None
            )
            if problem:
                raise ValueError(problem)
            database = parsed.database or ":memory:"
            # sqlite3 on the loop's thread; aiosqlite's thread hand-offs cost more than
            # the statements (see storage.sqlite_inline). Another process holding the lock
            # is waited for up to the busy timeout, without blocking the loop.
            kwargs["async_creator"] = sqlite_inline.connect(
                database, busy_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
            )
            if database == ":memory:":
                # One shared connection, or every session would see its own empty database.
                kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(
                pool_size=CONCURRENT_TRANSACTIONS,
                max_overflow=POOL_OVERFLOW,
                # Each checkout asks the connection first: after a failover or a killed
                # backend, the first command gets a fresh connection, not an error.
                pool_pre_ping=True,
                pool_recycle=POOL_RECYCLE_SECONDS,
            )
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _on_sqlite_connect)
            event.listen(self.engine.sync_engine, "begin", _on_sqlite_begin)
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=TiaraSession
        )
        # SQLite has one writer: one transaction at a time avoids "database is locked".
        self._slots = asyncio.Semaphore(1 if self.is_sqlite else CONCURRENT_TRANSACTIONS)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        async with self._slots, self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work inside one transaction: committed on success, rolled back on any
        error (see ``transaction``)."""
        async with self.transaction() as session:
            yield UnitOfWork(session)

    async def write_retrying(
        self,
        work: Callable[[UnitOfWork], Awaitable[T]],
        *,
        delays: Sequence[float] = RETRY_DELAYS,
        sleep: Sleep = asyncio.sleep,
    ) -> T:
        """Run ``work`` in a unit of work; when the connection is lost, wait and run it
        again in a new one, up to ``len(delays)`` more times.

        ``work`` must be safe to repeat: the lost transaction may have committed before
        its answer was lost. Any other error, or the last lost connection, is raised.
        """
        for attempt in range(len(delays) + 1):
            try:
                async with self.unit() as uow:
                    return await work(uow)
            except Exception as err:
                if attempt == len(delays) or not is_disconnect(err):
                    raise
                log.warning(
                    "the database connection was lost (%s); trying again in %.1f s",
                    type(err).__name__,
                    delays[attempt],
                )
                await sleep(delays[attempt])
        raise AssertionError("unreachable")

    async def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (the latest by default)."""
        await self._migrate(lambda sync: command.upgrade(alembic_config(sync), revision))

    async def downgrade(self, revision: str) -> None:
        await self._migrate(lambda sync: command.downgrade(alembic_config(sync), revision))

    async def _migrate(self, step: Callable[[Connection], None]) -> None:
        """Run a migration step in one transaction.

        On SQLite, foreign keys are off while it runs: a batch migration rebuilds a table
        (copy, DROP TABLE, rename), and with foreign keys on, dropping the old ``members``
        would cascade-delete every row that belongs to a member. They are checked once the
        step is done, and back on for everything after.

        On PostgreSQL, an advisory lock (one per schema) makes processes that start
        together (replicas rolling out, a migration job beside them) take turns: the first
        migrates, the others then find the schema at head and have nothing to do.
        """
        async with self.engine.connect() as conn:
            if self.is_sqlite:
                # Straight to the driver, outside any transaction: SQLite ignores this
                # pragma inside one.
                await conn.run_sync(_pragma, "foreign_keys=OFF")
            try:
                async with conn.begin():
                    if not self.is_sqlite:
                        await conn.exec_driver_sql(
                            "SELECT pg_advisory_xact_lock("
                            "hashtextextended('tiara migrations ' || current_schema(), 0))"
                        )
                    await conn.run_sync(step)
                    if self.is_sqlite:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if broken:
                            raise RuntimeError(
                                f"the migration left {len(broken)} rows whose parent is gone"
                            )
            finally:
                if self.is_sqlite:
                    await conn.run_sync(_pragma, "foreign_keys=ON")

    async def current_revision(self) -> str | None:

        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def scrub(self) -> None:
        """After an erasure: on SQLite, copy the write-ahead log into the database and
        empty it, so erased text leaves the files now rather than at a later checkpoint
        (the main file overwrites deleted rows: secure_delete). Another process reading
        at that moment keeps the log's tail until the next checkpoint; that is logged.
        PostgreSQL needs nothing here (autovacuum reclaims the dead rows)."""
        if not self.is_sqlite:
            return
        async with self._slots, self.engine.connect() as conn:
            # Straight to the driver: inside a transaction the checkpoint can't empty the log.
            busy = await conn.run_sync(_checkpoint)
        if busy:
            log.warning(
                "the checkpoint after an erasure was blocked by a reader; the next one completes it"
            )

    async def ping(self) -> None:
        """Ask the database something trivial; raises when it can't be reached."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        await self.engine.dispose()
