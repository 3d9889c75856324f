"""`pm db check` reports every dangling reference the schema has, from one map (REFS)."""

from __future__ import annotations

import json

from tests.db.test_cli import sql


def test_every_id_column_of_a_synced_table_is_a_reference_or_said_not_to_be():
    from pm_cli.db import service
    from pm_cli.protocol.entities import NOT_REFS, REFS, registry

    checked = {(t, c) for t, c, _ in service.references()}
    for name, ent in registry().items():
        for col in ent.table.c.keys():
            if not col.endswith("_id") or col in NOT_REFS:
                continue
            assert col in REFS or col == "site_id", f"{name}.{col}: add it to REFS or NOT_REFS"
            assert (name, col) in checked, f"{name}.{col} is not checked by pm db check"
    assert len([c for c in checked if c[1] != "site_id"]) == 31


def test_check_finds_a_dangling_value_in_every_reference_column(pm, demo_copy):
    from pm_cli.db import service

    db = demo_copy()
    broken = set()
    for table, column, _target in service.references():
        rows = sql(db, f"SELECT id FROM {table} WHERE {column} IS NOT NULL LIMIT 1")
        if rows:
            sql(
                db,
                f"UPDATE {table} SET {column} = ? WHERE id = ?",
                (f"gone-{table}-{column}", rows[0][0]),
            )
            broken.add((table, column))
    assert len(broken) >= 20  # the demo fills most tables
    r = pm("--db", str(db), "db", "check", "--json", ok=False)
    assert r.exit_code == 1
    dangling = json.loads(r.stdout)["dangling"]
    for table, column in broken:
        assert any(
            f": {column} gone-{table}-{column} has no " in line and line.startswith(f"{table} ")
            for line in dangling
        ), (table, column)


def test_check_finds_a_run_of_an_unknown_playbook_and_a_stop_at_no_checkpoint(pm, demo_copy):
    db = demo_copy()
    ((run_id,),) = sql(db, "SELECT id FROM run LIMIT 1")
    sql(db, "UPDATE run SET playbook_version = 999 WHERE id = ?", (run_id,))
    ((route_id,),) = sql(db, "SELECT id FROM route WHERE json_array_length(stops) > 0 LIMIT 1")
    sql(
        db,
        "UPDATE route SET stops = json_set(stops, '$[0].checkpoint', 'nowhere') WHERE id = ?",
        (route_id,),
    )
    r = pm("--db", str(db), "db", "check", "--json", ok=False)
    dangling = json.loads(r.stdout)["dangling"]
    assert any(
        line.startswith(f"run {run_id}: playbook ") and "@999 has no playbook row" in line
        for line in dangling
    ), dangling
    assert f"route {route_id}: stops[0].checkpoint nowhere has no checkpoint row" in dangling


def test_check_finds_a_conflict_about_no_record(pm, demo_copy):
    db = demo_copy()
    ((site_id,),) = sql(db, "SELECT id FROM site LIMIT 1")
    sql(
        db,
        "INSERT INTO conflict (id, site_id, created_at, deleted, field_hlc, updated_hlc, "
        "entity, record_id, kind) VALUES ('c-1', ?, '2026-03-01T06:00:00.000Z', 0, '{}', "
        "'x', 'grid', 'no-such-grid', 'duplicate_code')",
        (site_id,),
    )
    r = pm("--db", str(db), "db", "check", "--json", ok=False)
    assert (
        "conflict c-1: record_id no-such-grid has no grid row" in json.loads(r.stdout)["dangling"]
    )
