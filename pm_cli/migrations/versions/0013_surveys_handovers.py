"""owner-satisfaction surveys (survey) and shift handover sign-offs (handover)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 13


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Float(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index("ix_survey_site_day", ["site_id", "day"], unique=False)
    op.create_table(
        "handover",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("shift", sa.String(), nullable=True),
        sa.Column("from_id", sa.String(), nullable=False),
        sa.Column("to_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False, server_default="accepted"),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.create_index("ix_handover_site_day", ["site_id", "day"], unique=False)
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    op.drop_table("handover")
    op.drop_table("survey")
    op.execute("PRAGMA user_version = 12")
