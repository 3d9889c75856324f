"""Import invariants under random files, and a killed import leaving the file as it was."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pm_cli.errors import InputError
from pm_cli.store.engine import make_engine, session_scope
from pm_cli.transfer import service
from tests.conftest import copy_db

NAMES = st.text(alphabet="甲乙丙丁大堂电梯机房 abcXYZ-·（）", min_size=1, max_size=12).filter(
    lambda s: s.strip()
)
TAGS = st.lists(st.sampled_from(["消防", "电梯", "lobby", "设备", "高层"]), max_size=3)


@st.composite
def grid_files(draw):
    """A grid table whose parent links form a forest, rows in any order."""
    n = draw(st.integers(1, 12))
    codes = [f"G{i}" for i in range(n)]
    rows = []
    for i, code in enumerate(codes):
        parent = draw(st.sampled_from(["", *codes[:i]])) if i else ""
        rows.append(
            {
                "code": code,
                "name": draw(NAMES),
                "parent": parent,
                "owner": draw(st.sampled_from(["", "S1", "S2"])),
                "risk_level": draw(st.sampled_from(["minor", "major", "critical", "一般", "重大"])),
                "tags": ";".join(draw(TAGS)),
                "responsibilities": ";".join(draw(st.lists(NAMES, max_size=2))),
            }
        )
    return draw(st.permutations(rows))


def to_csv(rows) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def change_count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM change").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=grid_files())
def test_import_is_idempotent_and_round_trips(pm, tmp_path, monkeypatch, init_template, rows):
    case = tmp_path / f"case{abs(hash(json.dumps(rows, ensure_ascii=False)))}"
    case.mkdir(exist_ok=True)
    db = case / "pm.db"
    for stale in (db, db.with_name("pm.db-wal"), db.with_name("pm.db-shm")):
        stale.unlink(missing_ok=True)
    monkeypatch.setenv("PM_DB", str(db))
    copy_db(init_template, db)  # a fresh `pm init` database
    pm("site", "add", "CH", "--name", "站")
    for s in ("S1", "S2"):
        pm("--site", "CH", "staff", "add", s, "--name", s, "--role", "lead")
    src = case / "grids.csv"
    src.write_bytes(to_csv(rows))
    first = json.loads(pm("--site", "CH", "import", str(src), "--kind", "grids", "--json").stdout)
    assert first["created"] == len(rows)
    before = change_count(db)
    again = json.loads(pm("--site", "CH", "import", str(src), "--kind", "grids", "--json").stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, len(rows))
    assert change_count(db) == before
    exported = pm("--site", "CH", "export", "grids", "--format", "json").stdout
    by_code = {r["code"]: r for r in json.loads(exported)}
    for r in rows:
        assert by_code[r["code"]]["parent"] == (r["parent"] or None)
        assert by_code[r["code"]]["owner"] == (r["owner"] or None)


def test_a_cycle_through_the_database_is_refused(pm, site, write_file, isolated):
    pm("grid", "add", "A", "--name", "甲")
    pm("grid", "add", "B", "--name", "乙", "--parent", "A")
    path = write_file("g.csv", "code,parent\nA,B\n")  # A under B, which is under A
    engine = make_engine(isolated)
    try:
        with session_scope(engine, isolated, write=False) as s:
            from pm_cli.sites.service import get_site

            table = service.read(path, kind="grids")
            try:
                service.import_table(s, table, kind="grids", site=get_site(s, "CH"))
            except InputError as e:
                assert any("cycle: A → B → A" in p.message for p in e.problems)
            else:
                raise AssertionError("a cycle was accepted")
    finally:
        engine.dispose()


def test_killed_import_leaves_all_or_nothing(pm, site, tmp_path, isolated):
    rows = 60_000
    src = tmp_path / "big.csv"
    with src.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "parent", "owner"])
        for i in range(rows):
            w.writerow([f"K{i:06d}", f"网格{i}", f"K{i // 10:06d}" if i >= 10 else "", "S1"])
    env = {**os.environ, "PM_DB": str(isolated), "PM_SITE": "CH"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pm_cli", "import", str(src), "--kind", "grids"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wal = Path(str(isolated) + "-wal")
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 2_000_000:  # rows are being written
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    check = json.loads(pm("db", "check", "--json").stdout)
    assert check["ok"], check
    con = sqlite3.connect(isolated)
    grids = con.execute("SELECT count(*) FROM grid").fetchone()[0]
    logged = con.execute("SELECT count(*) FROM change WHERE entity='grid'").fetchone()[0]
    con.close()
    assert grids in (0, rows)
    assert logged == grids
    # and the file still takes writes
    pm("grid", "add", "AFTER", "--name", "之后")
