"""Coaches: when members were last seen, weekly digests, and the audit of coach actions.

``members.last_seen_at`` lets a coach see who has gone quiet (existing members start from
when they joined); ``members.digest_next_at`` schedules a coach's weekly digest;
``members.coach_since`` keeps coaches out of the cohort's counts;
``audit_events`` records coach actions and erasures (never a note or a contact).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("digest_next_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("coach_since", sa.DateTime(), nullable=True))
    op.execute("UPDATE members SET last_seen_at = created_at")
    op.create_index(
        "ix_members_digest_due",
        "members",
        ["digest_next_at"],
        postgresql_where=sa.text("digest_next_at IS NOT NULL"),
        sqlite_where=sa.text("digest_next_at IS NOT NULL"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_user_id", sa.String(length=64), nullable=True),
        sa.Column("actor_name", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_audit_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_workspace_at", "audit_events", ["workspace_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_workspace_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_members_digest_due", table_name="members")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("coach_since")
        batch.drop_column("digest_next_at")
        batch.drop_column("last_seen_at")
