"""Short ids count per kind: a member's meetings M1, M2..., their requests R1, R2...

Until now one counter, ``members.next_seq``, numbered meetings and requests together, so a
member's first meeting after three requests was M4. Now ``next_seq`` counts requests only
and the new ``members.next_meeting_seq`` counts meetings. Existing rows keep their
``seq``, so every id already given (in a list, a DM, a button) still names the same
meeting or request; each counter starts from the member's highest id of its kind, and new
items continue from there. (A number last given to an item deleted since may be given
again, to the next item of its kind.)

Reminders keep their N ids too. From now on a reminder replaced by another (a meeting
moved to another day gets its "prepare" reminder again) hands its N id to the new one
and keeps ``-id`` as its ``seq``: a negative seq is no short id.

Downgrading goes back to one counter: where a meeting and a request now share a number,
the later one takes a new number after the member's highest; reminders with a negative
seq take N ids after the member's highest, as the old code numbered every reminder.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_members = sa.table(
    "members",
    sa.column("id", sa.Integer()),
    sa.column("next_seq", sa.Integer()),
    sa.column("next_meeting_seq", sa.Integer()),
    sa.column("next_nudge_seq", sa.Integer()),
)
_meetings = sa.table(
    "meetings",
    sa.column("id", sa.Integer()),
    sa.column("member_id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("created_at", sa.DateTime()),
)
_requests = sa.table(
    "outreach_requests",
    sa.column("id", sa.Integer()),
    sa.column("member_id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("created_at", sa.DateTime()),
)
_nudges = sa.table(
    "nudges",
    sa.column("id", sa.Integer()),
    sa.column("member_id", sa.Integer()),
    sa.column("seq", sa.Integer()),
)


def _highest(items: sa.TableClause) -> sa.ScalarSelect[int]:
    """The member's highest seq among ``items`` (0 when none)."""
    return (
        sa.select(sa.func.coalesce(sa.func.max(items.c.seq), 0))
        .where(items.c.member_id == _members.c.id)
        .scalar_subquery()
    )


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("next_meeting_seq", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        _members.update().values(next_meeting_seq=_highest(_meetings), next_seq=_highest(_requests))
    )


def downgrade() -> None:
    bind = op.get_bind()
    # One counter again, past every number of either kind.
    op.execute(
        _members.update()
        .where(_members.c.next_meeting_seq > _members.c.next_seq)
        .values(next_seq=_members.c.next_meeting_seq)
    )
    # A meeting and a request that share a number: the later of the two moves on.
    m, r = _meetings.alias("m"), _requests.alias("r")
    pairs = bind.execute(
        sa.select(m.c.member_id, m.c.id, m.c.created_at, r.c.id, r.c.created_at)
        .join(r, sa.and_(r.c.member_id == m.c.member_id, r.c.seq == m.c.seq))
        .order_by(m.c.member_id, m.c.seq)
    ).all()
    moving: dict[int, list[tuple[datetime, bool, int]]] = defaultdict(list)
    for member_id, meeting_id, meeting_at, request_id, request_at in pairs:
        # The request moves when both came at the same moment.
        if meeting_at > request_at:
            moving[member_id].append((meeting_at, False, meeting_id))
        else:
            moving[member_id].append((request_at, True, request_id))
    for member_id, rows in moving.items():
        last = bind.execute(
            _members.update()
            .where(_members.c.id == member_id)
            .values(next_seq=_members.c.next_seq + len(rows))
            .returning(_members.c.next_seq)
        ).scalar_one()
        for seq, (_at, is_request, row_id) in enumerate(sorted(rows), start=last - len(rows) + 1):
            items = _requests if is_request else _meetings
            bind.execute(items.update().where(items.c.id == row_id).values(seq=seq))
    # Reminders without an N id take one after the member's highest, oldest first.
    unnumbered: dict[int, list[int]] = defaultdict(list)
    for nudge_id, member_id in bind.execute(
        sa.select(_nudges.c.id, _nudges.c.member_id)
        .where(_nudges.c.seq < 0)
        .order_by(_nudges.c.member_id, _nudges.c.id)
    ):
        unnumbered[member_id].append(nudge_id)
    for member_id, ids in unnumbered.items():
        last = bind.execute(
            _members.update()
            .where(_members.c.id == member_id)
            .values(next_nudge_seq=_members.c.next_nudge_seq + len(ids))
            .returning(_members.c.next_nudge_seq)
        ).scalar_one()
        for seq, nudge_id in enumerate(ids, start=last - len(ids) + 1):
            bind.execute(_nudges.update().where(_nudges.c.id == nudge_id).values(seq=seq))
    with op.batch_alter_table("members") as batch:
        batch.drop_column("next_meeting_seq")
