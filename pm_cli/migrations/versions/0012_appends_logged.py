"""sync_state.appends_logged: whether append-only rows are in the change log

A database that has never synced keeps its append-only rows (checklist answers, route
visits, PDCA, drill and risk events) out of the change log: the rows themselves are the
only copy until the first `pm sync` logs them all at once, in stamp order. A year of a
2,000-grid site logged 1.5 million of them, half the file. A database made before this
revision has logged every row it holds, so it keeps doing so.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 12


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(
            sa.Column("appends_logged", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("appends_logged")
    op.execute("PRAGMA user_version = 11")
