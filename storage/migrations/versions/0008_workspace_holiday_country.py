"""A workspace's country calendar for business days.

``workspaces.holiday_country`` (ISO 3166 code) and ``holiday_subdivision`` name the public
holidays that don't count as business days, alongside the custom dates in ``holidays``.
Empty (every existing workspace) means custom dates only, as before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("holiday_country", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("holiday_subdivision", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("holiday_subdivision")
        batch.drop_column("holiday_country")
