"""number blocks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 12:44:33.448264
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 9


def upgrade() -> None:
    op.create_table(
        "number_block",
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("first", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("next_no", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "first"),
    )
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    op.drop_table("number_block")
    op.execute("PRAGMA user_version = 8")
