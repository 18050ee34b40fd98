"""Nudges (scheduled DMs), landings, each member's rhythm and each workspace's policy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:43:57
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def _owner_columns(table: str) -> list[Any]:
    return [
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f(f"fk_{table}_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f(f"fk_{table}_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "landings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=True),
        sa.Column("landed_at", sa.DateTime(), nullable=False),
        *_owner_columns("landings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_landings")),
    )
    op.create_index("ix_landings_member", "landings", ["member_id", "landed_at"])
    op.create_table(
        "nudges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        *_owner_columns("nudges"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_nudges_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_nudges_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["outreach_requests.id"],
            name=op.f("fk_nudges_request_id_outreach_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
        sa.UniqueConstraint("member_id", "dedupe_key", name=op.f("uq_nudges_member_dedupe_key")),
        sa.UniqueConstraint("member_id", "seq", name=op.f("uq_nudges_member_seq")),
    )
    op.create_index(op.f("ix_nudges_contact_id"), "nudges", ["contact_id"])
    op.create_index(op.f("ix_nudges_meeting_id"), "nudges", ["meeting_id"])
    op.create_index(op.f("ix_nudges_request_id"), "nudges", ["request_id"])
    op.create_index("ix_nudges_member_status", "nudges", ["member_id", "status", "due_at"])
    op.create_index(
        "ix_nudges_pending_due",
        "nudges",
        ["due_at"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )

    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("last_contact_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("members") as batch:
        for name, column_type, default in (
            ("nudges_on", sa.Boolean(), sa.true()),
            ("quiet_start", sa.Integer(), sa.text(str(21 * 60))),
            ("quiet_end", sa.Integer(), sa.text(str(8 * 60))),
            ("nudge_time", sa.Integer(), sa.text(str(9 * 60))),
            ("keep_in_touch_months", sa.Integer(), sa.text("3")),
            ("weekly_plan", sa.Boolean(), sa.false()),
            ("muted_kinds", sa.JSON(), sa.text("'[]'")),
            ("next_nudge_seq", sa.Integer(), sa.text("0")),
        ):
            batch.add_column(sa.Column(name, column_type, nullable=False, server_default=default))
        batch.add_column(sa.Column("unreachable_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(
            sa.Column(
                "followup_policy",
                sa.String(length=8),
                nullable=False,
                server_default="seeds",
            )
        )
        batch.add_column(
            sa.Column("holidays", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("holidays")
        batch.drop_column("followup_policy")
    with op.batch_alter_table("members") as batch:
        for name in (
            "unreachable_at",
            "next_nudge_seq",
            "muted_kinds",
            "weekly_plan",
            "keep_in_touch_months",
            "nudge_time",
            "quiet_end",
            "quiet_start",
            "nudges_on",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("last_contact_at")
    op.drop_table("nudges")
    op.drop_table("landings")
