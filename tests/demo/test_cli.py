"""pm demo: a realistic site on a fresh machine, refused twice, rebuilt with --force."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

HAN = re.compile(r"[\u4e00-\u9fff]")


def _grids(pm, db: Path) -> list[dict]:
    return json.loads(pm("--db", str(db), "--site", "CH", "grid", "list", "--json").stdout)


def _staff(pm, db: Path) -> list[dict]:
    return json.loads(pm("--db", str(db), "--site", "CH", "staff", "list", "--json").stdout)


def _counts(pm, db: Path) -> dict[str, int]:
    """Rows per table, the change log included."""
    return json.loads(pm("--db", str(db), "db", "check", "--json").stdout)["counts"]


def _depths(grids: list[dict]) -> dict[str, int]:
    parent = {g["code"]: g["parent"] for g in grids}

    def depth(code: str) -> int:
        return 1 if parent[code] is None else 1 + depth(parent[code])

    return {code: depth(code) for code in parent}


@pytest.fixture
def demo_db(demo_copy) -> Path:
    """A fresh copy of the demo (built once per session by `pm demo`)."""
    return demo_copy()


def test_demo_builds_site_staff_and_three_level_grids(pm, demo_db: Path):
    site = json.loads(pm("--db", str(demo_db), "site", "show", "CH", "--json").stdout)
    assert site["tz"] == "Asia/Shanghai" and HAN.search(site["address"])

    staff = _staff(pm, demo_db)
    assert 18 <= len(staff) <= 22
    assert all(HAN.fullmatch(c) for p in staff for c in p["name"])
    assert {p["role"] for p in staff} == {"admin", "manager", "lead", "tech"}
    assert all(p["phone"] and p["team"] for p in staff)
    roles = {p["code"]: p["role"] for p in staff}

    grids = _grids(pm, demo_db)
    assert 36 <= len(grids) <= 44
    depths = _depths(grids)
    assert set(depths.values()) == {1, 2, 3}
    tops = {g["code"] for g in grids if g["parent"] is None}
    assert tops == {"A", "B", "P", "G"}
    for g in grids:
        assert g["owner"] in roles, g
        expected = {"manager"} if depths[g["code"]] == 1 else {"lead", "tech"}
        assert roles[g["owner"]] in expected, g
        assert g["tags"], g
        assert len(g["responsibilities"]) <= 3, g
        assert all(HAN.search(t) for t in g["responsibilities"])
    with_duties = [g for g in grids if g["responsibilities"]]
    assert len(with_duties) >= len(grids) * 2 // 3
    levels = {g["risk_level"] for g in grids}
    assert levels == {"minor", "major", "critical"}
    by_name = {g["name"].split()[0]: g for g in grids}
    for spot in ("配电室", "消防控制室", "电梯机房", "消防泵房"):
        assert by_name[spot]["risk_level"] == "critical", spot


def test_demo_prints_the_same_tree_as_grid_tree(pm, tmp_path: Path, isolated: Path):
    db = tmp_path / "fresh" / "demo.db"  # neither the file nor its folder exists yet
    r = pm("demo", "--db", str(db))
    assert db.exists()
    assert not isolated.exists()  # --db on the command wins over PM_DB
    assert not (tmp_path / "config.toml").exists()  # the user config is left alone
    assert "CH 翠湖花园 Cuihu Garden" in r.stdout
    assert f"next: pm --db {db} --site CH grid list" in r.stderr
    tree = pm("--db", str(db), "--site", "CH", "grid", "tree")
    assert r.stdout == tree.stdout
    for line in ("A 1号楼 Building 1", "A-MEP-PD 配电室", "P-EN-1 1号入口坡道", "G-PL 儿童游乐区"):
        assert line in r.stdout


def test_demo_json_is_the_tree(pm, tmp_path: Path):
    db = tmp_path / "j.db"
    nodes = json.loads(pm("demo", "--db", str(db), "--json").stdout)
    assert [n["code"] for n in nodes] == ["A", "B", "G", "P"]
    tree = json.loads(pm("--db", str(db), "--site", "CH", "grid", "tree", "--json").stdout)
    assert nodes == tree


def test_demo_uses_global_db_and_pm_db(pm, tmp_path: Path, isolated: Path):
    pm("demo")  # PM_DB from the fixture: the "run it" path on a fresh machine
    assert isolated.exists()
    assert len(_grids(pm, isolated)) >= 36
    other = tmp_path / "global.db"
    pm("--db", str(other), "demo", "--json")
    assert len(_grids(pm, other)) >= 36


def test_demo_twice_is_refused_and_changes_nothing(pm, demo_db: Path):
    pm("--db", str(demo_db), "--site", "CH", "grid", "edit", "A", "--name", "我的1号楼")
    before = (_grids(pm, demo_db), _staff(pm, demo_db), _counts(pm, demo_db))
    r = pm("demo", "--db", str(demo_db), ok=False)
    assert r.exit_code == 1
    assert f"error: site CH already exists ({demo_db})" in r.stderr
    assert "hint: pm demo --force" in r.stderr
    assert r.stdout == ""
    assert (_grids(pm, demo_db), _staff(pm, demo_db), _counts(pm, demo_db)) == before


def test_demo_force_rebuilds(pm, demo_db: Path):
    cli = ("--db", str(demo_db), "--site", "CH")
    pm(*cli, "grid", "add", "X", "--name", "临时网格")
    pm(*cli, "grid", "edit", "A", "--name", "我的1号楼")
    r = pm("demo", "--db", str(demo_db), "--force")
    assert "A 1号楼 Building 1" in r.stdout
    grids = _grids(pm, demo_db)
    codes = {g["code"] for g in grids}
    assert "X" not in codes and "A" in codes
    assert next(g for g in grids if g["code"] == "A")["name"] == "1号楼 Building 1"
    assert len(_staff(pm, demo_db)) == len({p["code"] for p in _staff(pm, demo_db)})


def test_force_refuses_to_wipe_other_sites(pm, demo_db: Path):
    pm("--db", str(demo_db), "site", "add", "HX", "--name", "华夏大厦")
    r = pm("demo", "--db", str(demo_db), "--force", ok=False)
    assert r.exit_code == 1
    assert "HX" in r.stderr
    sites = json.loads(pm("--db", str(demo_db), "site", "list", "--json").stdout)
    assert {s["code"] for s in sites} == {"CH", "HX"}


def test_demo_adds_to_a_database_without_ch(pm, tmp_path: Path):
    db = tmp_path / "mine.db"
    pm("--db", str(db), "init")
    pm("--db", str(db), "site", "add", "HX", "--name", "华夏大厦")
    pm("demo", "--db", str(db))
    sites = json.loads(pm("--db", str(db), "site", "list", "--json").stdout)
    assert {s["code"] for s in sites} == {"CH", "HX"}


def test_demo_refuses_a_file_that_is_not_a_pm_database(pm, tmp_path: Path):
    import sqlite3

    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    r = pm("demo", "--db", str(db), "--force", ok=False)
    assert r.exit_code == 1
    assert "not a pm database" in r.stderr
    assert db.exists()


def test_demo_has_a_week_of_runs_with_some_failures(pm, demo_db: Path):
    db = str(demo_db)
    runs = json.loads(pm("--db", db, "--site", "CH", "run", "list", "--all", "--json").stdout)
    zone = ZoneInfo("Asia/Shanghai")  # the demo site's days, not UTC's
    days = {datetime.fromisoformat(r["started_at"]).astimezone(zone).date() for r in runs}
    newest = max(days)
    assert days == {newest - timedelta(days=d) for d in range(7)}, days
    assert newest >= datetime.now(zone).date() - timedelta(days=1)
    assert len(runs) >= 40
    assert max(datetime.fromisoformat(r["started_at"]) for r in runs) <= datetime.now(UTC)
    assert any(r["failed"] for r in runs) and any(r["status"] == "open" for r in runs)
    assert sum(r["status"] == "finished" for r in runs) >= len(runs) - 1
    failed = json.loads(pm("--db", db, "--site", "CH", "run", "list", "--failed", "--json").stdout)
    assert 0 < len(failed) < len(runs)


def test_demo_has_items_in_every_phase_some_overdue_and_a_register(pm, demo_db: Path):
    db = str(demo_db)
    base = ("--db", db, "--site", "CH")
    items = json.loads(pm(*base, "pdca", "list", "--all", "--json").stdout)
    assert {i["phase"] for i in items} == {"plan", "do", "check", "act", "closed"}
    assert any(i["cycle"] == 2 for i in items)
    assert json.loads(pm(*base, "pdca", "overdue", "--json").stdout)
    risks = json.loads(pm(*base, "risk", "list", "--json").stdout)
    assert len(risks) >= 62 and {r["level"] for r in risks} == {"minor", "major", "critical"}


def test_demo_has_checkpoints_and_a_day_and_a_night_route(pm, demo_db: Path):
    db = str(demo_db)
    base = ("--db", db, "--site", "CH")
    routes = json.loads(pm(*base, "route", "list", "--json").stdout)
    assert [r["code"] for r in routes] == ["DAY-1", "NIGHT-1"]
    assert all(r["schedule"] and r["window"] for r in routes)
    res = json.loads(pm(*base, "route", "optimize", "NIGHT-1", "--json").stdout)
    assert res["after_m"] < res["before_m"]
