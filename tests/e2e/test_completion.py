"""Shell completion with the installed pm, by the protocol bash uses (click's): codes from the
database of the command line's site, enum values, and nothing (never a traceback) when the
database is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PM = Path(sys.executable).parent / "pm"


def complete(env: dict[str, str], line: str) -> list[str]:
    words = line.split(" ")
    r = subprocess.run(
        [str(PM)],
        env={
            **env,
            "_PM_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return r.stdout.split()


def test_codes_and_choices_complete_from_the_database(demo_copy: Any, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PM_DB": str(demo_copy()),
        "PM_SITE": "CH",
        "PM_CONFIG": str(tmp_path / "c.toml"),
    }
    assert complete(env, "pm grid show A-M") == ["A-MEP", "A-MEP-PD", "A-MEP-PP"]
    assert complete(env, "pm pdca add 漏水 --grid G-F") == ["G-FA"]
    assert complete(env, "pm route optimize NIGHT-1 --start CP-P0") == [
        f"CP-P0{i}" for i in range(1, 7)
    ]
    assert complete(env, "pm route show N") == ["NIGHT-1"]
    assert "water.daily" in complete(env, "pm run start water")
    assert complete(env, "pm staff show L0") == [f"L0{i}" for i in range(1, 6)]
    assert complete(env, "pm pdca advance 3 --to ") == ["plan", "do", "check", "act", "closed"]
    assert complete(env, "pm grid list --risk ") == ["minor", "major", "critical"]
    assert complete(env, "pm risk show R-0")[:2] == ["R-01", "R-02"]
    assert "fire" in complete(env, "pm drill plan X --scenario f")
    # the runs of the site, as `pm run list` shows their ids
    assert len(complete(env, "pm run show ")) > 10
    # another --db with nothing there: nothing to offer, quietly
    assert complete({**env, "PM_DB": str(tmp_path / "none.db")}, "pm grid show A") == []
