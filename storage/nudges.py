"""Nudges: planning them (with caches that spare a query per key), numbering them as
members see them, and claiming, settling and counting them for the scheduler. Every
member's read is scoped to that member."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    inspect,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from storage.common import lease_rows, on_platforms
from storage.enums import NudgeStatus
from storage.models import Member, Nudge, changed_by_member
from storage.nudge_ids import note_added

__all__ = ["NudgeFilter", "NudgeRepo"]

# Written into the SQL rather than sent as a parameter, so that PostgreSQL's generic plan
# for the prepared statement (used after its fifth run) can still use the partial index
# ix_nudges_pending_due (WHERE status = 'pending').
_PENDING: ColumnElement[str] = literal_column(f"'{NudgeStatus.PENDING}'")

# Nudges come with their subjects in the same query (outer joins), whether one member's
# few or a tick's batch of a thousand: for a batch, that took 0.07 s where a query per
# kind of subject (selectinload, in chunks of 500) took 0.11 s on PostgreSQL.
_NUDGE_SUBJECTS = (
    joinedload(Nudge.meeting),
    joinedload(Nudge.request),
    joinedload(Nudge.contact),
)


@dataclass(frozen=True)
class NudgeFilter:
    """Which of a member's nudges: by status and kind, and about which meeting, request
    or contact (None: any)."""

    statuses: Collection[str] = (NudgeStatus.PENDING,)
    kinds: Collection[str] = ()
    meeting_id: int | None = None
    request_id: int | None = None
    contact_id: int | None = None

    def clause(self) -> ColumnElement[bool]:
        return and_(
            Nudge.status.in_(self.statuses),
            *([Nudge.kind.in_(self.kinds)] if self.kinds else []),
            *([Nudge.meeting_id == self.meeting_id] if self.meeting_id is not None else []),
            *([Nudge.request_id == self.request_id] if self.request_id is not None else []),
            *([Nudge.contact_id == self.contact_id] if self.contact_id is not None else []),
        )

    def matches(self, nudge: Nudge) -> bool:
        """What ``clause`` says, of a nudge in memory."""
        return (
            nudge.status in self.statuses
            and (not self.kinds or nudge.kind in self.kinds)
            and self.meeting_id in (None, nudge.meeting_id)
            and self.request_id in (None, nudge.request_id)
            and self.contact_id in (None, nudge.contact_id)
        )


class NudgeRepo:
    """Queries of nudges inside one transaction, with what this transaction planned.

    ``added``: the rows added in this transaction (UnitOfWork.is_new): nothing in the
    database refers to those rows yet, so the nudges about them are all among the nudges
    added here, and are found without a query.
    """

    def __init__(self, session: AsyncSession, added: set[object] | None = None) -> None:
        self.session = session
        self._added = added if added is not None else set()
        # Filled by preload (a whole tick's batch at once, or a command's few keys).
        self._keyed: dict[tuple[int, str], Nudge | None] = {}
        # The nudges added in this transaction, by member and key.
        self._new_nudges: dict[tuple[int, str], Nudge] = {}

    # -- planning --------------------------------------------------------------------

    async def by_key(self, member_id: int, key: str) -> Nudge | None:
        if (member_id, key) in self._keyed:
            return self._keyed[member_id, key]
        stmt = select(Nudge).where(Nudge.member_id == member_id, Nudge.dedupe_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def cancel_keys(self, member_id: int, keys: Sequence[str], now: datetime) -> None:
        """Cancel the member's nudges with these keys that are still to be sent."""
        for key in keys:
            nudge = await self.by_key(member_id, key)
            if nudge is not None and nudge.status == NudgeStatus.PENDING:
                nudge.status = NudgeStatus.CANCELLED
                changed_by_member(nudge, now)

    async def preload(self, keys: Collection[tuple[int, str]]) -> None:
        """Look up many (member, dedupe key) nudges in one query; by_key then answers for
        those keys from memory, "none" included."""
        keys = {pair for pair in keys if pair not in self._keyed}
        if not keys:
            return
        stmt = select(Nudge).where(
            Nudge.member_id.in_({member_id for member_id, _ in keys}),
            Nudge.dedupe_key.in_({key for _, key in keys}),
        )
        found = {(n.member_id, n.dedupe_key): n for n in (await self.session.scalars(stmt))}
        for pair in keys:
            self._keyed[pair] = found.get(pair)

    def add(self, nudge: Nudge) -> None:
        """Add a planned nudge, without its short id: it gets one when the member first
        sees it (number), or the id of the one it replaces (storage.nudge_ids)."""
        self.session.add(nudge)
        note_added(self.session.sync_session, nudge)
        pair = (nudge.member_id, nudge.dedupe_key)
        self._new_nudges[pair] = nudge
        if pair in self._keyed:  # preloaded as "none"
            self._keyed[pair] = nudge

    def keys_of_new_rows(self, member_id: int, keys: Iterable[str | None]) -> None:
        """These keys name rows added in this transaction (UnitOfWork.is_new): only a
        nudge added since can carry one, so by_key answers for them without a query."""
        for key in keys:
            if key is not None:
                pair = (member_id, key)
                self._keyed.setdefault(pair, self._new_nudges.get(pair))

    async def preload_about(
        self, row: object, member_id: int, keys: Collection[str | None]
    ) -> None:
        """preload for keys that name ``row``: without a query when it is new."""
        if row in self._added:
            self.keys_of_new_rows(member_id, keys)
        else:
            await self.preload({(member_id, key) for key in keys if key is not None})

    def added(self, member_id: int, which: NudgeFilter) -> list[Nudge]:
        """The nudges of ``which`` among those added in this transaction, without a query:
        all there is about a row that is new."""
        return [
            n for n in self._new_nudges.values() if n.member_id == member_id and which.matches(n)
        ]

    async def to_close(
        self, member_id: int, which: NudgeFilter, *, load_keys: Collection[str | None] = ()
    ) -> list[Nudge]:
        """The member's nudges of ``which`` (without their subjects, in no order), and in
        the same query the nudges named by ``load_keys``, which by_key then answers from
        memory ("none" included)."""
        keys = {k for k in load_keys if k is not None and (member_id, k) not in self._keyed}
        wanted = which.clause()
        stmt = select(Nudge).where(
            Nudge.member_id == member_id,
            or_(wanted, Nudge.dedupe_key.in_(keys)) if keys else wanted,
        )
        found = (await self.session.execute(stmt)).scalars().all()
        by_key = {n.dedupe_key: n for n in found}
        for key in keys:
            self._keyed[member_id, key] = by_key.get(key)
        # The rows that came for their key alone are not to be closed.
        return [n for n in found if which.matches(n)]

    async def cancel_pending(self, member_id: int, *, kinds: Sequence[str], now: datetime) -> int:
        stmt = (
            update(Nudge)
            .where(
                Nudge.member_id == member_id,
                Nudge.status == NudgeStatus.PENDING,
                Nudge.kind.in_(kinds),
            )
            .values(status=NudgeStatus.CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    # -- what a member sees ----------------------------------------------------------

    async def number(self, nudges: Sequence[Nudge], *, locked: bool = False) -> None:
        """Give short ids (N1, N2...) to those of ``nudges`` without one, as the member is
        about to see them, in the order given: each member's counter moves on by as many,
        in one UPDATE per batch (whatever the members), and the rows get their numbers in
        one executemany. A number given is never given again, so the ids a member sees
        count up without gaps: reminders never shown (a follow-up chain a reply cancelled,
        a kind the member stopped) take none.

        ``locked``: the rows are already locked by this transaction (claimed for sending).
        Otherwise they are locked first, nudges before members as a claim does, and a row
        another transaction numbered meanwhile keeps the number it got there.
        """
        waiting = list({id(n): n for n in nudges if n.seq is None}.values())
        if not waiting:
            return
        if not locked:
            lock = (
                select(Nudge.id, Nudge.seq)
                .where(Nudge.id.in_([n.id for n in waiting]))
                .with_for_update()
            )
            now_held: dict[int, int | None] = {
                row.id: row.seq for row in await self.session.execute(lock)
            }
            for nudge in waiting:
                seq = now_held.get(nudge.id)
                if seq is not None:
                    set_committed_value(nudge, "seq", seq)
            waiting = [n for n in waiting if n.seq is None and n.id in now_held]
            if not waiting:
                return
        # Round 1 numbers each member's first nudge, round 2 the second ones...: a
        # member's counter moves on by one a round, and each nudge of the round takes its
        # member's new count, with no list of numbers sent along.
        rounds: list[list[Nudge]] = []
        place: Counter[int] = Counter()
        for nudge in waiting:
            index = place[nudge.member_id]
            place[nudge.member_id] += 1
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(nudge)
        loaded = self.session.sync_session.identity_map
        member_key = inspect(Member).identity_key_from_primary_key
        for group in rounds:
            counter = (
                update(Member)
                .where(Member.id.in_(sorted({n.member_id for n in group})))
                .values(next_nudge_seq=Member.next_nudge_seq + 1)
                .returning(Member.id, Member.next_nudge_seq)
                .execution_options(synchronize_session=False)
            )
            counts: dict[int, int] = {}
            for member_id, count in await self.session.execute(counter):
                counts[member_id] = count
                member = loaded.get(member_key((member_id,)))
                if isinstance(member, Member):
                    set_committed_value(member, "next_nudge_seq", count)
            their_count = (
                select(Member.next_nudge_seq).where(Member.id == Nudge.member_id).scalar_subquery()
            )
            await self.session.execute(
                update(Nudge)
                .where(Nudge.id.in_([n.id for n in group]))
                .values(seq=their_count)
                .execution_options(synchronize_session=False)
            )
            for nudge in group:
                set_committed_value(nudge, "seq", counts[nudge.member_id])

    async def by_seq(self, member_id: int, seq: int) -> Nudge | None:
        stmt = (
            select(Nudge)
            .where(Nudge.member_id == member_id, Nudge.seq == seq)
            .options(*_NUDGE_SUBJECTS)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pending(
        self,
        member_id: int,
        *,
        meeting_id: int | None = None,
        request_id: int | None = None,
        contact_id: int | None = None,
        kinds: Sequence[str] = (),
        limit: int | None = None,
    ) -> Sequence[Nudge]:
        """The member's nudges still to be sent, soonest first, optionally about one thing,
        each with its meeting, request and contact (to be shown)."""
        which = NudgeFilter(
            kinds=kinds, meeting_id=meeting_id, request_id=request_id, contact_id=contact_id
        )
        stmt = (
            select(Nudge)
            .where(Nudge.member_id == member_id, which.clause())
            .order_by(Nudge.due_at, Nudge.id)
            .options(*_NUDGE_SUBJECTS)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_pending(self, member_id: int) -> int:
        stmt = select(func.count()).where(
            Nudge.member_id == member_id, Nudge.status == NudgeStatus.PENDING
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def recently_sent(self, member_id: int, since: datetime, limit: int) -> Sequence[Nudge]:
        stmt = (
            select(Nudge)
            .where(
                Nudge.member_id == member_id,
                Nudge.status == NudgeStatus.SENT,
                Nudge.sent_at >= since,
            )
            .order_by(Nudge.sent_at.desc(), Nudge.id.desc())
            .limit(limit)
            .options(*_NUDGE_SUBJECTS)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # -- the scheduler ---------------------------------------------------------------

    async def claim_due(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        platforms: Collection[str] | None = None,
    ) -> list[int]:
        """Claim up to ``limit`` due nudges for this worker; return their ids.

        On PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers take
        different rows; on SQLite the transaction holds the write lock. Either way a claimed
        row carries a lease, and nobody else takes it until the lease has run out.
        """
        due = (
            select(Nudge.id)
            .where(
                Nudge.status == _PENDING,
                Nudge.due_at <= now,
                or_(Nudge.lease_until.is_(None), Nudge.lease_until <= now),
                on_platforms(Nudge.workspace_id, platforms),
            )
            .order_by(Nudge.due_at, Nudge.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(due)).scalars())
        await lease_rows(self.session, Nudge, ids, lease_until=lease_until, token=token)
        return ids

    async def with_subjects(self, ids: Sequence[int]) -> Sequence[Nudge]:
        """Nudges with their meeting, request, contact and member loaded, for sending."""
        stmt = (
            select(Nudge)
            .where(Nudge.id.in_(ids))
            .options(*_NUDGE_SUBJECTS, joinedload(Nudge.member))
            .order_by(Nudge.member_id, Nudge.due_at, Nudge.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def settle_claimed(
        self,
        ids: Sequence[int],
        *,
        token: str,
        now: datetime,
        status: NudgeStatus | None = None,
        due_at: datetime | None = None,
        error: str | None = None,
        failed_attempt: bool = False,
    ) -> int:
        """End this worker's claim on ``ids``: give them a new status or a new due time.

        Rows another worker has taken over since (the lease ran out) are left alone; the
        return value says how many rows were still ours.
        """
        if not ids:
            return 0
        values: dict[str, object] = {"lease_until": None, "claim_token": None, "updated_at": now}
        if status is not None:
            values["status"] = status
            if status == NudgeStatus.SENT:
                values["sent_at"] = now
        if due_at is not None:
            values["due_at"] = due_at
        if error is not None:
            values["last_error"] = error[:64]
        if failed_attempt:
            values["attempts"] = Nudge.attempts + 1
        stmt = (
            update(Nudge)
            .where(
                Nudge.id.in_(ids),
                Nudge.claim_token == token,
                Nudge.status == NudgeStatus.PENDING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count_claimed_by_others(self, ids: Sequence[int], token: str) -> int:
        """Of ``ids``, how many another worker has claimed (its lease ran out on us)."""
        if not ids:
            return 0
        stmt = select(func.count()).where(
            Nudge.id.in_(ids), Nudge.claim_token.is_not(None), Nudge.claim_token != token
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def pending_summary(
        self, now: datetime, *, platforms: Collection[str] | None = None
    ) -> tuple[int, datetime | None]:
        """How many nudges (of workspaces on ``platforms``; None: all) are pending, and when
        the oldest one due by ``now`` fell due."""
        pending = and_(Nudge.status == _PENDING, on_platforms(Nudge.workspace_id, platforms))
        count = await self.session.scalar(select(func.count()).where(pending))
        oldest = await self.session.scalar(
            select(func.min(Nudge.due_at)).where(pending, Nudge.due_at <= now)
        )
        return int(count or 0), oldest

    async def next_due(self, *, after: datetime, until: datetime) -> datetime | None:
        """The earliest due time of a pending nudge in (after, until], if any."""
        stmt = select(func.min(Nudge.due_at)).where(
            Nudge.status == _PENDING, Nudge.due_at > after, Nudge.due_at <= until
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        if value is not None and value.tzinfo is None:  # min() skips the column's type
            value = value.replace(tzinfo=UTC)
        return value
