"""A reminder gets its N id when the member first sees it, so the ids they see count
N1, N2, N3... without gaps.

Until now every reminder planned took a number at once, the ones the member never saw
too: a request's whole follow-up chain (cancelled by the reply), kinds the member had
stopped. Now ``nudges.seq`` is empty until the reminder is listed by `followups` or sent.
Existing reminders keep their numbers, so every id already given still names the same
reminder; a reminder that had handed its id on (``-id``, 0009) now holds none (NULL).

Downgrading gives every reminder without a number one after the member's highest,
oldest first, as the old code numbered every reminder.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_members = sa.table(
    "members",
    sa.column("id", sa.Integer()),
    sa.column("next_nudge_seq", sa.Integer()),
)
_nudges = sa.table(
    "nudges",
    sa.column("id", sa.Integer()),
    sa.column("member_id", sa.Integer()),
    sa.column("seq", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("nudges") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=True)
    op.execute(_nudges.update().where(_nudges.c.seq < 0).values(seq=None))


def downgrade() -> None:
    bind = op.get_bind()
    unnumbered: dict[int, list[int]] = defaultdict(list)
    for nudge_id, member_id in bind.execute(
        sa.select(_nudges.c.id, _nudges.c.member_id)
        .where(_nudges.c.seq.is_(None))
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
    with op.batch_alter_table("nudges") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
