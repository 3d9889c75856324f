"""The file and the disk: a full disk, a read-only file or folder, a damaged page, a file that
is no database, a revision from a newer pm: each one `error:` line with what to do, exit 1,
no traceback, for every command. The conditions are made for real on real files."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.db.test_cli import sql


def pm_executable() -> str:
    exe = Path(sys.executable).parent / ("pm.exe" if os.name == "nt" else "pm")
    found = str(exe) if exe.is_file() else shutil.which("pm")
    assert found, "no installed pm console script: pip install '.[test]'"
    return found


def run_pm(*args: str, db: Path, wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    """The installed `pm` as a subprocess on `db`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_")}
    env.update(PM_DB=str(db), PM_CONFIG=str(db.with_name("config.toml")), PM_SITE="CH")
    return subprocess.run(
        [*(wrap or []), pm_executable(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_error(r, *words: str) -> None:
    """Exit 1, an `error:` line saying `words`, a hint, no traceback."""
    out = r.stdout + r.stderr
    code = r.exit_code if hasattr(r, "exit_code") else r.returncode
    assert code == 1, out
    assert "Traceback" not in out, out
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out
    for w in words:
        assert w in errors[0] or w in r.stderr, out
    assert "hint: " in r.stderr, out


def checkpoint(path: Path) -> None:
    """Everything in the WAL written into the file itself, so its pages can be edited."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        con.close()


def damage_table(path: Path, table: str) -> None:
    """Overwrite the root page of `table` in the file with bytes that are no b-tree page."""
    checkpoint(path)
    ((page_size,),) = sql(path, "PRAGMA page_size")
    ((root,),) = sql(path, "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)


# ---- a full disk (SQLITE_FULL) --------------------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch, isolated):
    """Every connection pm opens may not grow the file: SQLite answers SQLITE_FULL
    ("database or disk is full") exactly as on a full disk."""
    from sqlalchemy import event

    from pm_cli.store import engine as store_engine

    make = store_engine.make_engine

    def tight(path: Path):
        eng = make(path)

        @event.listens_for(eng, "connect")
        def _no_room(dbapi_conn, _record):
            n = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count = {n}")

        return eng

    checkpoint(isolated)
    monkeypatch.setattr(store_engine, "make_engine", tight)


BIG = "巡查消防通道并拍照记录" * 1500  # ~50 KB of text: pages the file must grow by
DUTIES = [a for i in range(60) for a in ("--duty", f"{i} " + "巡查消防通道并拍照记录" * 40)]


@pytest.mark.parametrize(
    "args",
    [
        ("grid", "add", "A", "--name", "A栋", *DUTIES),
        ("pdca", "add", "地面积水", "--severity", "minor", "--description", BIG),
        ("site", "add", "BJ", "--name", "北京", "--address", BIG),
    ],
)
def test_a_full_disk_is_one_error_line_and_nothing_is_written(pm, site, isolated, full_disk, args):
    before = sql(isolated, "SELECT count(*) FROM change")
    r = pm(*args, ok=False)
    assert_one_error(r, "the disk is full", "free some space")
    assert f"({isolated})" in r.stderr
    assert sql(isolated, "SELECT count(*) FROM change") == before


# ---- a damaged page (SQLITE_CORRUPT) --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("site", "list"),
        ("grid", "list"),
        ("grid", "add", "A", "--name", "A栋"),
        ("today",),
        ("staff", "add", "S9", "--name", "王五", "--role", "lead"),
        ("export", "grids", "--format", "json"),
    ],
)
def test_a_damaged_table_is_one_error_line_naming_the_backup(pm, site, isolated, args):
    damage_table(isolated, "site")
    r = pm(*args, ok=False)
    assert_one_error(r, "the database is damaged", "restore your newest backup", "pm db backup")


def test_a_damaged_file_through_the_installed_pm(site, isolated):
    damage_table(isolated, "staff")
    r = run_pm("staff", "list", db=isolated)
    assert_one_error(r, "the database is damaged", f"({isolated})", "restore your newest backup")


def test_check_full_finds_an_index_that_no_longer_matches_its_table(pm, site, isolated):
    """quick_check (the default: a big file in seconds) reads every page; --full also
    compares each index with its table, which only integrity_check does."""
    import sqlite3

    pm("staff", "add", "S3", "--name", "王芳", "--role", "tech")
    index = sql(
        isolated,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND "
        "tbl_name = 'staff' AND sql IS NOT NULL",
    )[0][0]
    con = sqlite3.connect(isolated)
    ((version,),) = con.execute("PRAGMA schema_version").fetchall()
    con.execute("PRAGMA writable_schema = 1")  # the index now claims another column
    con.execute(
        "UPDATE sqlite_master SET sql = ? WHERE name = ?",
        (f"CREATE INDEX {index} ON staff(name)", index),
    )
    con.execute(f"PRAGMA schema_version = {version + 1}")
    con.commit()
    con.close()
    assert json.loads(pm("db", "check", "--json").stdout)["integrity"] == []
    r = pm("db", "check", "--full", "--json", ok=False)
    err = json.loads(r.stderr)
    assert err["message"].startswith("the database is damaged: integrity_check found")
    assert any(index in line for line in json.loads(r.stdout)["integrity"])


def test_check_reports_the_damage_and_backup_keeps_the_older_copy(pm, site, isolated, tmp_path):
    dest = tmp_path / "backup.db"
    pm("db", "backup", str(dest))
    good = dest.read_bytes()
    damage_table(isolated, "staff")
    r = pm("db", "check", "--json", ok=False)
    err = json.loads(r.stderr)  # --json: the error is one JSON object on stderr
    assert err["error"] == "store" and r.exit_code == 1
    assert err["message"].startswith("the database is damaged: quick_check found")
    report = json.loads(r.stdout)
    assert report["ok"] is False and report["integrity"]
    r = pm("db", "backup", str(dest), "--force", ok=False)
    assert_one_error(r, "the backup copy failed its integrity check")
    assert dest.read_bytes() == good  # the older backup is still the good one
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == [
        "backup.db"
    ]


def test_an_interrupted_backup_leaves_no_part_file_and_the_old_one(pm, site, tmp_path, monkeypatch):
    from pm_cli.db import service

    dest = tmp_path / "backup.db"
    pm("db", "backup", str(dest))
    good = dest.read_bytes()
    pm("grid", "add", "A", "--name", "A栋")

    def ctrl_c(_path):
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "_integrity", ctrl_c)
    r = pm("db", "backup", str(dest), "--force", ok=False)
    assert r.exit_code == 130
    assert "nothing was written" in r.stderr
    assert dest.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("backup")] == ["backup.db"]


# ---- not a database, a newer revision -------------------------------------------------------


def test_a_file_that_is_not_a_database_through_the_installed_pm(tmp_path):
    db = tmp_path / "pm.db"
    db.write_bytes(b"PK\x03\x04 a zip, say " * 200)
    for args in (
        ("site", "list"),
        ("db", "check"),
        ("db", "migrate"),
        ("init",),
        ("db", "backup", str(tmp_path / "b.db")),
    ):
        r = run_pm(*args, db=db)
        assert r.returncode == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr, (args, r.stderr)
        assert r.stderr.startswith("error: "), (args, r.stderr)
        assert "hint: " in r.stderr, (args, r.stderr)
    assert not (tmp_path / "b.db").exists()


def test_an_unknown_revision_is_a_newer_pm_for_every_command(pm, site, isolated, tmp_path):
    sql(isolated, "UPDATE alembic_version SET version_num = '0042'")
    checkpoint(isolated)
    before = isolated.read_bytes()
    for args in (
        ("site", "list"),
        ("grid", "add", "A", "--name", "A栋"),
        ("init",),
        ("db", "migrate"),
        ("db", "check"),
        ("today",),
        ("db", "backup", str(tmp_path / "b.db")),
    ):
        r = pm(*args, ok=False)
        assert_one_error(r, "made by a newer pm", "revision 0042", "upgrade pm")
        assert isolated.read_bytes() == before, args
    assert not (tmp_path / "b.db").exists()


def test_the_known_revisions_are_the_migrations():
    from alembic.script import ScriptDirectory

    from pm_cli.db import service
    from pm_cli.store.engine import REVISIONS

    script = ScriptDirectory.from_config(service._alembic_config(None))
    assert sorted(r.revision for r in script.walk_revisions()) == list(REVISIONS)
    assert REVISIONS[-1] == service.head_revision()


# ---- read-only file and folder ----------------------------------------------------------


def without_root_powers() -> list[str]:
    """A prefix that runs a command so that file modes bind it. Root ignores chmod (CAP_
    DAC_OVERRIDE), and a setuid to nobody cannot reach an interpreter under /root: drop the
    two capabilities instead (util-linux setpriv), staying uid 0."""
    if os.name == "nt":
        pytest.skip("POSIX file modes")
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: chmod cannot bind this process")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.fixture
def ro_site(pm, site, isolated, tmp_path):
    """The site database alone in its folder, WAL folded in (no -wal/-shm files beside it)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "pm.db"
    checkpoint(isolated)
    shutil.copyfile(isolated, db)
    wrap = without_root_powers()
    yield db, wrap
    os.chmod(folder, 0o755)
    os.chmod(db, 0o644)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_file_or_folder_is_one_error_line(ro_site, what):
    db, wrap = ro_site
    if what == "file":
        os.chmod(db, 0o444)
    else:
        os.chmod(db.parent, 0o555)
    probe = subprocess.run([*wrap, "sh", "-c", f"echo >> '{db}'"], capture_output=True)
    if what == "file":
        assert probe.returncode != 0, "the file is writable after all"
    before = db.read_bytes()
    r = run_pm("grid", "add", "A", "--name", "A栋", db=db, wrap=wrap)
    assert_one_error(r, "read-only", f"({db})", "writable")
    assert f"the database {what} is read-only" in r.stderr
    assert db.read_bytes() == before


# ---- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_after_the_commit_says_the_change_is_kept(pm, site, monkeypatch):
    from pm_cli import output

    def ctrl_c(self, message, obj=None):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(output.Output, "done", ctrl_c)
        r = pm("grid", "add", "A", "--name", "A栋", ok=False)
    assert r.exit_code == 130
    assert "nothing" not in r.stderr
    assert "the changes saved before it are kept" in r.stderr
    assert [g["code"] for g in pm.json("grid", "list")] == ["A"]


def test_ctrl_c_before_the_commit_says_nothing_was_written(pm, site, monkeypatch):
    from pm_cli.grids import service

    def ctrl_c(*_a, **_k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(service, "add_grid", ctrl_c)
        r = pm("grid", "add", "A", "--name", "A栋", ok=False)
    assert r.exit_code == 130
    assert "interrupted; nothing was written" in r.stderr
    assert pm.json("grid", "list") == []
