"""drills, drill runs and events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:38:21.192847
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 4


def upgrade() -> None:
    op.create_table(
        "drill",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drill", schema=None) as batch_op:
        batch_op.create_index("ix_drill_site_code", ["site_id", "code"], unique=False)

    op.create_table(
        "drill_event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("drill_run_id", sa.String(), nullable=False),
        sa.Column("milestone", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drill_event", schema=None) as batch_op:
        batch_op.create_index("ix_drill_event_run", ["drill_run_id"], unique=False)

    op.create_table(
        "drill_run",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("drill_id", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("finished_at", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("roster", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("observers", sa.String(), nullable=True),
        sa.Column("weather", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drill_run", schema=None) as batch_op:
        batch_op.create_index("ix_drill_run_drill", ["drill_id", "started_at"], unique=False)

    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    with op.batch_alter_table("drill_run", schema=None) as batch_op:
        batch_op.drop_index("ix_drill_run_drill")

    op.drop_table("drill_run")
    with op.batch_alter_table("drill_event", schema=None) as batch_op:
        batch_op.drop_index("ix_drill_event_run")

    op.drop_table("drill_event")
    with op.batch_alter_table("drill", schema=None) as batch_op:
        batch_op.drop_index("ix_drill_site_code")

    op.drop_table("drill")
    op.execute("PRAGMA user_version = 3")
