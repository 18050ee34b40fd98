"""Schema, migrations and concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, select

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from storage.models import Base, Meeting
from storage.store import Store, alembic_config
from tests.conftest import START, Member

TABLES = {t.name for t in Base.metadata.sorted_tables}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def table_names(store: Store) -> set[str]:
    async with store.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_downgrade_upgrade(empty_store: Store) -> None:
    assert await empty_store.current_revision() is None
    await empty_store.upgrade()
    assert await empty_store.current_revision() == HEAD
    assert await table_names(empty_store) >= TABLES
    await empty_store.downgrade("base")
    assert await empty_store.current_revision() is None
    assert not TABLES & await table_names(empty_store)
    await empty_store.upgrade()
    assert await table_names(empty_store) >= TABLES


def _slack_store_tables() -> MetaData:
    """The tables slack_sdk's SQLAlchemy installation and state stores expect."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


async def test_migrations_match_the_models(empty_store: Store) -> None:
    """A model changed without a migration shows up here as a difference; so does a change
    in slack_sdk's installation tables after an upgrade of slack_sdk."""
    await empty_store.upgrade()
    expected = [Base.metadata, _slack_store_tables()]
    async with empty_store.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}),
                expected,  # type: ignore[arg-type]
            )
        )
    assert diff == []


async def test_app_upgrades_an_empty_database_and_keeps_data_on_restart(
    empty_store: Store,
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = await build_app(settings, clock=FixedClock(START), store=empty_store)
    await Member(app.bot, "alice").ok("log contact=Dana notes=kept")
    again = await build_app(settings, clock=FixedClock(START), store=empty_store)  # a restart
    shown = await Member(again.bot, "alice").ok("show M1")
    assert ("Notes", "kept") in [(f.label, f.value) for f in shown.fields]


async def test_concurrent_first_contacts_and_short_ids(empty_store: Store) -> None:
    """Many commands at once from a brand-new member: one member row, distinct short ids."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = await build_app(settings, clock=FixedClock(START), store=empty_store)
    alice = Member(app.bot, "alice")
    replies = await asyncio.gather(*(alice(f"log contact=Person {i}") for i in range(12)))
    assert not any(r.error for r in replies), [r.text for r in replies if r.error]
    async with empty_store.transaction() as session:
        seqs = sorted((await session.execute(select(Meeting.seq))).scalars())
    assert seqs == list(range(1, 13))


def test_tiara_db_upgrade_and_downgrade_cli(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {**os.environ, "TIARA_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}

    def tiara(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "adapters.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert f"Schema revision: {HEAD}" in tiara("db", "upgrade")
    assert f"Schema revision: {HEAD}" in tiara("db", "current")
    assert "none (empty)" in tiara("db", "downgrade", "base")


async def test_upgrade_from_0001_keeps_rows_and_gives_members_the_default_rhythm(
    empty_store: Store,
) -> None:
    await empty_store.upgrade("0001")
    async with empty_store.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO workspaces (id, platform, external_id, created_at) "
            "VALUES (1, 'test', 'cohort', '2026-11-01 10:00:00')"
        )
        await conn.exec_driver_sql(
            "INSERT INTO members (id, workspace_id, user_id, next_seq, active, created_at) "
            "VALUES (1, 1, 'alice', 0, true, '2026-11-01 10:00:00')"
        )
    await empty_store.upgrade()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = await build_app(settings, clock=FixedClock(START), store=empty_store)
    shown = await Member(app.bot, "alice", workspace="cohort").ok("settings")
    values = {f.label: f.value for f in shown.fields}
    assert values["Nudges"] == "on"
    assert values["Quiet hours"] == "21:00 to 08:00"
    assert values["Nudge time"] == "09:00"
