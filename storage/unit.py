"""The unit of work: one transaction's session and the repositories that query in it."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from storage.coach import CoachRepo
from storage.inbox import InboxRepo
from storage.members import MemberRepo
from storage.nudges import NudgeRepo
from storage.practice import PracticeRepo
from storage.tracker import TrackerRepo

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """What one command (or one step of a tick) reads and writes, in one transaction.

    Each area has its repository: ``members`` (and workspaces), ``inbox`` (events and
    payloads from the platforms), ``tracker`` (contacts, meetings, requests...),
    ``nudges``, ``practice`` and ``coach``. They share one session, and what this
    transaction added (``is_new``): the nudges planned about a row added here are all in
    memory, so none is looked up.

    ``Store.unit()`` opens one and commits it; ``session`` is there for the rare raw
    query.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Rows added in this transaction: nothing in the database refers to them yet.
        self._added: set[object] = set()
        self.members = MemberRepo(session, self._added)
        self.inbox = InboxRepo(session)
        self.tracker = TrackerRepo(session)
        self.nudges = NudgeRepo(session, self._added)

    @cached_property
    def practice(self) -> PracticeRepo:
        return PracticeRepo(self.session)

    @cached_property
    def coach(self) -> CoachRepo:
        return CoachRepo(self.session)

    def add(self, row: object) -> None:
        """Add a new row (a contact, a meeting...); a nudge goes through ``nudges.add``."""
        self.session.add(row)
        self._added.add(row)

    def is_new(self, row: object) -> bool:
        """Whether ``row`` (a member, meeting, contact...) was added in this transaction."""
        return row in self._added

    async def delete(self, row: object) -> None:
        await self.session.delete(row)

    async def flush(self) -> None:
        await self.session.flush()
