"""an indexed `code` on records (an item's number, an event's item): the duplicate-code
and phase-race checks

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_record") as batch:
        batch.add_column(sa.Column("code", sa.String(), nullable=True))
    op.create_index("ix_sync_record_code", "sync_record", ["entity", "site_id", "code"])
    # backfill from the records already held: a code, an item's number, an event's item,
    # a playbook's id@version
    rec = sa.table(
        "sync_record",
        sa.column("entity", sa.String),
        sa.column("record_id", sa.String),
        sa.column("fields", sa.JSON),
        sa.column("code", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(rec.c.entity, rec.c.record_id, rec.c.fields)).all()
    updates = []
    for row in rows:
        f = row.fields or {}
        if row.entity == "playbook":
            value = f"{f['playbook_id']}@{f.get('version')}" if f.get("playbook_id") else None
        else:
            value = f.get({"pdca": "no", "pdca_event": "pdca_id"}.get(row.entity, "code"))
        if value is not None:
            updates.append({"e": row.entity, "r": row.record_id, "c": str(value)})
    if updates:
        conn.execute(
            rec.update()
            .where(rec.c.entity == sa.bindparam("e"), rec.c.record_id == sa.bindparam("r"))
            .values(code=sa.bindparam("c")),
            updates,
        )


def downgrade() -> None:
    op.drop_index("ix_sync_record_code", "sync_record")
    with op.batch_alter_table("sync_record") as batch:
        batch.drop_column("code")
