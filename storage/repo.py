"""Queries. Every read is scoped to one member, so one member never sees another's rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    event,
    func,
    inspect,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    Contact,
    Landing,
    Meeting,
    Member,
    Nudge,
    OutreachRequest,
    ProcessedEvent,
    PromptSeen,
    StoredPayload,
    Workspace,
    changed_by_member,
)

# Written into the SQL rather than sent as a parameter, so that PostgreSQL's generic plan
# for the prepared statement (used after its fifth run) can still use the partial index
# ix_nudges_pending_due (WHERE status = 'pending').
_PENDING: ColumnElement[str] = literal_column("'pending'")

# Nudges come with their subjects in the same query (outer joins), whether one member's
# few or a tick's batch of a thousand: for a batch, that took 0.07 s where a query per
# kind of subject (selectinload, in chunks of 500) took 0.11 s on PostgreSQL.
_NUDGE_SUBJECTS = (
    joinedload(Nudge.meeting),
    joinedload(Nudge.request),
    joinedload(Nudge.contact),
)

__all__ = ["NudgeFilter", "Repo", "lease_rows", "name_key", "on_platforms"]

# Short ids of meetings (M3) and requests (R2): each kind has its own counter per member.
_COUNTERS = {"M": "next_meeting_seq", "R": "next_seq"}


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


def name_key(name: str) -> str:
    """How contact names are compared: case- and spacing-insensitive."""
    return " ".join(name.casefold().split())


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


# session.info keys: the nudges added in this transaction, and the nudges cancelled in it
# that hold a short id, by what they are about.
_ADDED = "tiara_added_nudges"
_FREED = "tiara_freed_nudges"

# What a nudge reminds of: member, kind, meeting, request, contact, practice round.
_Subject = tuple[Any, ...]
_SUBJECT = ("member_id", "kind", "meeting_id", "request_id", "contact_id", "practice_round_id")


def _subject(nudge: Nudge) -> _Subject | None:
    """What ``nudge`` reminds of, from what is loaded (None when something isn't)."""
    values = inspect(nudge).dict
    if any(name not in values for name in _SUBJECT):
        return None
    return tuple(values[name] for name in _SUBJECT)


@event.listens_for(Nudge.status, "set")
def _status_changed(nudge: Nudge, value: object, old: object, _initiator: object) -> None:
    """Note a nudge cancelled while it holds a short id: a nudge about the same thing
    planned in the same transaction takes the id over (a meeting moved to another day
    keeps its "prepare" reminder's id). A nudge without one pending again may take one
    over too (the meeting moved back)."""
    if value == old:
        return
    state = inspect(nudge)
    session = state.session
    if session is None or not state.persistent:  # not written yet: in _ADDED if planned
        return
    held = state.dict.get("seq") is not None
    if old == "pending" and value == "cancelled" and held:
        subject = _subject(nudge)
        if subject is not None:
            session.info.setdefault(_FREED, {}).setdefault(subject, []).append(nudge)
    elif value == "pending" and not held:
        session.info.setdefault(_ADDED, []).append(nudge)


@event.listens_for(Session, "after_transaction_end")
def _forget_freed(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_FREED, None)
        session.info.pop(_ADDED, None)


def _take_freed(session: Session, nudge: Nudge) -> Nudge | None:
    """A nudge cancelled in this transaction about what ``nudge`` is about, still holding
    its short id, which ``nudge`` replaces: it gives the id up."""
    freed: dict[_Subject, list[Nudge]] | None = session.info.get(_FREED)
    subject = _subject(nudge)
    if not freed or subject is None:
        return None
    candidates = freed.get(subject, [])
    while candidates:
        old = candidates.pop(0)
        state = inspect(old)
        values = state.dict
        if state.persistent and values.get("status") == "cancelled" and values.get("seq"):
            return old
    return None


@event.listens_for(Session, "before_flush")
def _hand_ids_on(session: Session, _context: object, _objects: object) -> None:
    """A nudge about to be written (new, or pending again) that replaces one cancelled
    in this transaction (same kind, about the same thing) takes over its short id, so a
    reminder the member saw keeps its number; the cancelled one is left without. Other
    nudges have no short id until the member sees them (Repo.number_nudges).

    The nudges wait in ``session.info`` (Repo.add_nudge): kept there, not on the Repo, so
    a session and its Repo hold no reference cycle and go as soon as the transaction ends.
    """
    added: list[Nudge] | None = session.info.pop(_ADDED, None)
    if not added or not session.info.get(_FREED):
        return
    new = session.new  # a set built on each call: once
    handed: list[tuple[Nudge, Nudge]] = []
    for nudge in {id(n): n for n in added}.values():
        # The others were expunged or rolled back: never written.
        written = nudge in new or inspect(nudge).persistent
        if written and nudge.status == "pending" and nudge.seq is None:
            old = _take_freed(session, nudge)
            if old is not None:
                handed.append((old, nudge))
    if not handed:
        return
    # The replaced nudges give their ids up first, before the rows that take them.
    session.connection().execute(  # the session is flushing: no session.execute
        update(Nudge)
        .where(Nudge.id == bindparam("old_id"))
        .values(seq=None)
        .execution_options(synchronize_session=False),
        [{"old_id": old.id} for old, _ in handed],
    )
    for old, nudge in handed:
        nudge.seq = old.seq
        set_committed_value(old, "seq", None)


@dataclass(frozen=True)
class NudgeFilter:
    """Which of a member's nudges: by status and kind, and about which meeting, request
    or contact (None: any)."""

    statuses: Collection[str] = ("pending",)
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


class Repo:
    """The queries one command needs, inside its transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Filled by preload_nudges (a whole tick's batch at once, or a command's few keys).
        self._keyed: dict[tuple[int, str], Nudge | None] = {}
        # Rows and nudges added in this transaction: nothing in the database refers to
        # those rows yet, so the nudges about them are all among these nudges.
        self._new_rows: set[object] = set()
        self._new_nudges: dict[tuple[int, str], Nudge] = {}

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
        ws = await self.ensure_workspace(platform, workspace, now)
        try:
            async with self.session.begin_nested():
                member = Member(workspace_id=ws.id, user_id=user_id, created_at=now)
                self.session.add(member)
            self._new_rows.add(member)
        except IntegrityError:  # another process created it first
            member = await self.find_member(platform, workspace, user_id)
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

    async def members_of(self, workspace_id: int) -> Sequence[Member]:
        stmt = select(Member).where(Member.workspace_id == workspace_id).order_by(Member.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def first_sighting(self, platform: str, event_id: str, now: datetime) -> bool:
        """Record a platform event as handled; False if it was already (a redelivery)."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    ProcessedEvent(platform=platform, event_id=event_id, received_at=now)
                )
        except IntegrityError:
            return False
        return True

    async def forget_events(self, before: datetime) -> None:
        """Drop handled events older than any redelivery can be."""
        await self.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.received_at < before)
        )

    async def keep_payload(
        self,
        key: str,
        *,
        platform: str,
        workspace: str,
        user_id: str,
        payload: str,
        expires_at: datetime,
    ) -> None:
        """Keep ``payload`` under ``key`` until ``expires_at`` (a later expiry wins when the
        same key is kept again)."""
        found = (
            await self.session.execute(select(StoredPayload).where(StoredPayload.key == key))
        ).scalar_one_or_none()
        if found is not None:
            found.expires_at = max(found.expires_at, expires_at)
            return
        try:
            async with self.session.begin_nested():
                self.session.add(
                    StoredPayload(
                        key=key,
                        platform=platform,
                        workspace=workspace,
                        user_id=user_id,
                        payload=payload,
                        expires_at=expires_at,
                    )
                )
        except IntegrityError:
            pass  # another process kept the same payload under the same key just now

    async def kept_payload(self, key: str, now: datetime) -> StoredPayload | None:
        """The payload kept under ``key``, unless it has expired."""
        stmt = select(StoredPayload).where(StoredPayload.key == key, StoredPayload.expires_at > now)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def forget_expired_payloads(self, now: datetime) -> None:
        await self.session.execute(delete(StoredPayload).where(StoredPayload.expires_at <= now))

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

    async def find_workspace(self, platform: str, external_id: str) -> Workspace | None:
        stmt = select(Workspace).where(
            Workspace.platform == platform, Workspace.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def workspaces(self) -> Sequence[Workspace]:
        stmt = select(Workspace).order_by(Workspace.platform, Workspace.external_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def allocate_seq(self, member: Member, kind: str) -> int:
        """The next short id of one of the member's meetings (``kind`` "M": M1, M2...) or
        requests ("R": R1, R2...). Each kind counts on its own."""
        return await self._next_counter(member, _COUNTERS[kind])

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
        items = [await self.item_by_seq(member_id, seq, kind) for kind in _COUNTERS]
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

    async def unanswered_requests_in(self, workspace_id: int) -> Sequence[OutreachRequest]:
        """Every request of the workspace still waiting for a reply (with its contact)."""
        stmt = (
            select(OutreachRequest)
            .where(
                OutreachRequest.workspace_id == workspace_id, OutreachRequest.status == "pending"
            )
            .order_by(OutreachRequest.member_id, OutreachRequest.sent_at)
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

    # -- nudges ----------------------------------------------------------------------

    async def nudge_by_key(self, member_id: int, key: str) -> Nudge | None:
        if (member_id, key) in self._keyed:
            return self._keyed[member_id, key]
        stmt = select(Nudge).where(Nudge.member_id == member_id, Nudge.dedupe_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def cancel_nudge_keys(self, member_id: int, keys: Sequence[str], now: datetime) -> None:
        """Cancel the member's nudges with these keys that are still to be sent."""
        for key in keys:
            nudge = await self.nudge_by_key(member_id, key)
            if nudge is not None and nudge.status == "pending":
                nudge.status = "cancelled"
                changed_by_member(nudge, now)

    async def preload_nudges(self, keys: Collection[tuple[int, str]]) -> None:
        """Look up many (member, dedupe key) nudges in one query; nudge_by_key then answers
        for those keys from memory, "none" included."""
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

    def add_nudge(self, nudge: Nudge) -> None:
        """Add a planned nudge, without its short id: it gets one when the member first
        sees it (number_nudges), or the id of the one it replaces (_hand_ids_on)."""
        self.session.add(nudge)
        self.session.sync_session.info.setdefault(_ADDED, []).append(nudge)
        pair = (nudge.member_id, nudge.dedupe_key)
        self._new_nudges[pair] = nudge
        if pair in self._keyed:  # preloaded as "none"
            self._keyed[pair] = nudge

    def is_new(self, row: object) -> bool:
        """Whether ``row`` (a meeting, contact...) was added in this transaction."""
        return row in self._new_rows

    def keys_of_new_rows(self, member_id: int, keys: Iterable[str | None]) -> None:
        """These keys name rows added in this transaction (``is_new``): only a nudge added
        since can carry one, so nudge_by_key answers for them without a query."""
        for key in keys:
            if key is not None:
                pair = (member_id, key)
                self._keyed.setdefault(pair, self._new_nudges.get(pair))

    async def preload_nudges_about(
        self, row: object, member_id: int, keys: Collection[str | None]
    ) -> None:
        """preload_nudges for keys that name ``row``: without a query when it is_new."""
        if self.is_new(row):
            self.keys_of_new_rows(member_id, keys)
        else:
            await self.preload_nudges({(member_id, key) for key in keys if key is not None})

    def new_nudges(self, member_id: int, which: NudgeFilter) -> list[Nudge]:
        """The nudges of ``which`` among those added in this transaction, without a query:
        all there is about a row that is_new."""
        return [
            n for n in self._new_nudges.values() if n.member_id == member_id and which.matches(n)
        ]

    async def number_nudges(self, nudges: Sequence[Nudge], *, locked: bool = False) -> None:
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

    async def nudge_by_seq(self, member_id: int, seq: int) -> Nudge | None:
        stmt = (
            select(Nudge)
            .where(Nudge.member_id == member_id, Nudge.seq == seq)
            .options(*_NUDGE_SUBJECTS)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pending_nudges(
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

    async def nudges_to_close(
        self, member_id: int, which: NudgeFilter, *, load_keys: Collection[str | None] = ()
    ) -> list[Nudge]:
        """The member's nudges of ``which`` (without their subjects, in no order), and in
        the same query the nudges named by ``load_keys``, which nudge_by_key then answers
        from memory ("none" included)."""
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

    async def count_pending_nudges(self, member_id: int) -> int:
        stmt = select(func.count()).where(Nudge.member_id == member_id, Nudge.status == "pending")
        return int((await self.session.execute(stmt)).scalar_one())

    async def recently_sent_nudges(
        self, member_id: int, since: datetime, limit: int
    ) -> Sequence[Nudge]:
        stmt = (
            select(Nudge)
            .where(Nudge.member_id == member_id, Nudge.status == "sent", Nudge.sent_at >= since)
            .order_by(Nudge.sent_at.desc(), Nudge.id.desc())
            .limit(limit)
            .options(*_NUDGE_SUBJECTS)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def claim_due_nudges(
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

    async def nudges_with_subjects(self, ids: Sequence[int]) -> Sequence[Nudge]:
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
        status: str | None = None,
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
            if status == "sent":
                values["sent_at"] = now
        if due_at is not None:
            values["due_at"] = due_at
        if error is not None:
            values["last_error"] = error[:64]
        if failed_attempt:
            values["attempts"] = Nudge.attempts + 1
        stmt = (
            update(Nudge)
            .where(Nudge.id.in_(ids), Nudge.claim_token == token, Nudge.status == "pending")
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

    async def next_nudge_due(self, *, after: datetime, until: datetime) -> datetime | None:
        """The earliest due time of a pending nudge in (after, until], if any."""
        stmt = select(func.min(Nudge.due_at)).where(
            Nudge.status == _PENDING, Nudge.due_at > after, Nudge.due_at <= until
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        if value is not None and value.tzinfo is None:  # min() skips the column's type
            value = value.replace(tzinfo=UTC)
        return value

    async def mark_unreachable(self, member_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(unreachable_at=now)
        )

    async def cancel_pending_nudges(
        self, member_id: int, *, kinds: Sequence[str], now: datetime
    ) -> int:
        stmt = (
            update(Nudge)
            .where(Nudge.member_id == member_id, Nudge.status == "pending", Nudge.kind.in_(kinds))
            .values(status="cancelled", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    # -- landings and helpers -----------------------------------------------------------

    async def latest_landing(self, member_id: int) -> Landing | None:
        stmt = (
            select(Landing)
            .where(Landing.member_id == member_id)
            .order_by(Landing.landed_at.desc(), Landing.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

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

    async def helpers_of(self, member_id: int, now: datetime) -> list[str]:
        """Names of everyone who helped: people the member met, and who referred them."""
        met = await self.contacts_met(member_id, now)
        referrer_ids = [c.referred_by_id for c in met if c.referred_by_id is not None]
        names = {c.name for c in met}
        names |= {c.name for c in await self.contacts_by_id(member_id, referrer_ids)}
        return sorted(names, key=str.casefold)

    async def contacts_by_id(self, member_id: int, ids: Sequence[int]) -> Sequence[Contact]:
        stmt = select(Contact).where(Contact.member_id == member_id, Contact.id.in_(ids))
        return (await self.session.execute(stmt)).scalars().all()

    async def has_met(self, member_id: int, contact_id: int, now: datetime) -> bool:
        stmt = select(func.count()).where(
            Meeting.member_id == member_id,
            Meeting.contact_id == contact_id,
            Meeting.held_at <= now,
        )
        return int((await self.session.execute(stmt)).scalar_one()) > 0

    async def meetings_between(
        self, member_id: int, start: datetime, end: datetime
    ) -> Sequence[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.member_id == member_id, Meeting.held_at > start, Meeting.held_at <= end)
            .order_by(Meeting.held_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    def add(self, row: object) -> None:
        self.session.add(row)
        self._new_rows.add(row)

    async def delete(self, row: object) -> None:
        await self.session.delete(row)

    async def flush(self) -> None:
        await self.session.flush()
