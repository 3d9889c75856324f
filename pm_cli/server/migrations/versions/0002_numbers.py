"""improvement-item number blocks per site and device (sync.md §2)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_number",
        sa.Column("site_id", sa.String(), primary_key=True),
        sa.Column("next_no", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "number_block",
        sa.Column("site_id", sa.String(), primary_key=True),
        sa.Column("first", sa.BigInteger(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("number_block")
    op.drop_table("site_number")
