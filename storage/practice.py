"""Queries of peer practice: rounds, groups, seats, and who takes part."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from storage.common import lease_rows, on_platforms
from storage.enums import NudgeStatus, PracticeStatus
from storage.models import (
    Member,
    Nudge,
    PracticeGroup,
    PracticeRound,
    PracticeSeat,
    Workspace,
)

__all__ = ["WAITING_FOR", "PracticeRepo"]

# How long a "practice now" request waits for someone else to ask.
WAITING_FOR = timedelta(days=7)


_SEAT_DETAILS = (
    selectinload(PracticeSeat.group).selectinload(PracticeGroup.round),
    selectinload(PracticeSeat.group)
    .selectinload(PracticeGroup.seats)
    .selectinload(PracticeSeat.member),
)


_SEAT = aliased(PracticeSeat)


class PracticeRepo:
    """Peer-practice queries inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- rounds ----------------------------------------------------------------------

    async def workspaces_due(self, now: datetime) -> list[tuple[int, datetime]]:
        """Workspaces whose next round should start by ``now``, with its planned time."""
        stmt = select(Workspace.id, Workspace.next_round_at).where(Workspace.next_round_at <= now)
        return [(ws_id, at) for ws_id, at in await self.session.execute(stmt) if at is not None]

    async def take_slot(self, workspace_id: int, slot: datetime, following: datetime) -> bool:
        """Claim the round planned at ``slot``, moving the next one to ``following``.

        False when another process took it first.
        """
        stmt = (
            update(Workspace)
            .where(Workspace.id == workspace_id, Workspace.next_round_at == slot)
            .values(next_round_at=following)
            .returning(Workspace.id)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def lock_workspace(self, workspace_id: int) -> None:
        """Hold the workspace row until the transaction ends (PostgreSQL; SQLite's
        transactions already hold the whole database)."""
        await self.session.execute(
            select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
        )

    async def next_round_number(self, workspace_id: int) -> int:
        """The number of the scheduled round about to start: 1, 2, 3... among the
        workspace's scheduled rounds. Pairings on demand take none (their number is 0)."""
        stmt = (
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(rounds_held=Workspace.rounds_held + 1)
            .returning(Workspace.rounds_held)
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def candidates(self, workspace_id: int, now: datetime) -> Sequence[Member]:
        """Members to pair now: joined, not paused (or their pause is over), reachable."""
        stmt = (
            select(Member)
            .where(
                Member.workspace_id == workspace_id,
                Member.active.is_(True),
                Member.unreachable_at.is_(None),
                or_(
                    Member.practice == PracticeStatus.ACTIVE,
                    and_(
                        Member.practice == PracticeStatus.PAUSED,
                        Member.practice_paused_until <= now,
                    ),
                ),
            )
            .order_by(Member.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def met_history(self, workspace_id: int) -> dict[int, dict[int, int]]:
        """met[a][b]: when members a and b were last grouped, as that round's id (higher is
        more recent). Ids, not numbers: a pairing on demand has no number but counts too."""
        stmt = select(PracticeSeat.group_id, PracticeSeat.member_id, PracticeSeat.round_id).where(
            PracticeSeat.workspace_id == workspace_id, PracticeSeat.member_id.is_not(None)
        )
        groups: dict[int, list[int]] = defaultdict(list)
        round_of: dict[int, int] = {}
        for group_id, member_id, round_id in await self.session.execute(stmt):
            if member_id is not None:
                groups[group_id].append(member_id)
            round_of[group_id] = round_id
        met: dict[int, dict[int, int]] = defaultdict(dict)
        for group_id, members in groups.items():
            when = round_of[group_id]
            for a in members:
                for b in members:
                    if a != b and met[a].get(b, -1) < when:
                        met[a][b] = when
        return dict(met)

    async def running_round(self, workspace_id: int, now: datetime) -> PracticeRound | None:
        """The scheduled round still running at ``now`` (the latest, should two overlap)."""
        stmt = (
            select(PracticeRound)
            .where(
                PracticeRound.workspace_id == workspace_id,
                PracticeRound.on_demand.is_(False),
                PracticeRound.closed_at.is_(None),
                PracticeRound.ends_at > now,
            )
            .order_by(PracticeRound.ends_at.desc(), PracticeRound.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def end_early(self, rnd: PracticeRound, now: datetime) -> None:
        """End ``rnd`` now: it closes at the next tick, and its check-ins and reminders
        still to come are cancelled (they would ask about partners no longer current)."""
        rnd.ends_at = now
        await self.session.execute(
            update(Nudge)
            .where(Nudge.practice_round_id == rnd.id, Nudge.status == NudgeStatus.PENDING)
            .values(status=NudgeStatus.CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    async def turns_so_far(self, member_ids: Collection[int]) -> dict[int, tuple[bool, int]]:
        """For each member who practised before: (whether they played the professional
        first in their latest group, how many times they have). The first seat of a
        group is the one who plays first."""
        if not member_ids:
            return {}
        first = (
            select(func.min(PracticeSeat.id))
            .where(PracticeSeat.group_id == _SEAT.group_id)
            .correlate(_SEAT)
            .scalar_subquery()
        )
        stmt = (
            select(_SEAT.member_id, _SEAT.id == first)
            .where(_SEAT.member_id.in_(member_ids))
            .order_by(_SEAT.group_id)
        )
        out: dict[int, tuple[bool, int]] = {}
        for member_id, was_first in await self.session.execute(stmt):
            if member_id is None:
                continue
            times = out.get(member_id, (False, 0))[1]
            out[member_id] = (bool(was_first), times + bool(was_first))
        return out

    async def ended_open_rounds(self, now: datetime) -> Sequence[PracticeRound]:
        stmt = (
            select(PracticeRound)
            .where(PracticeRound.closed_at.is_(None), PracticeRound.ends_at <= now)
            .order_by(PracticeRound.id)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def seats_of_round(self, round_id: int) -> Sequence[PracticeSeat]:
        stmt = (
            select(PracticeSeat)
            .where(PracticeSeat.round_id == round_id)
            .options(selectinload(PracticeSeat.member), selectinload(PracticeSeat.group))
            .order_by(PracticeSeat.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def next_event(self, *, after: datetime, until: datetime) -> datetime | None:
        """The next round start, round end or held plan in (after, until], for the
        console's clock. A plan held for its group's quiet hours waits in its lease."""
        starts = select(func.min(Workspace.next_round_at)).where(
            Workspace.next_round_at > after, Workspace.next_round_at <= until
        )
        ends = select(func.min(PracticeRound.ends_at)).where(
            PracticeRound.closed_at.is_(None),
            PracticeRound.ends_at > after,
            PracticeRound.ends_at <= until,
        )
        held = select(func.min(PracticeGroup.lease_until)).where(
            PracticeGroup.plan_sent_at.is_(None),
            PracticeGroup.lease_until > after,
            PracticeGroup.lease_until <= until,
        )
        found = [
            v
            for v in (
                (await self.session.execute(starts)).scalar_one_or_none(),
                (await self.session.execute(ends)).scalar_one_or_none(),
                (await self.session.execute(held)).scalar_one_or_none(),
            )
            if v is not None
        ]
        return min(found) if found else None

    # -- sending announcements and plans ----------------------------------------------

    async def claim_unsent(
        self,
        model: type[PracticeRound] | type[PracticeGroup],
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int = 200,
        platforms: Collection[str] | None = None,
    ) -> list[int]:
        """Lease rounds not yet announced, or groups whose plan is not yet sent (of
        workspaces on ``platforms``; None: all), of rounds still running: a plan held by
        quiet hours past its round's end (ended early by a coach, or after an outage)
        would only give a deadline already gone."""
        sent: Any = (
            PracticeRound.announced_at if model is PracticeRound else PracticeGroup.plan_sent_at
        )
        ours = and_(
            on_platforms(PracticeRound.workspace_id, platforms), PracticeRound.ends_at > now
        )
        if model is PracticeGroup:
            ours = PracticeGroup.round_id.in_(select(PracticeRound.id).where(ours))
        stmt = (
            select(model.id)
            .where(
                sent.is_(None),
                or_(model.lease_until.is_(None), model.lease_until <= now),
                ours,
            )
            .order_by(model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(await self.session.scalars(stmt))
        await lease_rows(self.session, model, ids, lease_until=lease_until, token=token)
        return ids

    async def mark_sent(
        self,
        model: type[PracticeRound] | type[PracticeGroup],
        ids: Sequence[int],
        *,
        token: str,
        now: datetime,
    ) -> None:
        if not ids:
            return
        column = "announced_at" if model is PracticeRound else "plan_sent_at"
        await self.session.execute(
            update(model)
            .where(model.id.in_(ids), model.claim_token == token)
            .values({column: now, "lease_until": None, "claim_token": None})
            .execution_options(synchronize_session=False)
        )

    async def rounds_with_groups(self, ids: Sequence[int]) -> Sequence[PracticeRound]:
        stmt = (
            select(PracticeRound)
            .where(PracticeRound.id.in_(ids))
            .options(
                selectinload(PracticeRound.groups)
                .selectinload(PracticeGroup.seats)
                .selectinload(PracticeSeat.member)
            )
        )
        return (await self.session.scalars(stmt)).all()

    async def groups_with_seats(self, ids: Sequence[int]) -> Sequence[PracticeGroup]:
        stmt = (
            select(PracticeGroup)
            .where(PracticeGroup.id.in_(ids))
            .options(
                selectinload(PracticeGroup.round),
                selectinload(PracticeGroup.seats).selectinload(PracticeSeat.member),
            )
        )
        return (await self.session.scalars(stmt)).all()

    # -- one member ------------------------------------------------------------------

    async def seats_of(self, member_id: int, *, limit: int = 10) -> Sequence[PracticeSeat]:
        """The member's seats, latest round first, with their group and partners."""
        stmt = (
            select(PracticeSeat)
            .where(PracticeSeat.member_id == member_id)
            .options(*_SEAT_DETAILS)
            .order_by(PracticeSeat.round_id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def seat_in(self, round_id: int, member_id: int) -> PracticeSeat | None:
        """The member's seat in one round, with the group, the round and the partners."""
        stmt = (
            select(PracticeSeat)
            .where(PracticeSeat.round_id == round_id, PracticeSeat.member_id == member_id)
            .options(*_SEAT_DETAILS)
        )
        return (await self.session.scalars(stmt)).first()

    async def count_rounds_of(self, member_id: int) -> int:
        stmt = select(func.count()).where(PracticeSeat.member_id == member_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def waiting_partner(self, member: Member, now: datetime) -> Member | None:
        """Someone else in the workspace who asked for a partner and is still waiting."""
        stmt = (
            select(Member)
            .where(
                Member.workspace_id == member.workspace_id,
                Member.id != member.id,
                Member.practice_waiting_since > now - WAITING_FOR,
                Member.unreachable_at.is_(None),
                Member.active.is_(True),
            )
            .order_by(Member.practice_waiting_since, Member.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=Member)
        )
        return (await self.session.scalars(stmt)).first()
