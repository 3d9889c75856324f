"""typed record tables: the laptops' own tables (the same columns and types), the server's
records in them instead of JSON field maps; a quarantine for records that do not fit

Written once from the models (alembic autogenerate, AutoString as String); from here on a
new synced field is a migration here and one on the laptop (sync.md §5), and
tests/sync/test_migration.py fails while the two disagree.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")  # the server's own tables' JSON

TABLES = (
    "checkpoint",
    "conflict",
    "drill",
    "drill_event",
    "drill_run",
    "grid",
    "grid_duty",
    "pdca",
    "pdca_event",
    "playbook",
    "record_quarantine",
    "risk",
    "risk_event",
    "route",
    "route_visit",
    "route_walk",
    "run",
    "site",
    "staff",
    "step_result",
)


def upgrade() -> None:
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=False),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("tag_uid", sa.String(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_checkpoint_server_site", "checkpoint", ["site_id", "id"], unique=False)
    op.create_index("ix_checkpoint_site_code", "checkpoint", ["site_id", "code"], unique=False)
    op.create_table(
        "conflict",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
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
    op.create_index("ix_conflict_server_site", "conflict", ["site_id", "id"], unique=False)
    op.create_index("ix_conflict_site_record", "conflict", ["site_id", "record_id"], unique=False)
    op.create_table(
        "drill",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_server_site", "drill", ["site_id", "id"], unique=False)
    op.create_index("ix_drill_site_code", "drill", ["site_id", "code"], unique=False)
    op.create_table(
        "drill_event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("drill_run_id", sa.String(), nullable=False),
        sa.Column("milestone", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_event_run", "drill_event", ["drill_run_id"], unique=False)
    op.create_index("ix_drill_event_server_site", "drill_event", ["site_id", "id"], unique=False)
    op.create_table(
        "drill_run",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("drill_id", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("finished_at", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("roster", sa.JSON(), nullable=False),
        sa.Column("observers", sa.String(), nullable=True),
        sa.Column("weather", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_run_drill", "drill_run", ["drill_id", "started_at"], unique=False)
    op.create_index("ix_drill_run_server_site", "drill_run", ["site_id", "id"], unique=False)
    op.create_table(
        "grid",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("owner_id", sa.String(), nullable=True),
        sa.Column("risk_level", sa.String(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grid_server_site", "grid", ["site_id", "id"], unique=False)
    op.create_index("ix_grid_parent", "grid", ["site_id", "parent_id"], unique=False)
    op.create_index("ix_grid_site_code", "grid", ["site_id", "code"], unique=False)
    op.create_table(
        "grid_duty",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grid_duty_server_site", "grid_duty", ["site_id", "id"], unique=False)
    op.create_index("ix_grid_duty_site_grid", "grid_duty", ["site_id", "grid_id"], unique=False)
    op.create_table(
        "pdca",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
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
    op.create_index("ix_pdca_server_site", "pdca", ["site_id", "id"], unique=False)
    op.create_index("ix_pdca_site_dedup", "pdca", ["site_id", "dedup_key"], unique=False)
    op.create_index("ix_pdca_site_no", "pdca", ["site_id", "no"], unique=False)
    op.create_table(
        "pdca_event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("pdca_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("from_phase", sa.String(), nullable=True),
        sa.Column("to_phase", sa.String(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pdca_event_item", "pdca_event", ["pdca_id"], unique=False)
    op.create_index("ix_pdca_event_server_site", "pdca_event", ["site_id", "id"], unique=False)
    op.create_table(
        "playbook",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("playbook_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_playbook_key", "playbook", ["playbook_id", "version"], unique=False)
    op.create_index("ix_playbook_server_site", "playbook", ["site_id", "id"], unique=False)
    op.create_table(
        "record_quarantine",
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column(
            "fields",
            JSON,
            nullable=False,
        ),
        sa.Column(
            "field_hlc",
            JSON,
            nullable=False,
        ),
        sa.Column(
            "reasons",
            JSON,
            nullable=False,
        ),
        sa.Column("moved_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "record_id"),
    )
    op.create_table(
        "risk",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("cause", sa.String(), nullable=True),
        sa.Column("consequence", sa.String(), nullable=True),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("legal", sa.Boolean(), nullable=False),
        sa.Column("controls", sa.String(), nullable=True),
        sa.Column("further_actions", sa.String(), nullable=True),
        sa.Column("playbook_steps", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=True),
        sa.Column("review", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_server_site", "risk", ["site_id", "id"], unique=False)
    op.create_index("ix_risk_site_code", "risk", ["site_id", "code"], unique=False)
    op.create_table(
        "risk_event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("risk_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=True),
        sa.Column("impact", sa.Integer(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_event_risk", "risk_event", ["risk_id"], unique=False)
    op.create_index("ix_risk_event_server_site", "risk_event", ["site_id", "id"], unique=False)
    op.create_table(
        "route",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("stops", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.Column("window_start", sa.String(), nullable=True),
        sa.Column("window_end", sa.String(), nullable=True),
        sa.Column("owner_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_route_server_site", "route", ["site_id", "id"], unique=False)
    op.create_index("ix_route_site_code", "route", ["site_id", "code"], unique=False)
    op.create_table(
        "route_visit",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
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
    op.create_index("ix_route_visit_server_site", "route_visit", ["site_id", "id"], unique=False)
    op.create_index("ix_route_visit_walk", "route_visit", ["walk_id"], unique=False)
    op.create_table(
        "route_walk",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("route_id", sa.String(), nullable=False),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("finished_at", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_route_walk_route", "route_walk", ["route_id", "started_at"], unique=False)
    op.create_index("ix_route_walk_server_site", "route_walk", ["site_id", "id"], unique=False)
    op.create_table(
        "run",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("playbook_id", sa.String(), nullable=False),
        sa.Column("playbook_version", sa.Integer(), nullable=False),
        sa.Column("playbook_sha256", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("checkpoint_id", sa.String(), nullable=True),
        sa.Column("route_id", sa.String(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("finished_at", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_server_site", "run", ["site_id", "id"], unique=False)
    op.create_index("ix_run_site_started", "run", ["site_id", "started_at"], unique=False)
    op.create_table(
        "site",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("tz", sa.String(), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("sla", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_site_code", "site", ["code"], unique=False)
    op.create_index("ix_site_server_site", "site", ["site_id", "id"], unique=False)
    op.create_table(
        "staff",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("field_hlc", sa.JSON(), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_server_site", "staff", ["site_id", "id"], unique=False)
    op.create_index("ix_staff_site_code", "staff", ["site_id", "code"], unique=False)
    op.create_table(
        "step_result",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("evidence_path", sa.String(), nullable=True),
        sa.Column("evidence_sha256", sa.String(), nullable=True),
        sa.Column("by_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_step_result_run", "step_result", ["run_id"], unique=False)
    op.create_index("ix_step_result_evidence", "step_result", ["evidence_sha256"], unique=False)
    op.create_index("ix_step_result_server_site", "step_result", ["site_id", "id"], unique=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
