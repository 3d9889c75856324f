"""The laptop's database holds everything pm knows about a site: made owner-only (0600) on
POSIX, its -wal and -shm files alike; a file that already exists keeps the mode it has."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_installed import pm_executable

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def pm(*args: str, db: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """The installed pm, as a user with this umask runs it (022: files readable by all)."""
    r = subprocess.run(
        [pm_executable(), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PM_SITE": "CH"},
        preexec_fn=lambda: os.umask(umask),
    )  # POSIX only (skipped on Windows)
    assert r.returncode == 0, r.stderr
    return r


def test_pm_init_makes_the_database_owner_only_and_its_wal_files_follow(tmp_path):
    db = tmp_path / "data" / "pm.db"  # its folder made too
    pm("init", db=db)
    assert mode(db) == 0o600
    pm("site", "add", "CH", "--name", "翠湖花园", db=db)
    assert mode(db) == 0o600
    # while a connection is open the -wal and -shm files exist: SQLite gives them its mode
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.execute("SELECT count(*) FROM site").fetchone()
        for side in ("-wal", "-shm"):
            assert mode(db.with_name(db.name + side)) == 0o600, side
    finally:
        con.close()


def test_a_stricter_umask_is_kept(tmp_path):
    db = tmp_path / "pm.db"
    pm("init", db=db, umask=0o277)
    assert mode(db) == 0o400


def test_an_existing_files_mode_is_left_as_the_user_set_it(tmp_path):
    shared = tmp_path / "shared.db"
    shared.touch()
    shared.chmod(0o640)  # shared with a group on purpose: an empty file pm init fills
    pm("init", db=shared)
    assert mode(shared) == 0o640
    assert pm("db", "check", db=shared).returncode == 0
    mine = tmp_path / "mine.db"
    pm("init", db=mine)
    mine.chmod(0o644)
    pm("init", db=mine)  # init again (harmless): the mode stays
    assert mode(mine) == 0o644


def test_pm_demo_and_a_backup_are_owner_only_too(tmp_path):
    db = tmp_path / "demo.db"
    pm("demo", db=db)
    assert mode(db) == 0o600
    pm("db", "backup", str(tmp_path / "copy.db"), db=db)
    assert mode(tmp_path / "copy.db") == 0o600
