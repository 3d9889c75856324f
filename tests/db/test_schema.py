"""The migrations build exactly the tables the models describe, with no UNIQUE on codes."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from pm_cli.schema import metadata

SYNCED = ("site", "staff", "grid", "grid_duty")


def test_models_and_migrations_agree(pm, isolated):
    pm("init")
    engine = create_engine(f"sqlite:///{isolated}")
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_synced_tables_have_no_unique_index_and_no_foreign_key(pm, isolated):
    pm("init")
    con = sqlite3.connect(isolated)
    try:
        for table in SYNCED:
            cols = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
            assert {"id", "site_id", "created_at", "deleted", "field_hlc", "updated_hlc"} <= cols
            assert con.execute(f"PRAGMA foreign_key_list({table})").fetchall() == []
            for _seq, name, unique, origin, _partial in con.execute(f"PRAGMA index_list({table})"):
                assert not unique or origin == "pk", f"{table}: unique index {name}"
    finally:
        con.close()
