"""the sync server: sites, users, grants, tokens, the sequence, the change log, records

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "server_site",
        sa.Column("site_id", sa.String(), primary_key=True),
        sa.Column("code", sa.String(), nullable=False, unique=True),
        sa.Column("name", sa.String()),
        sa.Column("created_at", sa.String(), nullable=False),
    )
    op.create_table(
        "server_user",
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False, unique=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
    )
    op.create_table(
        "user_grant",
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("site_code", sa.String(), primary_key=True),
    )
    op.create_table(
        "token",
        sa.Column("token_id", sa.String(), primary_key=True),
        sa.Column("sha256", sa.String(), nullable=False, unique=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("device_name", sa.String(), nullable=False),
        sa.Column("device_id", sa.String()),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("last_used_at", sa.String()),
        sa.Column("revoked_at", sa.String()),
    )
    seq = op.create_table(
        "sync_seq",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.String(), nullable=False),
        sa.Column("min_retained", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(seq, [{"id": 1, "last": 0, "epoch": str(uuid.uuid4()), "min_retained": 0}])
    op.create_table(
        "sync_change",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("change_id", sa.String(), nullable=False, unique=True),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("op", sa.String(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("base", JSON, nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("schema", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("token_id", sa.String()),
        sa.Column("received_at", sa.String(), nullable=False),
    )
    op.create_index("ix_sync_change_site_seq", "sync_change", ["site_id", "seq"])
    op.create_table(
        "sync_record",
        sa.Column("entity", sa.String(), primary_key=True),
        sa.Column("record_id", sa.String(), primary_key=True),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("field_hlc", JSON, nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
    )
    op.create_index("ix_sync_record_site", "sync_record", ["site_id", "entity", "record_id"])


def downgrade() -> None:
    for name in (
        "sync_record",
        "sync_change",
        "sync_seq",
        "token",
        "user_grant",
        "server_user",
        "server_site",
    ):
        op.drop_table(name)
