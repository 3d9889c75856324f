"""routes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 11:16:29.566482
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 6


def upgrade() -> None:
    op.create_table(
        "route",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("stops", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.Column("window_start", sa.String(), nullable=True),
        sa.Column("window_end", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("route", schema=None) as batch_op:
        batch_op.create_index("ix_route_site_code", ["site_id", "code"], unique=False)

    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    with op.batch_alter_table("route", schema=None) as batch_op:
        batch_op.drop_index("ix_route_site_code")

    op.drop_table("route")
    op.execute("PRAGMA user_version = 5")
