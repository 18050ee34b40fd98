"""Use cases of every member's data rights: take their data away (a spreadsheet and a
calendar), or erase everything Tiara knows about them.

Each takes the member's :class:`~bot.usecases.Scope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.coach.export import export_csv, export_ics
from bot.usecases import Scope
from storage.models import Contact, Meeting, OutreachRequest

__all__ = [
    "Erasure",
    "ErasureSummary",
    "MemberData",
    "erase_member",
    "erasure_summary",
    "member_data",
]


@dataclass(frozen=True)
class MemberData:
    """A member's rows, read in the transaction; the files are written from them after
    it (``csv``, ``ics``), so the database isn't held meanwhile."""

    contacts: tuple[Contact, ...]
    requests: tuple[OutreachRequest, ...]
    meetings: tuple[Meeting, ...]
    upcoming: tuple[Meeting, ...]  # the meetings still to come, for the calendar
    now: datetime
    tz: str
    calendar_key: str  # keeps the calendar's event ids the same from one export to the next

    def csv(self) -> bytes:
        return export_csv(self.contacts, self.requests, self.meetings, tz=self.tz)

    def ics(self) -> bytes:
        return export_ics(self.upcoming, now=self.now, calendar_key=self.calendar_key)


async def member_data(scope: Scope) -> MemberData:
    """Everything the member saved: contacts, requests and meetings."""
    member, coach = scope.member, scope.uow.coach
    meetings = tuple(await coach.meetings_of(member.id))
    return MemberData(
        contacts=tuple(await coach.contacts_of(member.id)),
        requests=tuple(await coach.requests_of(member.id)),
        meetings=meetings,
        upcoming=tuple(m for m in meetings if m.held_at > scope.now),
        now=scope.now,
        tz=scope.tz,
        calendar_key=f"{member.workspace_id}:{member.id}",
    )


@dataclass(frozen=True)
class ErasureSummary:
    """What erasing would delete, to say so before the member confirms."""

    contacts: int
    meetings: int


async def erasure_summary(scope: Scope) -> ErasureSummary:
    tracker, member_id = scope.uow.tracker, scope.member.id
    meetings = sum(await tracker.count_meetings(member_id, scope.now))
    return ErasureSummary(len(await tracker.contact_names(member_id)), meetings)


@dataclass(frozen=True)
class Erasure:
    rows: int  # how many rows went


async def erase_member(scope: Scope) -> Erasure:
    """Erase every row about the member (practice partners keep a nameless count); the
    audit log records that a member was erased, naming no one."""
    member = scope.member
    ws = member.workspace
    removed = await scope.uow.coach.erase(member, ws)
    scope.uow.coach.record(ws.id, at=scope.now, action="erased", detail=f"{removed} rows")
    return Erasure(removed)
