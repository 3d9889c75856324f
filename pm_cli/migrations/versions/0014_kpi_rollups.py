"""per-day KPI rollups (kpi_day, kpi_day_done) and the triggers that mark the days a write
touches (rollup_dirty): local caches, never synced

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 14


def upgrade() -> None:
    from pm_cli.reports import rollup

    op.create_table(
        "kpi_day",
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("kpi", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("numerator", sa.Float(), nullable=False),
        sa.Column("denominator", sa.Float(), nullable=False),
        sa.Column("asked", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day", "kpi", "grid_id", "service", "staff_id"),
    )
    with op.batch_alter_table("kpi_day", schema=None) as batch_op:
        batch_op.create_index("ix_kpi_day_site_day", ["site_id", "day"], unique=False)
    op.create_table(
        "kpi_day_done",
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("computed_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day"),
    )
    op.create_table(
        "rollup_dirty",
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day"),
    )
    for ddl in rollup.sqlite_triggers():
        op.execute(ddl)
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    from pm_cli.reports import rollup

    for ddl in rollup.sqlite_drops():
        op.execute(ddl)
    op.drop_table("rollup_dirty")
    op.drop_table("kpi_day_done")
    op.drop_table("kpi_day")
    op.execute("PRAGMA user_version = 13")
