"""Pieces of queries that several areas share."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import Workspace

__all__ = ["lease_rows", "on_platforms"]


def on_platforms(
    workspace_id: InstrumentedAttribute[int], platforms: Collection[str] | None
) -> ColumnElement[bool]:
    """Rows of workspaces on ``platforms`` (None: every platform).

    A process claims only what it can send: with Slack and Discord served by different
    processes on one database, the Slack process must leave Discord's reminders alone
    rather than fail them.
    """
    if platforms is None:
        return true()
    return workspace_id.in_(select(Workspace.id).where(Workspace.platform.in_(sorted(platforms))))


async def lease_rows(
    session: AsyncSession, model: Any, ids: Sequence[int], *, lease_until: datetime, token: str
) -> None:
    """Mark rows of ``model`` as claimed by ``token`` until ``lease_until``."""
    if ids:
        await session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(lease_until=lease_until, claim_token=token)
            .execution_options(synchronize_session=False)
        )
