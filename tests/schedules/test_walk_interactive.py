"""`pm route run` through a real pseudo-terminal: a killed walk keeps its arrival and its
answers, and running it again continues at the step it stopped on."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"


def spawn(isolated: Path, tmp_path: Path, *args: str) -> pexpect.spawn:
    env = {
        **os.environ,
        "PM_DB": str(isolated),
        "PM_SITE": "CH",
        "PM_CONFIG": str(tmp_path / "config.toml"),
        "COLUMNS": "120",
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "pm_cli", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )


def test_a_killed_walk_resumes_at_the_same_stop_and_step(pm, site, isolated, tmp_path):
    pm("grid", "add", "W", "--name", "大门 Gates")
    for code in ("C1", "C2", "C3"):
        pm("checkpoint", "add", code, "--name", f"门 {code}", "--grid", "W")
    pm("playbook", "import", str(FIXTURE / "test.gate-check.yaml"))
    pm(
        "route",
        "add",
        "R",
        "--name",
        "门岗 Gates",
        "--stops",
        "C1,C2,C3",
        "--playbook",
        "test.gate-check",
    )
    child = spawn(isolated, tmp_path, "route", "run", "R", "--by", "S1")
    try:
        child.expect(r"stop 1/3 · C1")
        child.expect("Enter when you are at C1")
        child.sendline("")
        child.expect(r"step 1/2 · door")
        child.sendline("p")  # a pass asks no note
        child.expect(r"step 2/2 · log")
        child.sendline("p")
        child.expect(r"stop 2/3 · C2")
        child.expect("Enter when you are at C2")
        child.sendline("")
        child.expect(r"step 1/2 · door")
        child.sendline("f")  # a fail that opens an item asks what is wrong
        child.expect("what is wrong")
        child.sendline("闭门器坏 closer broken")
        child.expect(r"step 2/2 · log")
        child.kill(signal.SIGKILL)
        child.wait()
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    con = sqlite3.connect(isolated)
    try:
        arrived = con.execute("SELECT count(*) FROM route_visit").fetchone()[0]
        answered = con.execute("SELECT count(*) FROM step_result").fetchone()[0]
    finally:
        con.close()
    assert (arrived, answered) == (2, 3)

    child = spawn(isolated, tmp_path, "route", "run", "R", "--by", "S1")
    try:
        child.expect("1 done, continuing")
        child.expect(r"stop 2/3 · C2")
        child.expect(r"step 2/2 · log")  # the arrival is not asked again, nor step 1
        child.sendline("p")
        child.expect(r"stop 3/3 · C3")
        child.sendline("s")
        child.expect("why")
        child.sendline("施工封闭 closed for works")
        child.expect("incomplete: 2/3 stops visited, 1 skipped")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    items = pm.json("pdca", "list")
    assert [i["title"] for i in items] == ["门禁 Door: 闭门器坏 closer broken"]
