"""`pm schedule export --ics` with the installed pm: drills start when `pm drill list` says
they are due, in working hours; risk reviews are all-day on their due dates; `--ics -`
writes the calendar to stdout; the file is readable by a calendar app (0644)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

PM = Path(sys.executable).parent / "pm"
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.clock  # due dates are counted from now


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    r = subprocess.run(
        [str(PM), *args], env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert r.returncode == 0, r.stderr.decode()
    return r


def local_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(SHANGHAI).date()


def test_the_calendar_says_what_pm_says(demo_copy: Any, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PM_DB": str(demo_copy()),
        "PM_SITE": "CH",
        "PM_CONFIG": str(tmp_path / "c.toml"),
    }
    ics = tmp_path / "pm.ics"
    old = os.umask(0o022)
    try:
        run(env, "schedule", "export", "--ics", str(ics))
    finally:
        os.umask(old)
    assert stat.S_IMODE(ics.stat().st_mode) == 0o644
    piped = run(env, "schedule", "export", "--ics", "-")
    assert piped.stdout.startswith(b"BEGIN:VCALENDAR") and b"recurring events" in piped.stderr
    cal = Calendar.from_ical(piped.stdout)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}

    drills = json.loads(run(env, "drill", "list", "--json").stdout)
    assert drills
    for d in drills:
        ev = next(e for s, e in events.items() if s.endswith(f"({d['code']})"))
        start = ev["dtstart"].dt
        assert start.tzinfo is not None and start.date() == local_day(d["due"]), d["code"]
        assert start.time() == time(10, 0)  # working hours, not midnight

    risks = {r["code"]: r for r in json.loads(run(env, "risk", "list", "--json").stdout)}
    reviews = [e for s, e in events.items() if s.startswith("Risk review ")]
    assert reviews
    starts = set()
    for ev in reviews:
        code = str(ev["summary"]).split()[2]
        start = ev["dtstart"].dt
        assert type(start) is date  # all-day
        assert start == local_day(risks[code]["next_review"])
        assert (ev["dtend"].dt - start).days == 1
        starts.add(start)
    assert len(starts) > 1  # not all at the minute the data was made
