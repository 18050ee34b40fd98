"""The unit of work: its repositories share one transaction, and Tiara's ORM event handlers
run in the store's own sessions only, never in any other Session on the same models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage import nudge_ids
from storage.enums import NudgeStatus
from storage.models import Member, Nudge
from storage.store import Store, TiaraSession
from storage.unit import UnitOfWork
from tests.conftest import START


def test_the_handlers_listen_to_the_stores_session_class_not_to_every_session() -> None:
    for name, handler in (
        ("before_flush", nudge_ids.hand_ids_on),
        ("after_transaction_end", nudge_ids.forget_freed),
    ):
        assert not event.contains(Session, name, handler)
        assert event.contains(TiaraSession, name, handler)


async def test_the_store_hands_out_its_own_sessions(empty_store: Store) -> None:
    async with empty_store.transaction() as session:
        assert isinstance(session.sync_session, TiaraSession)
    async with empty_store.unit() as uow:
        assert isinstance(uow, UnitOfWork)
        assert isinstance(uow.session.sync_session, TiaraSession)
        assert uow.practice is uow.practice and uow.coach is uow.coach  # built once


def _nudge(member: Member, key: str, *, seq: int | None) -> Nudge:
    return Nudge(
        workspace_id=member.workspace_id,
        member_id=member.id,
        seq=seq,
        kind="prep",
        dedupe_key=key,
        # About nothing in particular, said outright: what a nudge is about is compared.
        meeting_id=None,
        request_id=None,
        contact_id=None,
        practice_round_id=None,
        due_at=START + timedelta(days=1),
        status=NudgeStatus.PENDING,
        attempts=0,
        created_at=START,
        updated_at=START,
    )


async def _member_with_a_numbered_nudge(store: Store) -> int:
    await store.upgrade()
    async with store.unit() as uow:
        member = await uow.members.ensure("test", "cohort", "alice", now=START)
        assert uow.is_new(member)  # made here: the nudge repository knows it too
        uow.nudges.add(_nudge(member, "prep:old", seq=1))
        return member.id


async def test_a_replacing_nudge_takes_over_the_short_id_in_a_unit_of_work(
    empty_store: Store,
) -> None:
    member_id = await _member_with_a_numbered_nudge(empty_store)
    async with empty_store.unit() as uow:
        member = await uow.members.find("test", "cohort", "alice")
        assert member is not None and member.id == member_id and not uow.is_new(member)
        old = await uow.nudges.by_key(member_id, "prep:old")
        assert old is not None and old.seq == 1
        old.status = NudgeStatus.CANCELLED
        new = _nudge(member, "prep:new", seq=None)
        uow.nudges.add(new)
        await uow.flush()
        assert (old.seq, new.seq) == (None, 1)
    async with empty_store.transaction() as session:
        rows = (await session.execute(select(Nudge.dedupe_key, Nudge.seq))).all()
        assert sorted(rows) == [("prep:new", 1), ("prep:old", None)]


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)
async def test_a_plain_session_on_the_same_models_runs_none_of_our_handlers(
    empty_store: Store,
) -> None:
    member_id = await _member_with_a_numbered_nudge(empty_store)
    async with AsyncSession(empty_store.engine) as session, session.begin():
        assert not isinstance(session.sync_session, TiaraSession)
        member = await session.get(Member, member_id)
        assert member is not None
        old = (await session.execute(select(Nudge))).scalar_one()
        old.status = NudgeStatus.CANCELLED  # in a TiaraSession: noted, its id freed
        new = _nudge(member, "prep:new", seq=None)
        session.add(new)
        await session.flush()  # in a TiaraSession: the new one takes the id over
        assert not [key for key in session.sync_session.info if key.startswith("tiara")]
        assert (old.seq, new.seq) == (1, None)
