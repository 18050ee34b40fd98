"""Payloads too long for a platform's component ids, and the once-only timezone question.

``stored_payloads`` keeps what a Discord button or form carries when its ``custom_id``
(at most 100 characters) can't: the button holds a key into this table instead.
``members.timezone_asked_at`` records that a member without a timezone was told which
one their reminders use, so they are told once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("timezone_asked_at", sa.DateTime(), nullable=True))

    op.create_table(
        "stored_payloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_payloads")),
        sa.UniqueConstraint("key", name=op.f("uq_stored_payloads_key")),
    )
    op.create_index(op.f("ix_stored_payloads_expires_at"), "stored_payloads", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_stored_payloads_expires_at"), table_name="stored_payloads")
    op.drop_table("stored_payloads")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("timezone_asked_at")
