"""What people and scripts see, with the installed `pm` in a fresh process: results on stdout
and confirmations on stderr, `--json` errors as one JSON object, CJK text and ids never cut,
piped output as wide as a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PM = Path(sys.executable).parent / "pm"


class Installed:
    def __init__(self, db: Path, tmp: Path):
        self.env = {**os.environ, "PM_DB": str(db), "PM_SITE": "CH",
                    "PM_CONFIG": str(tmp / "config.toml")}
        self.env.pop("COLUMNS", None)

    def __call__(self, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([str(PM), *args], env={**self.env, **env}, capture_output=True,
                           text=True, encoding="utf-8", timeout=120, stdin=subprocess.DEVNULL)
        assert r.returncode == code, (args, r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
        return r


@pytest.fixture
def pm_installed(demo_copy: Any, tmp_path: Path) -> Installed:
    return Installed(demo_copy(), tmp_path)


def test_a_report_redirected_to_a_file_keeps_all_of_it(pm_installed: Installed) -> None:
    r = pm_installed("today", "--by", "T07")
    # every section of the day is the result, an empty one too ("no … due")
    assert r.stderr == "", r.stderr
    assert "NIGHT-1" in r.stdout
    r = pm_installed("drill", "due")
    assert r.stderr == "" and r.stdout.strip()


def test_confirmations_go_to_stderr(pm_installed: Installed) -> None:
    r = pm_installed("grid", "add", "Z9", "--name", "新区 New area", "--owner", "M01")
    assert r.stdout == "" and "Z9" in r.stderr


@pytest.mark.parametrize("argv", [["--json", "grid", "show", "NOPE"],
                                  ["grid", "show", "NOPE", "--json"]])
def test_a_json_error_is_one_object_on_stderr(pm_installed: Installed, argv: list[str]) -> None:
    r = pm_installed(*argv, code=3)
    assert r.stdout == ""
    doc = json.loads(r.stderr)
    assert doc["error"] == "not_found" and "NOPE" in doc["message"]
    assert set(doc) == {"error", "message", "where", "hint"} and doc["hint"]


def test_a_json_usage_error_is_json_too(pm_installed: Installed) -> None:
    r = pm_installed("grid", "show", "--json", code=2)
    doc = json.loads(r.stderr)
    assert doc["error"] == "usage" and "code" in doc["message"].lower()
    assert doc["where"] == "pm grid show" and r.stdout == ""
    r = pm_installed("--json", "grid", "list", "--bogus", code=2)
    assert json.loads(r.stderr)["message"] == "No such option: --bogus"


def test_a_json_import_error_lists_every_problem(pm_installed: Installed, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,owner\nQ1,,M01\nQ2,甲,NOBODY\n", encoding="utf-8")
    r = pm_installed("import", str(bad), "--kind", "grids", "--json", code=1)
    doc = json.loads(r.stderr)
    assert doc["error"] == "input" and "nothing was written" in doc["message"]
    rows = sorted(p["where"] for p in doc["problems"])
    assert rows == [f"{bad}:2", f"{bad}:3"]


def _column(table: str, header: str) -> list[str]:
    """The text of each row of one column of a rich table, its wrapped lines joined."""
    lines = [ln for ln in table.splitlines() if ln.startswith(("┃", "│", "├", "└", "┡"))]
    head = next(ln for ln in lines if header in ln)
    cut = head.split("┃").index(next(c for c in head.split("┃") if c.strip() == header))
    rows: list[str] = []
    for ln in lines:
        if ln.startswith("│"):
            cells = ln.split("│")
            if cells[1].strip():  # a new row (its first column is filled)
                rows.append("")
            rows[-1] += cells[cut].strip()
    return rows


def test_cjk_text_and_step_ids_are_never_cut_in_80_columns(pm_installed: Installed) -> None:
    steps = json.loads(pm_installed("playbook", "show", "fire.monthly", "--json").stdout)["steps"]
    table = pm_installed("playbook", "show", "fire.monthly", COLUMNS="80").stdout
    assert max(len(ln) for ln in table.splitlines()) <= 80
    assert "…" not in table
    assert _column(table, "step") == [s["id"] for s in steps]
    accepted = _column(table, "accept")
    for step, shown in zip(steps, accepted, strict=True):
        if step["range"] is None:  # the criterion itself, Chinese and English, all of it
            assert "".join(shown.split()) == "".join(step["acceptance"].split()), step["id"]


def test_piped_output_is_as_wide_as_a_terminal_not_wider(pm_installed: Installed) -> None:
    r = pm_installed("grid", "list")  # no terminal anywhere, no COLUMNS: 80
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 80
    r = pm_installed("grid", "list", COLUMNS="120")
    assert 80 < max(len(ln) for ln in r.stdout.splitlines()) <= 120


def test_no_python_reprs_in_human_output(pm_installed: Installed) -> None:
    risk = json.loads(pm_installed("risk", "list", "--json").stdout)[0]["code"]
    shown = pm_installed("risk", "show", risk).stdout
    assert "{'" not in shown and "'kind'" not in shown
    assert "assess" in shown  # the history is there, as words


def test_no_validator_wording_in_errors(pm_installed: Installed, tmp_path: Path) -> None:
    book = tmp_path / "bad.yaml"
    book.write_text("id: x.y\nversion: one\ntitle: 测试\nservice: nope\nsteps: []\n",
                    encoding="utf-8")
    r = pm_installed("playbook", "lint", str(book), code=1)
    for wording in ("Input should", "List should", "valid integer", "after validation"):
        assert wording not in r.stdout + r.stderr
    assert f"{book}:2:10: version: must be a whole number" in r.stdout + r.stderr
    answers = tmp_path / "answers.yaml"
    answers.write_text("- step: readings\n  value: [1, 2]\n", encoding="utf-8")
    r = pm_installed("run", "start", "water.daily", "--grid", "A", "--by", "T05",
                     "--answers", str(answers), code=1)
    assert f"{answers}:1: a reading is one number" in r.stderr


@pytest.mark.clock
def test_people_read_site_time_scripts_read_utc(pm_installed: Installed) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")

    def site_time(stamp: str) -> str:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return at.astimezone(shanghai).strftime("%Y-%m-%d %H:%M")

    risk = json.loads(pm_installed("risk", "list", "--json").stdout)[0]["code"]
    doc = json.loads(pm_installed("risk", "show", risk, "--json").stdout)
    stamp = doc["history"][0]["at"]
    assert stamp.endswith("Z")  # --json keeps the stored UTC text
    shown = pm_installed("risk", "show", risk, TZ="UTC").stdout
    assert f"{site_time(stamp)} CST" in shown and stamp not in shown
    # on a laptop in the site's own zone the zone is not named
    shown = pm_installed("risk", "show", risk, TZ="Asia/Shanghai").stdout
    assert site_time(stamp) in shown and "CST" not in shown

    runs = json.loads(pm_installed("drill", "show", "FIRE-A", "--json").stdout)["runs"]
    table = pm_installed("drill", "show", "FIRE-A", TZ="UTC", COLUMNS="160").stdout
    assert all(site_time(r["started_at"]) in table for r in runs)
    assert "Z " not in table and not any(r["started_at"] in table for r in runs)

    # an explicit --at is echoed as it was meant, in site time
    yesterday = (datetime.now(shanghai) - timedelta(days=1)).strftime("%Y-%m-%d")
    r = pm_installed("drill", "start", "POWER", "--at", f"{yesterday} 03:00", TZ="UTC")
    assert f"started at {yesterday} 03:00 CST" in r.stderr, r.stderr
