"""pm init · pm db migrate|check|backup, and how a database file is opened or refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pm_cli.store.engine import SCHEMA_VERSION


def sql(path: Path, statement: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute(statement, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def user_version(path: Path) -> int:
    return sql(path, "PRAGMA user_version")[0][0]


def head() -> str:
    from pm_cli.db import service

    return service.head_revision()


def downgrade_to(path: Path, revision: str) -> None:
    """What a file made by an older pm looks like: alembic at `revision`."""
    from alembic import command

    from pm_cli.db import service
    from pm_cli.store.engine import make_engine

    engine = make_engine(path)
    try:
        with engine.execution_options(pm_write=True).begin() as conn:
            command.downgrade(service._alembic_config(conn), revision)
    finally:
        engine.dispose()


def downgrade_to_base(path: Path) -> None:
    """What a file made before revision 0001 looks like: alembic at base, no tables."""
    downgrade_to(path, "base")


# ---- pm init --------------------------------------------------------------------------


def test_init_creates_then_is_harmless(pm, isolated):
    first = pm.json("init")
    assert first == {
        "path": str(isolated),
        "created": True,
        "from_version": 0,
        "to_version": SCHEMA_VERSION,
    }
    device = sql(isolated, "SELECT device_id FROM sync_state")
    pm("site", "add", "CH", "--name", "翠湖花园")
    second = pm.json("init")
    assert second["created"] is False
    assert second["from_version"] == second["to_version"] == SCHEMA_VERSION
    r = pm("init")
    assert "up to date" in r.stderr
    assert [s["name"] for s in pm.json("site", "list")] == ["翠湖花园"]
    assert sql(isolated, "SELECT device_id FROM sync_state") == device  # same device
    assert user_version(isolated) == SCHEMA_VERSION


def test_init_makes_missing_folders(pm, tmp_path):
    path = tmp_path / "a" / "b" / "pm.db"
    pm("--db", str(path), "init")
    assert path.exists()
    assert pm.json("--db", str(path), "site", "list") == []


def test_init_refuses_a_sqlite_file_that_is_not_pm(pm, tmp_path):
    other = tmp_path / "other.db"
    sql(other, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    before = other.read_bytes()
    r = pm("--db", str(other), "init", ok=False)
    assert r.exit_code == 1
    assert "error: this SQLite file is not a pm database" in r.stderr and "hint: " in r.stderr
    assert other.read_bytes() == before


def test_init_refuses_a_file_that_is_not_sqlite(pm, tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"shopping list: \xe9\x9d\x92\xe8\x8f\x9c\n" * 200)
    before = junk.read_bytes()
    r = pm("--db", str(junk), "init", ok=False)
    assert r.exit_code == 1 and "error: " in r.stderr
    assert junk.read_bytes() == before


# ---- opening: missing, foreign, newer, older ------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("site", "list"),
        ("site", "add", "CH", "--name", "x"),
        ("grid", "list"),
        ("db", "check"),
        ("db", "migrate"),
        ("db", "backup", "b.db"),
    ],
)
def test_missing_database_tells_to_init_and_creates_nothing(pm, isolated, tmp_path, args):
    r = pm(*args, ok=False)
    assert r.exit_code != 0
    assert f"error: no pm database here ({isolated})" in r.stderr
    assert "hint: run `pm init`" in r.stderr
    assert not isolated.exists()
    assert not (tmp_path / "b.db").exists()


def test_a_file_that_is_not_a_database_is_refused(pm, isolated):
    isolated.write_bytes(b"\x00not sqlite\x00" * 100)
    before = isolated.read_bytes()
    r = pm("site", "list", ok=False)
    assert r.exit_code == 1
    assert "error: not a database file: SQLite cannot read it" in r.stderr
    assert "hint: pass --db with your pm database, or restore" in r.stderr
    assert "Traceback" not in r.output
    assert isolated.read_bytes() == before


def test_a_sqlite_file_without_pm_schema_is_refused(pm, isolated):
    sql(isolated, "CREATE TABLE t (x)")
    r = pm("site", "list", ok=False)
    assert r.exit_code == 1
    assert "error: not a pm database (no schema revision)" in r.stderr


def test_a_database_from_a_newer_pm_is_refused_untouched(pm, isolated):
    pm("init")
    pm("site", "add", "CH", "--name", "翠湖花园")
    sql(isolated, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = isolated.read_bytes()
    for args in (
        ("site", "list"),
        ("site", "add", "BJ", "--name", "北京"),
        ("init",),
        ("db", "migrate"),
        ("db", "check"),
        ("grid", "list"),
    ):
        r = pm(*args, ok=False)
        assert r.exit_code == 1, args
        assert "made by a newer pm" in r.stderr, args
        assert "upgrade pm" in r.stderr, args
        assert isolated.read_bytes() == before, args
    assert user_version(isolated) == SCHEMA_VERSION + 1
    assert sql(isolated, "SELECT code FROM site") == [("CH",)]


def test_an_older_schema_asks_for_migrate_which_brings_it_to_head(pm, isolated):
    pm("init")
    downgrade_to_base(isolated)
    assert user_version(isolated) < SCHEMA_VERSION
    r = pm("site", "list", ok=False)
    assert r.exit_code == 1
    assert "older than this pm" in r.stderr
    assert "hint: run `pm db migrate`" in r.stderr
    out = pm.json("db", "migrate")
    assert out["from_version"] == 0 and out["to_version"] == SCHEMA_VERSION
    assert user_version(isolated) == SCHEMA_VERSION
    check = pm.json("db", "check")
    assert check["ok"] is True and check["revision"] == head()
    pm("site", "add", "CH", "--name", "翠湖花园")
    assert [s["code"] for s in pm.json("site", "list")] == ["CH"]


def test_a_file_at_the_first_revision_opens_after_migrate_with_its_data(pm, isolated):
    pm("init")
    pm("site", "add", "CH", "--name", "翠湖花园")
    pm("staff", "add", "S1", "--name", "张伟", "--role", "lead")
    pm("grid", "add", "A", "--name", "A栋", "--owner", "S1")
    downgrade_to(isolated, "0001")  # as the first release left it
    assert sql(isolated, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert sql(isolated, "PRAGMA user_version") == [(1,)]
    r = pm("grid", "list", ok=False)
    assert r.exit_code == 1 and "pm db migrate" in r.stderr
    pm("db", "migrate")
    pm("db", "migrate")  # twice is harmless
    assert pm.json("grid", "show", "A")["owner_name"] == "张伟"
    assert pm.json("db", "check")["revision"] == head()


def test_migrate_leaves_a_file_that_opens(pm, isolated):
    """A file whose user_version lags its Alembic revision: `pm db migrate` says it migrated
    it, so the next command must open it instead of asking for `pm db migrate` again."""
    pm("init")
    pm("site", "add", "CH", "--name", "翠湖花园")
    sql(isolated, "PRAGMA user_version = 0")
    r = pm("site", "list", ok=False)
    assert "hint: run `pm db migrate`" in r.stderr
    pm("db", "migrate")
    assert [s["code"] for s in pm.json("site", "list")] == ["CH"]


# ---- pm db check ----------------------------------------------------------------------


def test_check_reports_ok_schema_and_revision(pm, isolated):
    pm("init")
    pm("site", "add", "CH", "--name", "翠湖花园")
    report = pm.json("db", "check")
    assert report["ok"] is True
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["revision"] == report["head"] == head()
    assert report["integrity"] == [] and report["dangling"] == []
    counts = report["counts"]
    # one change for the site; the bundled playbooks pm init installed are append-only rows,
    # logged at the first sync (a database that never syncs keeps no second copy of them)
    assert counts["site"] == 1 and counts["change"] == 1 and counts["playbook"] > 0
    r = pm("db", "check")
    assert head() in r.stdout


def _insert_grid(path: Path, *, gid: str, site_id: str, parent_id=None, owner_id=None):
    stamp = sql(path, "SELECT last_hlc FROM sync_state")[0][0]
    sql(
        path,
        "INSERT INTO grid (id, site_id, created_at, deleted, field_hlc, updated_hlc, "
        "code, name, parent_id, owner_id, risk_level, tags) "
        "VALUES (?, ?, '2026-03-01T06:00:00.000Z', 0, '{}', ?, ?, ?, ?, ?, 'minor', '[]')",
        (gid, site_id, stamp, f"X-{gid[-4:]}", "孤儿网格", parent_id, owner_id),
    )


def test_check_reports_dangling_references(pm, site, isolated):
    site_id = sql(isolated, "SELECT id FROM site")[0][0]
    _insert_grid(isolated, gid="orphan-0001", site_id=site_id, parent_id="missing-parent")
    _insert_grid(isolated, gid="orphan-0002", site_id=site_id, owner_id="missing-owner")
    r = pm("db", "check", ok=False)
    assert r.exit_code == 1
    assert "grid orphan-0001: parent_id missing-parent has no grid row" in r.stderr
    assert "grid orphan-0002: owner_id missing-owner has no staff row" in r.stderr
    r = pm("db", "check", "--json", ok=False)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["ok"] is False
    assert sorted(report["dangling"]) == [
        "grid orphan-0001: parent_id missing-parent has no grid row",
        "grid orphan-0002: owner_id missing-owner has no staff row",
    ]
    # the rest of pm still works: the orphan shows at the top level
    rows = {g["code"]: g for g in pm.json("grid", "list")}
    assert rows["X-0001"]["parent"] is None


def test_check_reports_a_duty_whose_grid_is_gone(pm, site, isolated):
    pm("grid", "add", "A", "--name", "A栋", "--duty", "巡查")
    sql(isolated, "UPDATE grid_duty SET grid_id = 'nowhere'")
    r = pm("db", "check", "--json", ok=False)
    assert r.exit_code == 1
    (line,) = json.loads(r.stdout)["dangling"]
    assert line.startswith("grid_duty ") and "grid_id nowhere has no grid row" in line


# ---- pm db backup ---------------------------------------------------------------------


def test_backup_is_a_database_pm_can_read(pm, site, tmp_path):
    pm("grid", "add", "A", "--name", "A栋 [大堂]", "--owner", "S1", "--tag", "消防")
    dest = tmp_path / "backups" / "pm-2026-03-01.db"
    out = pm.json("db", "backup", str(dest))
    assert out == {"backup": str(dest)}
    assert dest.exists()
    for what in (("site", "list"), ("staff", "list"), ("grid", "list")):
        assert pm.json("--db", str(dest), *what) == pm.json(*what), what
    assert pm.json("--db", str(dest), "db", "check")["ok"] is True
    # the backup is a copy: writing to one leaves the other alone
    pm("grid", "add", "B", "--name", "B栋")
    assert [g["code"] for g in pm.json("--db", str(dest), "grid", "list")] == ["A"]


def test_backup_refuses_to_overwrite_without_force(pm, site, tmp_path):
    dest = tmp_path / "backup.db"
    pm("db", "backup", str(dest))
    pm("grid", "add", "A", "--name", "A栋")
    before = dest.read_bytes()
    r = pm("db", "backup", str(dest), ok=False)
    assert r.exit_code == 1
    assert f"error: the backup file exists ({dest})" in r.stderr
    assert "hint: " in r.stderr and "--force" in r.stderr
    assert dest.read_bytes() == before
    assert pm.json("--db", str(dest), "grid", "list") == []
    pm("db", "backup", str(dest), "--force")
    assert [g["code"] for g in pm.json("--db", str(dest), "grid", "list")] == ["A"]


def test_backup_into_a_folder_and_never_over_itself(pm, site, isolated, tmp_path):
    folder = tmp_path / "bk"
    folder.mkdir()
    out = pm.json("db", "backup", str(folder))
    assert out["backup"] == str(folder / isolated.name)
    before = isolated.read_bytes()
    r = pm("db", "backup", str(isolated), "--force", ok=False)
    assert r.exit_code == 1 and "overwrite the database itself" in r.stderr
    assert isolated.read_bytes() == before
