"""The networking tracker: a member's contacts, meetings and requests (with their short
ids), the questions already shown to them, and what they landed. Every read is scoped
to one member, so one member never sees another's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.enums import RequestStatus
from storage.members import ITEM_COUNTERS
from storage.models import Contact, Landing, Meeting, OutreachRequest, PromptSeen

__all__ = ["TrackerRepo", "name_key"]


def name_key(name: str) -> str:
    """How contact names are compared: case- and spacing-insensitive."""
    return " ".join(name.casefold().split())


class TrackerRepo:
    """A member's contacts, meetings, requests and more inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- contacts --------------------------------------------------------------------

    async def contact_by_name(self, member_id: int, name: str) -> Contact | None:
        """The member's contact called ``name`` (any case), with whoever referred them."""
        stmt = (
            select(Contact)
            .where(Contact.member_id == member_id, Contact.name_key == name_key(name))
            .options(joinedload(Contact.referred_by))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def contact_by_id(self, member_id: int, contact_id: int) -> Contact | None:
        """The member's contact ``contact_id``: without a query when already loaded."""
        contact = await self.session.get(Contact, contact_id)
        return contact if contact is not None and contact.member_id == member_id else None

    async def contacts_by_id(self, member_id: int, ids: Sequence[int]) -> Sequence[Contact]:
        stmt = select(Contact).where(Contact.member_id == member_id, Contact.id.in_(ids))
        return (await self.session.execute(stmt)).scalars().all()

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

    async def contacts_met(self, member_id: int, now: datetime) -> Sequence[Contact]:
        """Everyone the member has met (a meeting that has happened), by name."""
        met = select(Meeting.contact_id).where(
            Meeting.member_id == member_id, Meeting.held_at <= now
        )
        stmt = (
            select(Contact)
            .where(Contact.member_id == member_id, Contact.id.in_(met))
            .order_by(Contact.name)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def has_met(self, member_id: int, contact_id: int, now: datetime) -> bool:
        stmt = select(func.count()).where(
            Meeting.member_id == member_id,
            Meeting.contact_id == contact_id,
            Meeting.held_at <= now,
        )
        return int((await self.session.execute(stmt)).scalar_one()) > 0

    # -- meetings and requests -------------------------------------------------------

    async def item_by_seq(
        self, member_id: int, seq: int, kind: str
    ) -> Meeting | OutreachRequest | None:
        """The member's meeting (``kind`` "M") or request ("R") numbered ``seq``."""
        if kind == "M":
            meeting = select(Meeting).where(Meeting.member_id == member_id, Meeting.seq == seq)
            return (await self.session.execute(meeting)).scalar_one_or_none()
        request = select(OutreachRequest).where(
            OutreachRequest.member_id == member_id, OutreachRequest.seq == seq
        )
        return (await self.session.execute(request)).scalar_one_or_none()

    async def items_by_seq(self, member_id: int, seq: int) -> list[Meeting | OutreachRequest]:
        """The member's meeting and request numbered ``seq``, the meeting first: both may
        exist (M3 and R3)."""
        items = [await self.item_by_seq(member_id, seq, kind) for kind in ITEM_COUNTERS]
        return [item for item in items if item is not None]

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

    async def meetings_between(
        self, member_id: int, start: datetime, end: datetime
    ) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id, Meeting.held_at > start, Meeting.held_at <= end)
            .order_by(Meeting.held_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def meetings_with(self, member_id: int, contact_id: int) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id, Meeting.contact_id == contact_id)
            .order_by(Meeting.held_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_meetings(self, member_id: int, now: datetime) -> tuple[int, int]:
        """How many meetings are upcoming and how many have happened."""
        upcoming = func.count().filter(Meeting.held_at > now)
        stmt = select(upcoming, func.count() - upcoming).where(Meeting.member_id == member_id)
        row = (await self.session.execute(stmt)).one()
        return int(row[0]), int(row[1])

    async def open_requests(self, member_id: int, limit: int) -> Sequence[OutreachRequest]:
        stmt = (
            select(OutreachRequest)
            .where(
                OutreachRequest.member_id == member_id,
                OutreachRequest.status == RequestStatus.PENDING,
            )
            .order_by(OutreachRequest.sent_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_open_requests(self, member_id: int) -> int:
        stmt = select(func.count()).where(
            OutreachRequest.member_id == member_id,
            OutreachRequest.status == RequestStatus.PENDING,
        )
        return int((await self.session.execute(stmt)).scalar_one())

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
                OutreachRequest.status == RequestStatus.PENDING,
            )
            .order_by(OutreachRequest.sent_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def unanswered_requests_in(self, workspace_id: int) -> Sequence[OutreachRequest]:
        """Every request of the workspace still waiting for a reply (with its contact)."""
        stmt = (
            select(OutreachRequest)
            .where(
                OutreachRequest.workspace_id == workspace_id,
                OutreachRequest.status == RequestStatus.PENDING,
            )
            .order_by(OutreachRequest.member_id, OutreachRequest.sent_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # -- questions seen --------------------------------------------------------------

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

    # -- landings and helpers --------------------------------------------------------

    async def latest_landing(self, member_id: int) -> Landing | None:
        stmt = (
            select(Landing)
            .where(Landing.member_id == member_id)
            .order_by(Landing.landed_at.desc(), Landing.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def helpers_of(self, member_id: int, now: datetime) -> list[str]:
        """Names of everyone who helped: people the member met, and who referred them."""
        met = await self.contacts_met(member_id, now)
        referrer_ids = [c.referred_by_id for c in met if c.referred_by_id is not None]
        names = {c.name for c in met}
        names |= {c.name for c in await self.contacts_by_id(member_id, referrer_ids)}
        return sorted(names, key=str.casefold)
