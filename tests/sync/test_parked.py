"""Changes from a newer pm (sync.md §5): what this pm knows applies now, the whole change is
parked, and once an upgrade knows the rest the next sync replays it through the merge."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pm_cli.app import app
from pm_cli.protocol.entities import registry
from pm_cli.store.engine import make_engine, session_scope
from pm_cli.store.hlc import parse
from pm_cli.sync import apply
from pm_cli.sync.apply import Applier


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "pm.db"
    env = {"PM_DB": str(path), "PM_CONFIG": str(tmp_path / "c.toml"), "PM_SITE": "CH"}
    for args in (
        ["init"],
        ["site", "add", "CH", "--name", "翠湖花园"],
        ["grid", "add", "A", "--name", "A区 Zone A"],
    ):
        r = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
        assert r.exit_code == 0, r.output
    return path


def _grid(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM grid WHERE code = 'A'").fetchone())
    con.close()
    return row


def _later(stamp: str, device: str = "00000000000000ff") -> str:
    s = parse(stamp)
    return f"{s.wall + 1000:012x}-0000-{device}"


def _change(grid: dict[str, Any], fields: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "change_id": f"0192f0aa-0000-7000-8000-{n:012d}",
        "seq": n,
        "op": "upsert",
        "site_id": grid["site_id"],
        "entity": "grid",
        "record_id": grid["id"],
        "fields": fields,
        "base": {},
        "hlc": _later(grid["updated_hlc"]),
    }


def _run(path: Path, fn: Any) -> Any:
    engine = make_engine(path)
    try:
        with session_scope(engine, path, write=True) as s:
            return fn(Applier(s.connection()))
    finally:
        engine.dispose()


def test_known_fields_apply_now_and_the_whole_change_is_parked(db):
    grid = _grid(db)
    newer = _change(grid, {"name": "新名字 renamed", "floor_area_m2": 1200})
    stranger = {**_change(grid, {"x": 1}, 2), "entity": "lift_log"}

    def pull(a: Applier) -> int:
        a.apply_changes([newer, stranger])
        return a.parked

    assert _run(db, pull) == 2
    assert _grid(db)["name"] == "新名字 renamed"
    con = sqlite3.connect(db)
    parked = con.execute("SELECT seq, reason, change FROM sync_parked ORDER BY seq").fetchall()
    con.close()
    assert [(s, r) for s, r, _ in parked] == [
        (1, "unknown field(s) floor_area_m2 of grid"),
        (2, "unknown entity lift_log (a newer pm wrote it)"),
    ]
    assert json.loads(parked[0][2]) == newer  # kept whole, to replay
    assert _run(db, lambda a: a.replay_parked()) == 0  # this pm still does not know them


def test_after_the_upgrade_the_parked_change_is_replayed_once(db):
    grid = _grid(db)
    newer = _change(grid, {"name": "新名字 renamed", "floor_area_m2": 1200})
    _run(db, lambda a: a.apply_changes([newer]))
    # the upgrade: a migration adds the column, and this pm's model knows the field
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE grid ADD COLUMN floor_area_m2 INTEGER")
    con.commit()
    con.close()
    old = registry()["grid"]
    table = old.table.to_metadata(sa.MetaData())
    table.append_column(sa.Column("floor_area_m2", sa.Integer))
    upgraded = {
        **registry(),
        "grid": replace(old, fields=old.fields | {"floor_area_m2"}, table=table),
    }

    def replay(a: Applier) -> int:
        a.reg = upgraded
        return a.replay_parked()

    apply._PLANS.pop("grid", None)
    try:
        assert _run(db, replay) == 1
        assert _run(db, replay) == 0  # gone from the parked table: nothing twice
    finally:
        apply._PLANS.pop("grid", None)
    row = _grid(db)
    assert (row["name"], row["floor_area_m2"]) == ("新名字 renamed", 1200)
    assert "floor_area_m2" in json.loads(row["field_hlc"])
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM sync_parked").fetchone() == (0,)
    con.close()
