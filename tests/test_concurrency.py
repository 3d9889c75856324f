"""Two pm processes writing to one database at the same time wait for each other (WAL, busy
timeout, BEGIN IMMEDIATE): nothing fails, nothing is lost, the change log stays gap-free."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

N = 30

# Runs in each subprocess: import once, wait for the start signal, then 30 `pm grid add`.
DRIVER = """
import json, sys, time
from pathlib import Path
import typer.main, typer.testing
from typer.testing import CliRunner
from pm_cli.app import app

command = typer.main.get_command(app)  # built once, as in tests/conftest.py
typer.testing._get_command = lambda _app: command
prefix, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
runner = CliRunner()
ready.touch()
while not go.exists():
    time.sleep(0.005)
results = []
for i in range(int(sys.argv[4])):
    r = runner.invoke(app, ["grid", "add", f"{prefix}-{i:02d}", "--name", f"{prefix}区{i}号"])
    results.append({"code": r.exit_code, "stderr": r.stderr})
print(json.dumps(results, ensure_ascii=False))
"""


@pytest.mark.slow
def test_two_processes_adding_grids_at_once(pm, isolated, tmp_path):
    pm("init")
    pm("site", "add", "CH", "--name", "翠湖花园")
    env = {
        **os.environ,
        "PM_DB": str(isolated),
        "PM_CONFIG": str(tmp_path / "config.toml"),
        "PM_SITE": "CH",
        "PYTHONIOENCODING": "utf-8",
    }
    env.pop("PM_BUSY_TIMEOUT", None)
    go = tmp_path / "go"
    procs = []
    for prefix in ("东", "西"):
        ready = tmp_path / f"ready-{prefix}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", DRIVER, prefix, str(ready), str(go), str(N)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=tmp_path,
                ),
            )
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in procs):
        assert time.monotonic() < deadline, "the drivers did not start"
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        time.sleep(0.01)
    go.touch()
    outputs = []
    for _, p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        outputs.append(json.loads(out))

    for results in outputs:
        failures = [r for r in results if r["code"] != 0]
        assert failures == [], failures
        assert len(results) == N
        joined = "".join(r["stderr"] for r in results).lower()
        assert "locked" not in joined and "busy" not in joined

    codes = [g["code"] for g in pm.json("grid", "list")]
    assert len(codes) == 2 * N
    assert sorted(codes) == sorted(f"{p}-{i:02d}" for p in ("东", "西") for i in range(N))

    con = sqlite3.connect(isolated)
    try:
        nos = [r[0] for r in con.execute("SELECT local_no FROM change ORDER BY local_no")]
        grid_changes = con.execute("SELECT count(*) FROM change WHERE entity = 'grid'")
        n_grid_changes = grid_changes.fetchone()[0]
        stamps = [r[0] for r in con.execute("SELECT hlc FROM change ORDER BY local_no")]
        last = con.execute("SELECT last_hlc FROM sync_state").fetchone()[0]
    finally:
        con.close()
    assert nos == list(range(1, len(nos) + 1))  # gap-free, no duplicates
    assert n_grid_changes == 2 * N
    assert len(set(stamps)) == len(stamps)
    assert stamps == sorted(stamps)  # push order is stamp order
    assert last == stamps[-1]
