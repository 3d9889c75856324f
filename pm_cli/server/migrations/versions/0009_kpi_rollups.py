"""per-day KPI rollups (kpi_day, kpi_day_done) and the triggers that mark the days a write
touches (rollup_dirty), as the laptops' migration 0014 makes them: statement-level triggers
on PostgreSQL, row triggers on SQLite; the /reports ranking's rows of ended periods
(report_cache)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")  # the server's own tables' JSON


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
    op.create_index("ix_kpi_day_site_day", "kpi_day", ["site_id", "day"], unique=False)
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
    op.create_table(
        "report_cache",
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("since", sa.String(), nullable=False),
        sa.Column("until", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("computed_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "since", "until"),
    )
    pg = op.get_bind().dialect.name == "postgresql"
    for ddl in rollup.postgresql_triggers() if pg else rollup.sqlite_triggers():
        op.execute(ddl)


def downgrade() -> None:
    from pm_cli.reports import rollup

    pg = op.get_bind().dialect.name == "postgresql"
    for ddl in rollup.postgresql_drops() if pg else rollup.sqlite_drops():
        op.execute(ddl)
    op.drop_table("report_cache")
    op.drop_table("rollup_dirty")
    op.drop_table("kpi_day_done")
    op.drop_table("kpi_day")
