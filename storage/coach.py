"""Queries for coaches (cohort counts, the audit) and for a member's own data (export,
erasure).

A coach's queries return counts and members' names only: never a contact, a note or a
follow-up. Every query is scoped to one workspace.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, column, delete, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import on_platforms
from storage.enums import CheckinAnswer, NudgeStatus
from storage.models import (
    AuditEvent,
    Contact,
    Landing,
    Meeting,
    Member,
    Nudge,
    OutreachRequest,
    PracticeRound,
    PracticeSeat,
    PromptSeen,
    StoredPayload,
    Workspace,
)

__all__ = ["CoachRepo", "MemberCounts", "WeekCounts"]

THANKS_WINDOW = timedelta(hours=24)
_WEEK = timedelta(weeks=1)

# slack_sdk's installation store (migration 0004): who installed the app, per workspace.
_SLACK_INSTALLATIONS = table(
    "slack_installations",
    column("team_id"),
    column("user_id"),
    column("user_token"),
    column("user_scopes"),
    column("user_refresh_token"),
    column("user_token_expires_at"),
)


@dataclass
class MemberCounts:
    """One member's activity in a window: counts only."""

    member_id: int
    name: str
    joined_at: datetime
    last_seen_at: datetime | None
    unreachable: bool
    left: bool
    practice: str
    requests: int = 0
    replies: int = 0
    meetings: int = 0
    # Meetings whose 24 hours have passed (or that were thanked): the thank-you rate's base.
    thanks_due: int = 0
    thanks_on_time: int = 0
    followups_done: int = 0
    practice_met: int = 0


@dataclass
class WeekCounts:
    """The cohort's meetings held and thank-yous sent in each week of a window."""

    starts: list[datetime]
    meetings: list[int] = field(default_factory=list)
    thanks: list[int] = field(default_factory=list)


class CoachRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- cohort counts ---------------------------------------------------------------

    async def member_counts(
        self,
        workspace_id: int,
        *,
        start: datetime,
        now: datetime,
        follow_up_kinds: Sequence[str],
    ) -> list[MemberCounts]:
        """Every member of the workspace but its coaches, with their counts between ``start``
        and ``now``. A follow-up done is a reminder of ``follow_up_kinds`` marked done."""
        members = (
            await self.session.scalars(
                select(Member)
                .where(Member.workspace_id == workspace_id, Member.coach_since.is_(None))
                .order_by(Member.id)
            )
        ).all()
        rows = {
            m.id: MemberCounts(
                member_id=m.id,
                name=m.display_name or m.user_id,
                joined_at=m.created_at,
                last_seen_at=m.last_seen_at,
                unreachable=m.unreachable_at is not None,
                left=not m.active,
                practice=m.practice,
            )
            for m in members
        }
        requests = (
            select(
                OutreachRequest.member_id,
                func.count(),
                func.count(OutreachRequest.replied_at),
            )
            .where(
                OutreachRequest.workspace_id == workspace_id,
                OutreachRequest.sent_at > start,
                OutreachRequest.sent_at <= now,
            )
            .group_by(OutreachRequest.member_id)
        )
        for member_id, sent, replied in await self.session.execute(requests):
            if member_id in rows:
                rows[member_id].requests, rows[member_id].replies = sent, replied
        meetings = select(Meeting.member_id, Meeting.held_at, Meeting.thanks_at).where(
            Meeting.workspace_id == workspace_id,
            Meeting.held_at > start,
            Meeting.held_at <= now,
        )
        window = now - THANKS_WINDOW
        for member_id, held_at, thanks_at in await self.session.execute(meetings):
            row = rows.get(member_id)
            if row is None:
                continue
            row.meetings += 1
            if thanks_at is not None or held_at <= window:
                row.thanks_due += 1
            if thanks_at is not None and thanks_at - held_at <= THANKS_WINDOW:
                row.thanks_on_time += 1
        followups = (
            select(Nudge.member_id, func.count())
            .where(
                Nudge.workspace_id == workspace_id,
                Nudge.kind.in_(follow_up_kinds),
                Nudge.status == NudgeStatus.DONE,
                Nudge.updated_at > start,
                Nudge.updated_at <= now,
            )
            .group_by(Nudge.member_id)
        )
        for member_id, done in await self.session.execute(followups):
            if member_id in rows:
                rows[member_id].followups_done = done
        practice = (
            select(PracticeSeat.member_id, func.count())
            .join(PracticeRound, PracticeRound.id == PracticeSeat.round_id)
            .where(
                PracticeSeat.workspace_id == workspace_id,
                PracticeSeat.member_id.is_not(None),
                PracticeSeat.answer == CheckinAnswer.YES,
                PracticeRound.started_at > start,
            )
            .group_by(PracticeSeat.member_id)
        )
        for seated, met in await self.session.execute(practice):
            if seated in rows:
                rows[seated].practice_met = met
        return list(rows.values())

    async def weekly(self, workspace_id: int, starts: list[datetime]) -> WeekCounts:
        """Meetings held and thank-yous sent per week; ``starts`` are the weeks' first
        moments, oldest first, each week ending where the next starts (the last a week on)."""
        counts = WeekCounts(starts=starts, meetings=[0] * len(starts), thanks=[0] * len(starts))
        if not starts:
            return counts
        first, end = starts[0], starts[-1] + (starts[-1] - starts[-2] if len(starts) > 1 else _WEEK)

        def bucket(moment: datetime) -> int | None:
            if not first <= moment < end:
                return None
            index = len(starts) - 1
            while starts[index] > moment:
                index -= 1
            return index

        stmt = select(Meeting.held_at, Meeting.thanks_at).where(
            Meeting.workspace_id == workspace_id,
            (
                and_(Meeting.held_at >= first, Meeting.held_at < end)
                | and_(Meeting.thanks_at >= first, Meeting.thanks_at < end)
            ),
        )
        for held_at, thanks_at in await self.session.execute(stmt):
            held = bucket(held_at)
            if held is not None:
                counts.meetings[held] += 1
            thanked = bucket(thanks_at) if thanks_at is not None else None
            if thanked is not None:
                counts.thanks[thanked] += 1
        return counts

    async def digest_due(
        self, now: datetime, limit: int = 50, *, platforms: Collection[str] | None = None
    ) -> Sequence[tuple[int, datetime]]:
        """Coaches (of workspaces on ``platforms``; None: all) whose weekly digest is due:
        (member id, when it was due)."""
        stmt = (
            select(Member.id, Member.digest_next_at)
            .where(
                Member.digest_next_at.is_not(None),
                Member.digest_next_at <= now,
                on_platforms(Member.workspace_id, platforms),
            )
            .order_by(Member.digest_next_at)
            .limit(limit)
        )
        return [
            (member_id, due)
            for member_id, due in await self.session.execute(stmt)
            if due is not None
        ]

    async def move_digest(self, member_id: int, *, was: datetime, to: datetime) -> bool:
        """Move a digest's due time from ``was`` to ``to``; False if someone else moved it
        first (another process took this digest)."""
        stmt = (
            update(Member)
            .where(Member.id == member_id, Member.digest_next_at == was)
            .values(digest_next_at=to)
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(stmt)).rowcount) == 1  # type: ignore[attr-defined]

    # -- audit -----------------------------------------------------------------------

    def record(
        self,
        workspace_id: int,
        *,
        at: datetime,
        action: str,
        detail: str = "",
        actor: Member | None = None,
    ) -> None:
        """Add an audit event. ``detail`` must never hold a note or a contact."""
        self.session.add(
            AuditEvent(
                workspace_id=workspace_id,
                at=at,
                actor_user_id=actor.user_id if actor is not None else None,
                actor_name=(actor.display_name or actor.user_id) if actor is not None else None,
                action=action,
                detail=detail[:200],
            )
        )

    async def audit(self, workspace_id: int, *, limit: int = 20) -> Sequence[AuditEvent]:
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.workspace_id == workspace_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    # -- a member's own data ---------------------------------------------------------

    async def contacts_of(self, member_id: int) -> Sequence[Contact]:
        stmt = select(Contact).where(Contact.member_id == member_id).order_by(Contact.name_key)
        return (await self.session.scalars(stmt)).all()

    async def meetings_of(self, member_id: int) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id)
            .order_by(Meeting.held_at, Meeting.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def requests_of(self, member_id: int) -> Sequence[OutreachRequest]:
        stmt = (
            select(OutreachRequest)
            .where(OutreachRequest.member_id == member_id)
            .order_by(OutreachRequest.sent_at, OutreachRequest.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def erase(self, member: Member, workspace: Workspace) -> int:
        """Delete every row about ``member``; return how many went.

        Practice seats stay, without the member, so the others' history keeps its counts;
        buttons drawn for them (kept payloads) go; their name leaves the audit.
        """
        removed = 0
        member_id = member.id
        for model in (Nudge, Meeting, OutreachRequest, Landing, PromptSeen, Contact):
            result = await self.session.execute(
                delete(model)
                .where(model.member_id == member_id)
                .execution_options(synchronize_session=False)
            )
            removed += int(result.rowcount)  # type: ignore[attr-defined]
        await self.session.execute(
            update(PracticeSeat)
            .where(PracticeSeat.member_id == member_id)
            .values(member_id=None)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(
            delete(StoredPayload)
            .where(
                StoredPayload.platform == workspace.platform,
                StoredPayload.workspace == workspace.external_id,
                StoredPayload.user_id == member.user_id,
            )
            .execution_options(synchronize_session=False)
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
        await self.session.execute(
            update(AuditEvent)
            .where(
                AuditEvent.workspace_id == workspace.id,
                AuditEvent.actor_user_id == member.user_id,
            )
            .values(actor_user_id=None, actor_name=None)
            .execution_options(synchronize_session=False)
        )
        if workspace.platform == "slack":
            # The Slack install they approved keeps working; who approved it is forgotten.
            result = await self.session.execute(
                update(_SLACK_INSTALLATIONS)
                .where(
                    _SLACK_INSTALLATIONS.c.team_id == workspace.external_id,
                    _SLACK_INSTALLATIONS.c.user_id == member.user_id,
                )
                .values(
                    user_id="",
                    user_token=None,
                    user_scopes=None,
                    user_refresh_token=None,
                    user_token_expires_at=None,
                )
            )
            removed += int(result.rowcount)  # type: ignore[attr-defined]
        await self.session.delete(member)
        await self.session.flush()
        return removed + 1
