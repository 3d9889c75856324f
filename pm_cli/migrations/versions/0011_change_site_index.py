"""the change log: what is still to send, and a site's own creation, found by index

`pdca add` (and every failed step that opens an item) asks whether the server has seen the
site, by its creation change in the log; `pm sync` reads the changes still to send, in
order, and `pm sync status` counts them. Without indexes each read the whole log (1.7
million rows after a year of a large site: seconds each). Both indexes are partial: the
`site` rows only, and the changes not yet acknowledged (most of a synced laptop's log is
acknowledged, so that index stays small where it is used most).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 11


def upgrade() -> None:
    op.create_index(
        "ix_change_site_record", "change", ["record_id"], sqlite_where=sa.text("entity = 'site'")
    )
    op.create_index(
        "ix_change_unsent",
        "change",
        ["local_no", "state"],
        sqlite_where=sa.text("state != 'acked'"),
    )
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    op.drop_index("ix_change_unsent", table_name="change")
    op.drop_index("ix_change_site_record", table_name="change")
    op.execute("PRAGMA user_version = 10")
