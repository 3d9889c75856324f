"""evidence photos: the blobs, and an index finding the step results that name a sha256

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# the expression pm_cli.server.evidence queries by, written the same way for each dialect,
# so the planner matches the index
EXPRESSION = {
    "postgresql": "(fields ->> 'evidence_sha256')",
    "sqlite": "json_extract(fields, '$.evidence_sha256')",
}


def upgrade() -> None:
    op.create_table(
        "evidence_blob",
        sa.Column("sha256", sa.String(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("token_id", sa.String()),
        sa.Column("uploaded_at", sa.String(), nullable=False),
    )
    expr = EXPRESSION[op.get_bind().dialect.name]
    op.execute(f"CREATE INDEX ix_sync_record_evidence ON sync_record ({expr})")


def downgrade() -> None:
    op.execute("DROP INDEX ix_sync_record_evidence")
    op.drop_table("evidence_blob")
