"""The one-handed walk through a real pseudo-terminal, with the installed `pm` in a fresh
process: what a passing 12-stop walk costs in key presses, a fail with its note in one line,
and another stop's tag scanned by mistake."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"
PM = Path(sys.executable).parent / "pm"  # the console script installed in this environment


class Walker:
    """A `pm route run` on a pseudo-terminal that counts the keys sent (Enter is one)."""

    def __init__(self, isolated: Path, tmp_path: Path, *args: str):
        env = {
            **os.environ,
            "PM_DB": str(isolated),
            "PM_SITE": "CH",
            "PM_CONFIG": str(tmp_path / "config.toml"),
            "COLUMNS": "120",
        }
        self.child = pexpect.spawn(
            str(PM), list(args), env=env, encoding="utf-8", timeout=30, dimensions=(40, 120)
        )
        self.keys = 0

    def send(self, text: str) -> None:
        self.keys += len(text) + 1
        self.child.sendline(text)

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)


@pytest.fixture
def twelve(pm, site):
    pm("grid", "add", "W", "--name", "大门 Gates")
    codes = [f"C{i:02d}" for i in range(1, 13)]
    for i, code in enumerate(codes, 1):
        pm(
            "checkpoint",
            "add",
            code,
            "--name",
            f"门 {code}",
            "--grid",
            "W",
            "--tag-uid",
            f"NFC-{i:02d}",
        )
    pm("playbook", "import", str(FIXTURE / "test.gate-check.yaml"))
    pm(
        "route",
        "add",
        "R12",
        "--name",
        "十二门 Twelve gates",
        "--stops",
        ",".join(codes),
        "--playbook",
        "test.gate-check",
    )
    return codes


def test_a_passing_12_stop_walk_costs_at_most_two_keys_a_stop(pm, twelve, isolated, tmp_path):
    w = Walker(isolated, tmp_path, "route", "run", "R12", "--by", "S1")
    try:
        for i, code in enumerate(twelve, 1):
            w.child.expect(rf"stop {i}/12 · {code}")
            w.child.expect(f"Enter when you are at {code}")
            w.send("p")  # arrive and pass every check of the stop
            w.child.expect("checklist done: score 100")
        w.child.expect("finished: 12/12 stops visited")
        w.child.expect(pexpect.EOF)
    finally:
        w.close()
    assert w.keys <= 2 * 12, w.keys  # the walk finishes by itself after the last stop
    walk = pm.json("route", "walks")[0]
    assert (walk["status"], walk["done"], walk["stops"]) == ("finished", 12, 12)
    runs = pm.json("run", "list")
    assert len(runs) == 12 and {r["status"] for r in runs} == {"finished"}


def test_a_fail_with_its_note_in_one_line_and_another_stops_tag(pm, twelve, isolated, tmp_path):
    w = Walker(isolated, tmp_path, "route", "run", "R12", "--by", "S1")
    try:
        w.child.expect("Enter when you are at C01")
        w.send("NFC-03")  # the tag of stop 3 scanned at stop 1
        w.child.expect(r"that tag is stop 3/12 · C03 门 C03, not this one: go to stop 1 · C01")
        w.child.expect("Enter when you are at C01")
        w.send("NFC-01")  # the right tag: arrival, then step by step
        w.child.expect(r"step 1/2 · door")
        w.send("f 门没锁 door left unlocked")  # no note prompt follows
        w.child.expect(r"saved: fail · opened improvement item")
        w.child.expect(r"step 2/2 · log")
        w.send("p")
        w.child.expect("checklist done: score")
        w.child.expect("Enter when you are at C02")
        w.send("q")
        w.child.expect("paused walk")
        w.child.expect(pexpect.EOF)
    finally:
        w.close()
    assert [i["title"] for i in pm.json("pdca", "list")] == ["门禁 Door: 门没锁 door left unlocked"]
    assert pm.json("route", "walks", "--open")[0]["done"] == 1
