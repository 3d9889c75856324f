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
        self.env = {
            **os.environ,
            "PM_DB": str(db),
            "PM_SITE": "CH",
            "PM_CONFIG": str(tmp / "config.toml"),
        }
        self.env.pop("COLUMNS", None)

    def __call__(self, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [str(PM), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
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


@pytest.mark.parametrize(
    "argv", [["--json", "grid", "show", "NOPE"], ["grid", "show", "NOPE", "--json"]]
)
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
    book.write_text(
        "id: x.y\nversion: one\ntitle: 测试\nservice: nope\nsteps: []\n", encoding="utf-8"
    )
    r = pm_installed("playbook", "lint", str(book), code=1)
    for wording in ("Input should", "List should", "valid integer", "after validation"):
        assert wording not in r.stdout + r.stderr
    assert f"{book}:2:10: version: must be a whole number" in r.stdout + r.stderr
    answers = tmp_path / "answers.yaml"
    answers.write_text("- step: readings\n  value: [1, 2]\n", encoding="utf-8")
    r = pm_installed(
        "run",
        "start",
        "water.daily",
        "--grid",
        "A",
        "--by",
        "T05",
        "--answers",
        str(answers),
        code=1,
    )
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


@pytest.mark.clock
def test_one_date_parser_for_every_option(pm_installed: Installed) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    runs = json.loads(pm_installed("run", "list", "--all", "--json").stdout)

    def days_back(n: int) -> int:  # runs started on or after the start of the day n days ago
        start = datetime.combine(
            today - timedelta(days=n), datetime.min.time(), ZoneInfo("Asia/Shanghai")
        )
        return sum(
            datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")) >= start for r in runs
        )

    for form, n in (
        ("-3", 3),
        ("yesterday", 1),
        ("today", 0),
        ((today - timedelta(days=3)).isoformat(), 3),
    ):
        got = json.loads(pm_installed("run", "list", "--all", "--from", form, "--json").stdout)
        assert len(got) == days_back(n), form  # -3 is three days ago, not the 3rd
    assert days_back(3) < len(runs)  # the demo has older runs, so the filter was felt

    # pm route missed --since and pm today --date take the same forms
    for form in ("-3", "yesterday", (today - timedelta(days=3)).isoformat()):
        pm_installed("route", "missed", "--since", form, "--json")
    for form, day in (
        ("yesterday", today - timedelta(days=1)),
        ("+1", today + timedelta(days=1)),
        ("tomorrow", today + timedelta(days=1)),
    ):
        r = pm_installed("today", "--date", form)
        assert day.isoformat() in r.stdout, form

    # ambiguous and unknown forms are refused with the accepted ones, exit 2
    for option, bad in (
        (["run", "list", "--from"], "01-11-2026"),
        (["run", "list", "--to"], "3 dec"),
        (["route", "missed", "--since"], "11/01/2026"),
        (["today", "--date"], "01-11-2026"),
        (["drill", "start", "POWER", "--at"], "11/01/2026 14:00"),
    ):
        r = pm_installed(*option, bad, code=2)
        assert "not a date" in r.stderr and option[-1] in r.stderr, r.stderr
        assert "yesterday" in r.stderr and "-7" in r.stderr and "ambiguous" in r.stderr
    r = pm_installed("today", "--date", f"{today} 14:00", code=2)
    assert "takes a day, not a time" in r.stderr


@pytest.mark.clock
def test_live_drills_are_honest(pm_installed: Installed, tmp_path: Path) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    later = (now + timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M")
    r = pm_installed("drill", "start", "FIRE-A", "--at", later, TZ="UTC", code=1)
    assert f"T0 at {later} CST is in the future" in r.stderr
    assert f"it is {now.strftime('%Y-%m-%d')}" in r.stderr and "CST at the site" in r.stderr

    run = pm_installed("drill", "start", "FIRE-A").stdout.strip()
    runs = json.loads(pm_installed("drill", "show", "FIRE-A", "--json").stdout)["runs"]
    assert next(x for x in runs if x["short"] == run)["result"] == "in progress"
    assert "in progress" in pm_installed("drill", "show", "FIRE-A", COLUMNS="200").stdout
    soon = now + timedelta(minutes=30)  # a time alone is today's: past midnight, the date too
    r = pm_installed(
        "drill",
        "event",
        run,
        "first_responder",
        "--at",
        soon.strftime("%H:%M" if soon.date() == now.date() else "%Y-%m-%d %H:%M"),
        code=1,
    )
    assert "is in the future" in r.stderr

    before = {i["no"] for i in json.loads(pm_installed("pdca", "list", "--all", "--json").stdout)}
    done = json.loads(pm_installed("drill", "finish", run, "--incomplete", "--json").stdout)
    assert done["status"] == "incomplete" and done["result"] == "fail"
    opened = [
        i
        for i in json.loads(pm_installed("pdca", "list", "--all", "--json").stdout)
        if i["no"] not in before
    ]
    assert opened and not any("all_clear" in i["title"] for i in opened)  # no target, no item

    report = tmp_path / "report.html"
    pm_installed("drill", "report", run, "--format", "html", "-o", str(report))
    page = report.read_text(encoding="utf-8")
    assert "Why it failed" in page and "first_responder): not recorded" in page
    assert "finished incomplete" in page


def test_a_long_list_keeps_every_row_and_the_look_of_a_short_one(
    pm_installed: Installed, tmp_path: Path
) -> None:
    """Past LONG_TABLE rows a table is drawn by pm itself (rich lays out 2,000 rows in
    seconds): the same box, codes whole, long CJK names folded, never wider than asked."""
    from rich.cells import cell_len

    from pm_cli.output import LONG_TABLE

    n = LONG_TABLE + 50
    name = "二号地下车库东区充电桩附近消防通道 East garage fire lane"
    src = tmp_path / "grids.csv"
    src.write_text(
        "code,name,owner\n" + "".join(f"Z-{i:04d},{name} {i},M01\n" for i in range(n)),
        encoding="utf-8",
    )
    pm_installed("import", str(src), "--kind", "grids")
    for columns in ("60", "120"):
        out = pm_installed("grid", "list", COLUMNS=columns).stdout
        lines = out.splitlines()
        assert max(cell_len(ln) for ln in lines) <= int(columns), columns
        assert lines[1].startswith("┏") and lines[-1].startswith("└")  # rich's heavy head
        codes = [ln.split("│")[1].strip() for ln in lines if ln.startswith("│ Z-")]
        assert codes == [f"Z-{i:04d}" for i in range(n)]  # every row once, codes whole
        # the name of the first row, read back down its folded column, is all there
        start = next(k for k, ln in enumerate(lines) if ln.startswith("│ Z-0000 "))
        parts = []
        for ln in lines[start:]:
            if parts and ln.split("│")[1].strip():
                break
            parts.append(ln.split("│")[2].strip())
        assert "".join(parts).replace(" ", "") == f"{name} 0".replace(" ", "")


def test_reports_and_the_dashboard_in_the_installed_pm(pm_installed: Installed) -> None:
    r = pm_installed("report", "score", "--explain")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("score of CH") and lines[-1].startswith("score ")
    assert (
        float(lines[-1].split()[1])
        == json.loads(pm_installed("report", "score", "--json").stdout)["score"]
    )
    r = pm_installed("report", "daily", "--md")
    assert r.stdout.startswith("# handover of CH")
    r = pm_installed("dashboard")  # piped: one frame, then the command ends
    assert r.stdout.startswith("CH 翠湖花园") and "overdue items" in r.stdout
    assert "hottest grids" in r.stdout and "weekly trend" in r.stdout


def test_the_live_dashboard_shows_what_another_process_writes(pm_installed: Installed) -> None:
    """Redraws with nothing written reuse the figures; a route added in another shell is on
    the next one."""
    import re

    import pexpect

    child = pexpect.spawn(
        str(PM),
        ["dashboard", "--every", "1"],
        env=pm_installed.env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
    )
    child.expect(r"missed of (\d+)")
    due = int(child.match.group(1))
    child.expect("hottest grids")
    child.expect(r"missed of (\d+)")  # a redraw with nothing new: the same figure
    assert int(child.match.group(1)) == due
    stop = json.loads(pm_installed("checkpoint", "list", "--json").stdout)[0]["code"]
    pm_installed(
        "route",
        "add",
        "R-NEW",
        "--name",
        "新线 New route",
        "--schedule",
        "daily@00:00",
        "--stops",
        stop,
    )
    child.expect(rf"missed of {due + 1}\b")  # drawn again with it
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, (child.exitstatus, child.before)
    assert re.search("Traceback", child.before or "") is None


def test_the_dashboard_redraws_on_a_terminal_until_ctrl_c(pm_installed: Installed) -> None:
    import pexpect

    child = pexpect.spawn(
        str(PM),
        ["dashboard", "--every", "1"],
        env=pm_installed.env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )
    child.expect("hottest grids")
    child.expect("hottest grids")  # drawn again a second later
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, (child.exitstatus, child.before)  # Ctrl-C, not a crash
    assert "Traceback" not in (child.before or "")
