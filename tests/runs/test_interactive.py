"""The interactive run through a real pseudo-terminal, as a shift lead uses it."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys

import pexpect
import pytest

TIMEOUT = 30


@pytest.fixture
def spawn(isolated, tmp_path):
    procs = []

    def start(*args: str) -> pexpect.spawn:
        env = {
            **os.environ,
            "PM_DB": str(isolated),
            "PM_SITE": "CH",
            "PM_CONFIG": str(tmp_path / "config.toml"),
            "COLUMNS": "120",
        }
        child = pexpect.spawn(
            sys.executable,
            ["-m", "pm_cli", *args],
            env=env,
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(40, 120),
        )
        procs.append(child)
        return child

    yield start
    for child in procs:
        if child.isalive():
            child.kill(signal.SIGKILL)


def answers(db) -> list[tuple[str, str]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT step_id, outcome FROM step_result ORDER BY hlc").fetchall()
    finally:
        con.close()


def test_answers_survive_a_kill_and_resume_starts_at_the_next_step(
    pm, water, spawn, photo, isolated
):
    child = spawn("run", "start", water, "--grid", "W", "--by", "S1")
    child.expect(r"step 1/4 · access")
    child.sendline("p 门锁正常")  # the note on the same line
    child.expect(r"step 2/4 · chlorine")
    child.expect("value in mg/L")
    child.sendline("0.3")  # a reading in range asks no note
    child.expect("photo file")
    child.sendline(str(photo) + ".missing")
    child.expect("no such photo file")  # asked again, not crashed on
    child.expect("photo file")
    child.sendline(str(photo))
    child.expect(r"step 3/4 · turbidity")
    child.sendline("5")
    child.expect("outside ≤ 1 NTU")  # the reason says what is wrong: no note asked
    child.expect(r"step 4/4 · log")
    child.expect("p/f/n")
    child.kill(signal.SIGKILL)  # three answers given, the fourth prompt on screen
    child.wait()
    assert answers(isolated) == [("access", "pass"), ("chlorine", "pass"), ("turbidity", "fail")]

    run = pm.json("run", "list")[0]
    child = spawn("run", "resume", run["short"])
    child.expect(r"step 4/4 · log")  # N + 1
    child.sendline("p")
    child.expect("entry")
    child.sendline("交接完成")
    child.expect(r"finish the run now\? \[Y/n\]")
    child.sendline("y")
    child.expect(r"finished: score 80 · 1 failed")
    child.expect(pexpect.EOF)
    shown = pm.json("run", "show", run["short"])
    assert (shown["status"], shown["score"]) == ("finished", 80.0)
    assert [r["note"] for r in shown["results"]][0] == "门锁正常"


def test_back_skip_and_quit(pm, water, spawn, isolated):
    child = spawn("run", "start", water, "--by", "S1")
    child.expect(r"step 1/4 · access")
    child.sendline("s")
    child.expect(r"step 2/4 · chlorine")
    child.sendline("b")
    child.expect(r"step 1/4 · access")
    child.sendline("n")  # not applicable: no note asked
    child.expect(r"step 2/4 · chlorine")
    child.sendline("abc")
    child.expect("not a number")
    child.sendline("n")
    child.expect(r"step 3/4 · turbidity")
    child.sendline("b")
    child.expect(r"step 2/4 · chlorine")
    child.expect("answered: na")
    child.sendline("q")
    child.expect("paused: 2 answer")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert answers(isolated) == [("access", "na"), ("chlorine", "na")]


def test_ctrl_c_keeps_the_answers(pm, water, spawn, isolated):
    child = spawn("run", "start", water, "--by", "S1")
    child.expect(r"step 1/4 · access")
    child.sendline("f")
    child.expect("what is wrong")  # a major step's fail opens an item: a note is asked
    child.sendline("锁坏")
    child.expect("photo file")
    child.sendintr()
    child.expect("paused: 0 answer")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert answers(isolated) == []  # the unfinished answer (no photo yet) is not stored
    run = pm.json("run", "list")[0]
    child = spawn("run", "resume", run["short"])
    child.expect(r"step 1/4 · access")
    child.sendline("p")
    child.expect(r"step 2/4")
    child.sendintr()
    child.expect("paused: 1 answer")
    child.expect(pexpect.EOF)
    assert answers(isolated) == [("access", "pass")]
