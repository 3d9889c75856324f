"""route walks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 11:45:09.304649
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 7


def upgrade() -> None:
    op.create_table(
        "route_visit",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("walk_id", sa.String(), nullable=False),
        sa.Column("stop", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("route_visit", schema=None) as batch_op:
        batch_op.create_index("ix_route_visit_walk", ["walk_id"], unique=False)

    op.create_table(
        "route_walk",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("route_id", sa.String(), nullable=False),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("finished_at", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False, server_default="open"),
        sa.Column("reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("route_walk", schema=None) as batch_op:
        batch_op.create_index("ix_route_walk_route", ["route_id", "started_at"], unique=False)

    with op.batch_alter_table("route", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(), nullable=True))

    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    with op.batch_alter_table("route", schema=None) as batch_op:
        batch_op.drop_column("owner_id")

    with op.batch_alter_table("route_walk", schema=None) as batch_op:
        batch_op.drop_index("ix_route_walk_route")

    op.drop_table("route_walk")
    with op.batch_alter_table("route_visit", schema=None) as batch_op:
        batch_op.drop_index("ix_route_visit_walk")

    op.drop_table("route_visit")
    op.execute("PRAGMA user_version = 6")
