"""A code made on two laptops offline is held by two rows after sync: every command that
looks it up refuses it (none picks one), imports too, and lists mark both rows. Checked with
the installed `pm` in a fresh process on one laptop's file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.sync.test_sync import setup_site

PM = Path(sys.executable).parent / "pm"


def test_a_code_held_twice_is_refused_everywhere(laptop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = laptop("a", "alice"), laptop("b", "alice")  # one manager, two laptops
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "add", "G-12", "--name", "甲建的 made on A")
    b("grid", "add", "G-12", "--name", "乙建的 made on B")
    a("staff", "add", "S9", "--name", "甲 A's", "--role", "tech")
    b("staff", "add", "S9", "--name", "乙 B's", "--role", "tech")
    for lp in (a, b, a):
        lp("sync")

    env = {
        **os.environ,
        "PM_DB": str(a.db),
        "PM_CONFIG": str(a.config),
        "PM_SITE": "CH",
        "COLUMNS": "200",
    }

    def pm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PM), *args],
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    plan = tmp_path / "plan.csv"
    plan.write_text("code,name,grid,x,y\nCP-1,一号点 Point 1,G-12,1,2\n", encoding="utf-8")
    grids = tmp_path / "grids.csv"
    grids.write_text(
        "code,name,parent,owner\nG-13,新 New,G-12,S1\nG-14,新 New,A,S9\n", encoding="utf-8"
    )
    items = pm("pdca", "list", "--all", "--json").stdout
    for argv in (
        ["pdca", "add", "门坏了 Door broken", "--severity", "minor", "--grid", "G-12"],
        ["pdca", "add", "门坏了 Door broken", "--severity", "minor", "--owner", "S9"],
        [
            "risk",
            "add",
            "R-9",
            "--title",
            "积水 Water",
            "--likelihood",
            "2",
            "--impact",
            "2",
            "--grid",
            "G-12",
        ],
        ["drill", "plan", "D-9", "--scenario", "fire", "--grid", "G-12"],
        ["checkpoint", "add", "CP-2", "--name", "二 Two", "--grid", "G-12"],
        ["import", str(plan), "--kind", "checkpoints"],
        ["import", str(grids), "--kind", "grids"],
        ["grid", "assign", "A", "S9"],
    ):
        r = pm(*argv)
        assert r.returncode != 0, (argv, r.stdout, r.stderr)
        assert "is ambiguous" in r.stderr and "Traceback" not in r.stderr, (argv, r.stderr)
        assert "pm sync conflicts" in r.stderr
    # nothing was written by any of them
    assert pm("pdca", "list", "--all", "--json").stdout == items
    assert "R-9" not in pm("risk", "list", "--json").stdout
    assert "CP-1" not in pm("checkpoint", "list", "--json").stdout
    assert "G-13" not in pm("grid", "list", "--json").stdout

    # the lists mark both rows and say what to do
    r = pm("grid", "list")
    marked = [ln for ln in r.stdout.splitlines() if "G-12" in ln]
    assert len(marked) == 2 and all("same code" in ln for ln in marked)
    assert "code G-12 is held by more than one row" in r.stderr
    r = pm("staff", "list")
    assert sum("same code" in ln for ln in r.stdout.splitlines() if "S9" in ln) == 2
