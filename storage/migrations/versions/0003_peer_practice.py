"""Peer practice: rounds, groups and seats; each workspace's cadence; each member's state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def _round_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["round_id"],
        ["practice_rounds.id"],
        name=op.f(f"fk_{table}_round_id_practice_rounds"),
        ondelete="CASCADE",
    )


def _lease() -> list[sa.Column[object]]:
    return [
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "practice_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("on_demand", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("checkin_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("announced_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        *_lease(),
        _workspace_fk("practice_rounds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_rounds")),
    )
    op.create_index("ix_practice_rounds_workspace", "practice_rounds", ["workspace_id", "number"])
    for name, column, where in (
        ("ix_practice_rounds_open", "ends_at", "closed_at IS NULL"),
        ("ix_practice_rounds_unannounced", "id", "announced_at IS NULL"),
    ):
        op.create_index(
            name,
            "practice_rounds",
            [column],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )
    op.create_table(
        "practice_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("persona", sa.JSON(), nullable=False),
        sa.Column("plan_sent_at", sa.DateTime(), nullable=True),
        *_lease(),
        _workspace_fk("practice_groups"),
        _round_fk("practice_groups"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_groups")),
    )
    op.create_index(
        op.f("ix_practice_groups_round_id"), "practice_groups", ["round_id"], unique=False
    )
    op.create_index(
        "ix_practice_groups_unsent",
        "practice_groups",
        ["id"],
        postgresql_where=sa.text("plan_sent_at IS NULL"),
        sqlite_where=sa.text("plan_sent_at IS NULL"),
    )
    op.create_table(
        "practice_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        _workspace_fk("practice_seats"),
        _round_fk("practice_seats"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["practice_groups.id"],
            name=op.f("fk_practice_seats_group_id_practice_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_practice_seats_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_seats")),
    )
    op.create_index(
        op.f("ix_practice_seats_group_id"), "practice_seats", ["group_id"], unique=False
    )
    op.create_index("ix_practice_seats_member", "practice_seats", ["member_id", "round_id"])
    op.create_index("ix_practice_seats_round", "practice_seats", ["round_id"])
    op.create_index("ix_practice_seats_workspace", "practice_seats", ["workspace_id"])

    with op.batch_alter_table("nudges") as batch:
        batch.add_column(sa.Column("practice_round_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_nudges_practice_round_id_practice_rounds"),
            "practice_rounds",
            ["practice_round_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_nudges_practice_round_id"), ["practice_round_id"])

    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("practice", sa.String(length=8), nullable=False, server_default="out")
        )
        batch.add_column(sa.Column("practice_paused_until", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("practice_ignored", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("practice_waiting_since", sa.DateTime(), nullable=True))

    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("practice_channel", sa.String(length=80), nullable=True))
        for name, default in (
            ("practice_day", "0"),
            ("practice_time", str(10 * 60)),
            ("practice_every_weeks", "1"),
            ("rounds_held", "0"),
        ):
            batch.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text(default))
            )
        batch.add_column(sa.Column("next_round_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        for name in (
            "next_round_at",
            "rounds_held",
            "practice_every_weeks",
            "practice_time",
            "practice_day",
            "practice_channel",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("members") as batch:
        for name in (
            "practice_waiting_since",
            "practice_ignored",
            "practice_paused_until",
            "practice",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("nudges") as batch:
        batch.drop_index(op.f("ix_nudges_practice_round_id"))
        batch.drop_constraint(
            op.f("fk_nudges_practice_round_id_practice_rounds"), type_="foreignkey"
        )
        batch.drop_column("practice_round_id")
    op.drop_table("practice_seats")
    op.drop_table("practice_groups")
    op.drop_index("ix_practice_rounds_workspace", table_name="practice_rounds")
    op.drop_table("practice_rounds")
