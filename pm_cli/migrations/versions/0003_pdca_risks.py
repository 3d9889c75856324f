"""pdca items, risk register, site sla

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:24:57.255236
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 3


def upgrade() -> None:
    op.create_table(
        "pdca",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("no", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("source_ref", sa.String(), nullable=True),
        sa.Column("dedup_key", sa.String(), nullable=True),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("owner_id", sa.String(), nullable=True),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("respond_by", sa.String(), nullable=False),
        sa.Column("resolve_by", sa.String(), nullable=False),
        sa.Column("plan", sa.String(), nullable=True),
        sa.Column("containment", sa.String(), nullable=True),
        sa.Column("root_cause", sa.String(), nullable=True),
        sa.Column("corrective", sa.String(), nullable=True),
        sa.Column("preventive", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pdca", schema=None) as batch_op:
        batch_op.create_index("ix_pdca_site_dedup", ["site_id", "dedup_key"], unique=False)
        batch_op.create_index("ix_pdca_site_no", ["site_id", "no"], unique=False)

    op.create_table(
        "pdca_event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("pdca_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("from_phase", sa.String(), nullable=True),
        sa.Column("to_phase", sa.String(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pdca_event", schema=None) as batch_op:
        batch_op.create_index("ix_pdca_event_item", ["pdca_id"], unique=False)

    op.create_table(
        "risk",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("field_hlc", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("cause", sa.String(), nullable=True),
        sa.Column("consequence", sa.String(), nullable=True),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("legal", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("controls", sa.String(), nullable=True),
        sa.Column("further_actions", sa.String(), nullable=True),
        sa.Column("playbook_steps", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("owner_id", sa.String(), nullable=True),
        sa.Column("review", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.create_index("ix_risk_site_code", ["site_id", "code"], unique=False)

    op.create_table(
        "risk_event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("risk_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=True),
        sa.Column("impact", sa.Integer(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_event", schema=None) as batch_op:
        batch_op.create_index("ix_risk_event_risk", ["risk_id"], unique=False)

    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla", sa.JSON(), nullable=True))

    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("sla")

    with op.batch_alter_table("risk_event", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_event_risk")

    op.drop_table("risk_event")
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_site_code")

    op.drop_table("risk")
    with op.batch_alter_table("pdca_event", schema=None) as batch_op:
        batch_op.drop_index("ix_pdca_event_item")

    op.drop_table("pdca_event")
    with op.batch_alter_table("pdca", schema=None) as batch_op:
        batch_op.drop_index("ix_pdca_site_no")
        batch_op.drop_index("ix_pdca_site_dedup")

    op.drop_table("pdca")
    op.execute("PRAGMA user_version = 2")
