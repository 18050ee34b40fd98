"""Short ids handed on: a nudge that replaces one cancelled in the same transaction
(about the same thing) takes over its short id (N4), so a reminder the member saw keeps
its number when, say, its meeting moves to another day.

These are ORM event handlers. storage.store registers them on its own session class
(TiaraSession), never on SQLAlchemy's Session as a whole: another session on the same
models runs none of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, inspect, update
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from storage.enums import NudgeStatus
from storage.models import Nudge

__all__ = ["forget_freed", "hand_ids_on", "note_added", "status_changed"]

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


def status_changed(session: Session, nudge: Nudge, value: object, old: object) -> None:
    """Note a nudge cancelled while it holds a short id: a nudge about the same thing
    planned in the same transaction takes the id over (a meeting moved to another day
    keeps its "prepare" reminder's id). A nudge without one pending again may take one
    over too (the meeting moved back).

    Called when ``Nudge.status`` is set on a nudge of ``session``."""
    if value == old:
        return
    state = inspect(nudge)
    if not state.persistent:  # not written yet: in _ADDED if planned
        return
    held = state.dict.get("seq") is not None
    if old == NudgeStatus.PENDING and value == NudgeStatus.CANCELLED and held:
        subject = _subject(nudge)
        if subject is not None:
            session.info.setdefault(_FREED, {}).setdefault(subject, []).append(nudge)
    elif value == NudgeStatus.PENDING and not held:
        session.info.setdefault(_ADDED, []).append(nudge)


def note_added(session: Session, nudge: Nudge) -> None:
    """``nudge`` was just planned (NudgeRepo.add): before the flush that writes it, it may
    take over the short id of the one it replaces."""
    session.info.setdefault(_ADDED, []).append(nudge)


def forget_freed(session: Session, transaction: SessionTransaction) -> None:
    """After a transaction: forget what status_changed and note_added noted."""
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
        if state.persistent and values.get("status") == NudgeStatus.CANCELLED and values.get("seq"):
            return old
    return None


def hand_ids_on(session: Session, _context: object, _objects: object) -> None:
    """Before a flush: a nudge about to be written (new, or pending again) that replaces
    one cancelled in this transaction (same kind, about the same thing) takes over its
    short id, so a reminder the member saw keeps its number; the cancelled one is left
    without. Other nudges have no short id until the member sees them
    (NudgeRepo.number).

    The nudges wait in ``session.info`` (NudgeRepo.add): kept there, not on the
    repository, so a session and its repositories hold no reference cycle and go as soon
    as the transaction ends.
    """
    added: list[Nudge] | None = session.info.pop(_ADDED, None)
    if not added or not session.info.get(_FREED):
        return
    new = session.new  # a set built on each call: once
    handed: list[tuple[Nudge, Nudge]] = []
    for nudge in {id(n): n for n in added}.values():
        # The others were expunged or rolled back: never written.
        written = nudge in new or inspect(nudge).persistent
        if written and nudge.status == NudgeStatus.PENDING and nudge.seq is None:
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
