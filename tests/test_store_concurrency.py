"""How the store behaves under concurrency: SQLite's lock waits and journal, and the bound
on PostgreSQL transactions that keeps a burst of commands from timing out."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from storage import store as store_module
from storage.store import Store
from tests.conftest import (
    START,
    Member,
    _drop_schema,
    _postgres_schema_store,
    require_postgres,
)

pytestmark = pytest.mark.asyncio


async def _migrated_file_store(path: Path) -> Store:
    store = Store(f"sqlite+aiosqlite:///{path}")
    await store.upgrade()
    return store


async def test_sqlite_file_uses_the_write_ahead_log(tmp_path: Path) -> None:
    store = await _migrated_file_store(tmp_path / "t.db")
    try:
        async with store.transaction() as session:
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert mode == "wal"
        assert foreign_keys == 1
    finally:
        await store.close()


async def test_a_locked_sqlite_database_is_waited_for_without_blocking_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here: another connection) holds the write lock. Our transaction
    waits for it, while the event loop keeps serving everything else, and then goes on."""
    # Longer than any stall of a busy machine between taking the lock and freeing it.
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 600_000)
    path = tmp_path / "t.db"
    store = await _migrated_file_store(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO processed_events (platform, event_id, received_at) VALUES (?, ?, ?)",
            ("slack", "held", START.isoformat()),
        )

        async def write() -> None:
            async with store.transaction() as session:
                await session.execute(
                    text(
                        "INSERT INTO processed_events (platform, event_id, received_at) "
                        "VALUES ('slack', 'ours', :at)"
                    ),
                    {"at": START.isoformat()},
                )

        writer = asyncio.create_task(write())
        turns = 0
        while turns < 50:  # the loop keeps turning while the writer waits
            await asyncio.sleep(0)
            turns += 1
        assert not writer.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writer, timeout=60)  # only if it hangs
        rows = other.execute("SELECT event_id FROM processed_events ORDER BY event_id").fetchall()
        assert rows == [("held",), ("ours",)]
    finally:
        other.close()
        await store.close()


async def test_a_sqlite_lock_held_past_the_busy_timeout_fails_the_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "t.db"
    store = await _migrated_file_store(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(Exception, match="locked"):
            async with store.transaction() as session:
                await session.execute(text("SELECT 1"))
        assert time.monotonic() - started >= 0.05  # it waited the busy timeout out first
        other.execute("ROLLBACK")
        async with store.transaction() as session:  # and it works again after
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        other.close()
        await store.close()


@pytest.fixture
async def postgres_bot() -> AsyncIterator[Bot]:
    await require_postgres()
    store, schema = await _postgres_schema_store()
    try:
        settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
        yield (await build_app(settings, clock=FixedClock(START), store=store)).bot
    finally:
        await store.close()
        await _drop_schema(schema)


async def test_a_burst_of_commands_on_postgresql_all_succeed_within_the_pool(
    postgres_bot: Bot,
) -> None:
    """Far more commands at once than the pool has connections: every one is answered
    (none waits out the pool's timeout and fails), and no more transactions than the
    bound ever hold a connection. (SQLite runs one transaction at a time.)"""
    bot = postgres_bot
    store = bot.store
    members = [Member(bot, f"U{n}") for n in range(60)]
    most = 0
    pool = store.engine.sync_engine.pool

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, pool.checkedout())  # type: ignore[attr-defined]
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        answers = await asyncio.gather(
            *(
                m.ok(f'log contact="Dana Lee" when="yesterday 3pm" notes="n{i}"')
                for i, m in enumerate(members)
            )
        )
    finally:
        watcher.cancel()
    assert all(not a.error for a in answers), [a.text for a in answers if a.error][:3]
    assert 0 < most <= store_module.CONCURRENT_TRANSACTIONS
    listed = await asyncio.gather(*(m.ok("meetings") for m in members))
    assert all("Dana Lee" in a.text for a in listed)


async def test_processes_starting_together_on_postgresql_take_turns_to_migrate() -> None:
    """Three replicas starting at once on an empty database: one migrates, the others wait
    for it and then find nothing to do; none fails."""
    await require_postgres()
    store, schema = await _postgres_schema_store()
    stores = [store] + [
        Store(
            str(store.engine.url.render_as_string(hide_password=False)),
            connect_args={"server_settings": {"search_path": schema}},
        )
        for _ in range(2)
    ]
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(s.upgrade() for s in stores), return_exceptions=True), timeout=60
        )
        assert [r for r in results if r is not None] == []
        revisions = {await s.current_revision() for s in stores}
        assert len(revisions) == 1 and None not in revisions
    finally:
        for s in stores:
            await s.close()
        await _drop_schema(schema)
