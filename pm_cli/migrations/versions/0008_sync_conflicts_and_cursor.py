"""sync conflicts and cursor

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:02:17.328627
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 8


def upgrade() -> None:
    op.create_table(
        "conflict",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("winner_value", sa.JSON(), nullable=True),
        sa.Column("loser_value", sa.JSON(), nullable=True),
        sa.Column("winner_change", sa.String(), nullable=True),
        sa.Column("loser_change", sa.String(), nullable=True),
        sa.Column("winner_hlc", sa.String(), nullable=True),
        sa.Column("loser_hlc", sa.String(), nullable=True),
        sa.Column("resolved_hlc", sa.String(), nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.create_index("ix_conflict_site_record", ["site_id", "record_id"], unique=False)

    op.create_table(
        "sync_parked",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cursor", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_sync_at", sa.String(), nullable=True))

    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("last_sync_at")
        batch_op.drop_column("cursor")

    op.drop_table("sync_parked")
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.drop_index("ix_conflict_site_record")

    op.drop_table("conflict")
    op.execute("PRAGMA user_version = 7")
