"""Shared fixtures: a real Bot on real SQLite and, when reachable (always in CI), PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

from adapters.bootstrap import build_app
from adapters.testing import TestMember
from adapters.testing import button_named as button_named  # the tests import them from here
from adapters.testing import everything as everything
from bot import logsafe
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from storage.store import Store

# Property tests check what is generated, never how fast: a busy machine must not fail them.
settings.register_profile("tiara", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tiara")

# Every test logs as production does (adapters.bootstrap.configure_logging): no record can carry a
# member's words, so no test can pass by reading them in a log.
logsafe.install()

POSTGRES_URL = os.environ.get(
    "TIARA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Wednesday 18 November 2026, 15:00 UTC.
START = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


async def _postgres_problem() -> str | None:
    """Why PostgreSQL can't be used, or None when it can."""
    import asyncpg
    from sqlalchemy import make_url

    url = make_url(POSTGRES_URL)
    try:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=30,  # a busy machine connects slowly; only a dead server takes this long
        )
        await conn.close()
    except Exception as err:  # any failure to connect
        return f"{type(err).__name__}: {err}"
    return None


_PG_PROBLEM: list[str | None] = []


async def require_postgres() -> None:
    """Return if PostgreSQL is usable; skip the test if not, or fail it in CI."""
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(await _postgres_problem())
    problem = _PG_PROBLEM[0]
    if problem is None:
        return
    message = f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem})"
    if IN_CI:
        pytest.fail(f"{message}; CI must run the storage tests against PostgreSQL.")
    pytest.skip(f"{message}; CI runs these tests against PostgreSQL")


async def _postgres_schema_store() -> tuple[Store, str]:
    """A store confined to a fresh schema, so test runs never see each other's rows."""
    schema = f"tiara_test_{uuid.uuid4().hex[:12]}"
    admin = Store(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.close()
    return Store(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}}), schema


async def _drop_schema(schema: str) -> None:
    admin = Store(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """A store on an empty database: SQLite in memory, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        store = Store("sqlite+aiosqlite://")
        yield store
        await store.close()
        return
    await require_postgres()
    store, schema = await _postgres_schema_store()
    try:
        yield store
    finally:
        await store.close()
        await _drop_schema(schema)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def bot(empty_store: Store, clock: FixedClock) -> Bot:
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store)
    return app.bot


# The test backend shipped with Tiara (adapters.testing): members talk to the bot through
# Bot.handle, as the platforms do. ``Member`` is the name the tests know it by.
Member = TestMember


@pytest.fixture
def alice(bot: Bot) -> Member:
    return Member(bot, "alice")


@pytest.fixture
def bob(bot: Bot) -> Member:
    return Member(bot, "bob")
