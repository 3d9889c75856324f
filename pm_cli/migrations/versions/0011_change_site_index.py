"""the change log: a site's own creation found by index

`pdca add` (and every failed step that opens an item) asks whether the server has seen the
site, by its creation change in the log; without an index that read the whole log, half a
second a call on a year of a large site. A partial index holds only the `site` rows, so it
costs a few bytes per site.

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
    op.create_index("ix_change_site_record", "change", ["record_id"],
                    sqlite_where=sa.text("entity = 'site'"))
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    op.drop_index("ix_change_site_record", table_name="change")
    op.execute("PRAGMA user_version = 10")
