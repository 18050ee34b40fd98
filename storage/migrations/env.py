"""Alembic environment: runs on a connection handed over by ``Store`` or ``tiara db``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_environment() -> None:
    """For developers running the ``alembic`` command itself (e.g. --autogenerate)."""
    import os

    from storage.store import Store

    async def go() -> None:
        store = Store(os.environ.get("TIARA_DATABASE_URL", "sqlite+aiosqlite:///tiara.db"))
        async with store.engine.begin() as conn:
            await conn.run_sync(_run)
        await store.close()

    asyncio.run(go())


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; use `tiara db upgrade`.")
if connection is None:
    _run_from_environment()
else:
    _run(connection)
