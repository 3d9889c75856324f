"""the typed tables of owner-satisfaction surveys (survey) and shift handover sign-offs
(handover), as the laptops' migration 0013 makes them

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Float(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_server_site", "survey", ["site_id", "id"], unique=False)
    op.create_index("ix_survey_site_day", "survey", ["site_id", "day"], unique=False)
    op.create_table(
        "handover",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("shift", sa.String(), nullable=True),
        sa.Column("from_id", sa.String(), nullable=False),
        sa.Column("to_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handover_server_site", "handover", ["site_id", "id"], unique=False)
    op.create_index("ix_handover_site_day", "handover", ["site_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_table("handover")
    op.drop_table("survey")
