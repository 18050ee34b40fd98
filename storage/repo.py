"""Queries. Every read is scoped to one member, so one member never sees another's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Meeting, Member, OutreachRequest, PromptSeen, Workspace

__all__ = ["Repo", "name_key"]


def name_key(name: str) -> str:
    """How contact names are compared: case- and spacing-insensitive."""
    return " ".join(name.casefold().split())


class Repo:
    """The queries one command needs, inside its transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- members ---------------------------------------------------------------------

    async def find_member(self, platform: str, workspace: str, user_id: str) -> Member | None:
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

    async def ensure_member(
        self, platform: str, workspace: str, user_id: str, *, now: datetime
    ) -> Member:
        """Return the member, creating the workspace and member rows on first contact."""
        member = await self.find_member(platform, workspace, user_id)
        if member is not None:
            return member
        ws = await self._ensure_workspace(platform, workspace, now)
        try:
            async with self.session.begin_nested():
                member = Member(workspace_id=ws.id, user_id=user_id, created_at=now)
                self.session.add(member)
        except IntegrityError:  # another process created it first
            member = await self.find_member(platform, workspace, user_id)
            assert member is not None
        await self.session.refresh(member, ["workspace"])
        return member

    async def _ensure_workspace(self, platform: str, external_id: str, now: datetime) -> Workspace:
        stmt = select(Workspace).where(
            Workspace.platform == platform, Workspace.external_id == external_id
        )
        ws = (await self.session.execute(stmt)).scalar_one_or_none()
        if ws is not None:
            return ws
        try:
            async with self.session.begin_nested():
                ws = Workspace(platform=platform, external_id=external_id, created_at=now)
                self.session.add(ws)
        except IntegrityError:
            ws = (await self.session.execute(stmt)).scalar_one()
        return ws

    async def allocate_seq(self, member: Member) -> int:
        """The next short id for one of the member's meetings or requests (1, 2, 3...)."""
        stmt = (
            update(Member)
            .where(Member.id == member.id)
            .values(next_seq=Member.next_seq + 1)
            .returning(Member.next_seq)
        )
        seq = (await self.session.execute(stmt)).scalar_one()
        member.next_seq = seq
        return seq

    # -- contacts --------------------------------------------------------------------

    async def contact_by_name(self, member_id: int, name: str) -> Contact | None:
        stmt = select(Contact).where(
            Contact.member_id == member_id, Contact.name_key == name_key(name)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def contact_names(self, member_id: int) -> list[str]:
        stmt = select(Contact.name).where(Contact.member_id == member_id).order_by(Contact.name)
        return list((await self.session.execute(stmt)).scalars())

    async def referrals_of(self, member_id: int, contact_id: int) -> Sequence[Contact]:
        stmt = (
            select(Contact)
            .where(Contact.member_id == member_id, Contact.referred_by_id == contact_id)
            .order_by(Contact.name)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # -- meetings and requests -------------------------------------------------------

    async def item_by_seq(self, member_id: int, seq: int) -> Meeting | OutreachRequest | None:
        meeting = (
            await self.session.execute(
                select(Meeting).where(Meeting.member_id == member_id, Meeting.seq == seq)
            )
        ).scalar_one_or_none()
        if meeting is not None:
            return meeting
        return (
            await self.session.execute(
                select(OutreachRequest).where(
                    OutreachRequest.member_id == member_id, OutreachRequest.seq == seq
                )
            )
        ).scalar_one_or_none()

    async def upcoming_meetings(
        self, member_id: int, now: datetime, limit: int
    ) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id, Meeting.held_at > now)
            .order_by(Meeting.held_at, Meeting.seq)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def recent_meetings(self, member_id: int, now: datetime, limit: int) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id, Meeting.held_at <= now)
            .order_by(Meeting.held_at.desc(), Meeting.seq.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open_requests(self, member_id: int, limit: int) -> Sequence[OutreachRequest]:
        stmt = (
            select(OutreachRequest)
            .where(OutreachRequest.member_id == member_id, OutreachRequest.status == "pending")
            .order_by(OutreachRequest.sent_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_meetings(self, member_id: int, now: datetime) -> tuple[int, int]:
        """How many meetings are upcoming and how many have happened."""
        upcoming = func.count().filter(Meeting.held_at > now)
        stmt = select(upcoming, func.count() - upcoming).where(Meeting.member_id == member_id)
        row = (await self.session.execute(stmt)).one()
        return int(row[0]), int(row[1])

    async def count_open_requests(self, member_id: int) -> int:
        stmt = select(func.count()).where(
            OutreachRequest.member_id == member_id, OutreachRequest.status == "pending"
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def meetings_with(self, member_id: int, contact_id: int) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id, Meeting.contact_id == contact_id)
            .order_by(Meeting.held_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def requests_to(self, member_id: int, contact_id: int) -> Sequence[OutreachRequest]:
        stmt = (
            select(OutreachRequest)
            .where(OutreachRequest.member_id == member_id, OutreachRequest.contact_id == contact_id)
            .order_by(OutreachRequest.sent_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def pending_requests_to(
        self, member_id: int, contact_id: int
    ) -> Sequence[OutreachRequest]:
        stmt = (
            select(OutreachRequest)
            .where(
                OutreachRequest.member_id == member_id,
                OutreachRequest.contact_id == contact_id,
                OutreachRequest.status == "pending",
            )
            .order_by(OutreachRequest.sent_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # -- prompts ---------------------------------------------------------------------

    async def seen_questions(self, member_id: int, category: str) -> set[str]:
        stmt = select(PromptSeen.question_id).where(
            PromptSeen.member_id == member_id, PromptSeen.category == category
        )
        return set((await self.session.execute(stmt)).scalars())

    async def forget_seen(self, member_id: int, category: str) -> None:
        await self.session.execute(
            delete(PromptSeen).where(
                PromptSeen.member_id == member_id, PromptSeen.category == category
            )
        )

    def add(self, row: object) -> None:
        self.session.add(row)

    async def delete(self, row: object) -> None:
        await self.session.delete(row)

    async def flush(self) -> None:
        await self.session.flush()
