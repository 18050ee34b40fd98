"""Members and workspaces: finding them, making them on first contact, their counters and
whether direct messages reach them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Member, Workspace

__all__ = ["ITEM_COUNTERS", "MemberRepo"]

# Short ids of meetings (M3) and requests (R2): each kind has its own counter per member.
ITEM_COUNTERS = {"M": "next_meeting_seq", "R": "next_seq"}


class MemberRepo:
    """Queries of members and workspaces inside one transaction.

    ``added``: the rows added in this transaction (UnitOfWork.is_new); a member made here
    joins them.
    """

    def __init__(self, session: AsyncSession, added: set[object] | None = None) -> None:
        self.session = session
        self._added = added if added is not None else set()

    async def find(self, platform: str, workspace: str, user_id: str) -> Member | None:
        stmt = (
            select(Member)
            .join(Workspace, Member.workspace_id == Workspace.id)
            .where(
                Workspace.platform == platform,
                Workspace.external_id == workspace,
                Member.user_id == user_id,
            )
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def ensure(self, platform: str, workspace: str, user_id: str, *, now: datetime) -> Member:
        """Return the member, creating the workspace and member rows on first contact."""
        member = await self.find(platform, workspace, user_id)
        if member is not None:
            return member
        ws = await self.ensure_workspace(platform, workspace, now)
        try:
            async with self.session.begin_nested():
                member = Member(workspace_id=ws.id, user_id=user_id, created_at=now)
                self.session.add(member)
            self._added.add(member)
        except IntegrityError:  # another process created it first
            member = await self.find(platform, workspace, user_id)
            assert member is not None
        await self.session.refresh(member, ["workspace"])
        return member

    async def ensure_workspace(self, platform: str, external_id: str, now: datetime) -> Workspace:
        stmt = select(Workspace).where(
            Workspace.platform == platform, Workspace.external_id == external_id
        )
        ws = (await self.session.execute(stmt)).scalar_one_or_none()
        if ws is not None:
            return ws
        try:
            async with self.session.begin_nested():
                ws = Workspace(
                    platform=platform,
                    external_id=external_id,
                    created_at=now,
                    # The console has one pretend channel, where practice rounds show.
                    practice_channel="practice" if platform == "console" else None,
                )
                self.session.add(ws)
        except IntegrityError:
            ws = (await self.session.execute(stmt)).scalar_one()
        return ws

    async def find_workspace(self, platform: str, external_id: str) -> Workspace | None:
        stmt = select(Workspace).where(
            Workspace.platform == platform, Workspace.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def workspaces(self) -> Sequence[Workspace]:
        stmt = select(Workspace).order_by(Workspace.platform, Workspace.external_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def members_of(self, workspace_id: int) -> Sequence[Member]:
        stmt = select(Member).where(Member.workspace_id == workspace_id).order_by(Member.id)
        return (await self.session.execute(stmt)).scalars().all()

    # -- counters --------------------------------------------------------------------

    async def allocate_seq(self, member: Member, kind: str) -> int:
        """The next short id of one of the member's meetings (``kind`` "M": M1, M2...) or
        requests ("R": R1, R2...). Each kind counts on its own."""
        return await self._next_counter(member, ITEM_COUNTERS[kind])

    async def _next_counter(self, member: Member, name: str) -> int:
        column = getattr(Member, name)
        stmt = (
            update(Member)
            .where(Member.id == member.id)
            .values({column: column + 1})
            .returning(column)
            # Not checked against every object in the session: with thousands loaded (a
            # tick's batch) that check made each call slower than the last.
            .execution_options(synchronize_session=False)
        )
        value = int((await self.session.execute(stmt)).scalar_one())
        # The row already holds it: record it on the object without a second UPDATE.
        set_committed_value(member, name, value)
        return value

    # -- reachability ----------------------------------------------------------------

    async def clear_unreachable(self, platform: str, workspace: str, user_id: str) -> None:
        """The member wrote to us, so their DMs work again (and they are back if they left)."""
        workspace_ids = select(Workspace.id).where(
            Workspace.platform == platform, Workspace.external_id == workspace
        )
        await self.session.execute(
            update(Member)
            .where(
                Member.user_id == user_id,
                Member.workspace_id.in_(workspace_ids),
                or_(Member.unreachable_at.is_not(None), Member.active.is_(False)),
            )
            .values(unreachable_at=None, active=True)
            .execution_options(synchronize_session=False)
        )

    async def mark_unreachable(self, member_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(unreachable_at=now)
        )
