"""The README's tour, pasted in order into a shell right after the "Run it" line: every block
of it runs with the installed `pm` in fresh processes, on the sample files of `examples/`, and
every command succeeds except those the tour says are refused."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.clock  # the tour starts drills and runs now: CI runs it at 3 instants

ROOT = Path(__file__).resolve().parents[2]
PM = Path(sys.executable).parent / "pm"


def tour_commands() -> list[tuple[int, str]]:
    """(README line, command) for every command of the tour's ```sh blocks, continuation
    lines joined."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("## A five-minute tour")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    out: list[tuple[int, str]] = []
    in_sh, pending, at = False, "", 0
    for n in range(start, end):
        line = lines[n]
        if line.startswith("```"):
            in_sh = line == "```sh" and not in_sh
            continue
        if not in_sh or not line.strip():
            continue
        if not pending:
            at = n + 1
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((at, pending + line))
        pending = ""
    return out


def test_the_tour_has_the_commands_it_promises() -> None:
    commands = [c for _, c in tour_commands()]
    assert len(commands) > 60
    assert not any(c.lstrip().startswith("pm demo") for c in commands)  # "Run it" made it
    used = {m for c in commands for m in re.findall(r"examples/([\w./-]+)", c)}
    for name in (
        "staff.csv",
        "grids.csv",
        "plan.csv",
        "walking.csv",
        "answers.yaml",
        "drill.yaml",
        "dpd.jpg",
        "playbooks/",
    ):
        assert any(u.startswith(name) for u in used), f"the tour does not use examples/{name}"
        assert (ROOT / "examples" / name).exists()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```csv\n", 1)[1].split("```", 1)[0]
    grids = (ROOT / "examples" / "grids.csv").read_text(encoding="utf-8")
    assert grids.startswith(shown), "the CSV the tour shows is not how examples/grids.csv begins"


def test_the_tour_runs_pasted_in_order(tmp_path: Path) -> None:
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    env = {
        **os.environ,
        "PM_DB": str(tmp_path / "pm.db"),
        "PM_CONFIG": str(tmp_path / "c.toml"),
        "PATH": f"{PM.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "100",
    }
    env.pop("PM_SITE", None)
    made = subprocess.run(
        [str(PM), "demo"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert made.returncode == 0, made.stderr

    script = ["exec 2>&1"]
    for line, command in tour_commands():
        refused = "# refused" in command
        script += [
            f"echo '@@@ {line}'",
            command,
            "rc=$?",
            f"if [ $rc {'-eq' if refused else '-ne'} 0 ]; then "
            f'echo "@@@ FAILED README.md:{line} (exit $rc)"; fi',
        ]
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=work,
        env=env,
        text=True,
        encoding="utf-8",
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    out = run.stdout
    failed = re.findall(r"@@@ FAILED (.*)", out)
    assert not failed, "\n".join(failed) + "\n\n" + out[-6000:]
    assert "Traceback" not in out, out
    # what the tour's comments promise is what users see
    assert "650.6 m → 289.4 m, saving 55.5%" in out
    assert "0 created, 0 updated, 4 unchanged" in out  # the import, again
    assert (work / "grids.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (work / "report.html").exists() and (work / "pm.ics").exists()
