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


def _run_from_settings() -> None:
    from bot.config import Settings
    from storage.store import Store

    async def go() -> None:
        store = Store(Settings().database_url.get_secret_value())
        async with store.engine.begin() as conn:
            await conn.run_sync(_run)
        await store.close()

    asyncio.run(go())


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; use `tiara db upgrade`.")
if connection is None:
    _run_from_settings()
else:
    _run(connection)
