"""The demo's week of checklist runs: the daily playbooks walked on their grids, some steps
failed (which opens improvement items), the newest run left half done."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.playbooks.spec import Step
    from pm_cli.runs.service import Answer
    from pm_cli.sites.models import Site

# (service, grid, staff): who walks which checklist where, every day of the demo week
ROUNDS = (
    ("cleaning", "A-LB", "L03"),
    ("cleaning", "B-LB", "T09"),
    ("security", "G-EN-N", "T06"),
    ("water", "B-MEP-PP", "T05"),
    ("fire", "A-LB-FC", "L04"),
    ("elevators", "A-EL-1", "T03"),
    ("parking", "P-PK", "T06"),
    ("equipment", "A-MEP-PD", "T01"),
)
FAIL_RATE = 0.04
# The smallest valid JPEG: what a demo "photo" is.
PHOTO = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c"
    "0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e33"
    "3432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708"
    "090a0bffda0008010100003f00d2cf20ffd9"
)


def _daily_playbook(rows: list[dict], service: str) -> str | None:
    mine = [r for r in rows if r["service"] == service and r["schedule"]]
    daily = [
        r for r in mine if "DAILY" in r["schedule"].upper() or "HOURLY" in r["schedule"].upper()
    ]
    chosen = daily or mine
    return chosen[0]["id"] if chosen else None


def answer_for(step: Step, fail: bool, photo: Path) -> Answer:
    """A plausible answer to `step`: in range (or passed), or out of range (failed)."""
    from pm_cli.runs.service import Answer

    a = Answer(step=step.id)
    if step.kind == "reading":
        assert step.range is not None  # Step._reading: a reading has a range
        lo, hi = step.range.min, step.range.max  # Range: at least one of them
        if lo is not None and hi is not None:
            a.value = (hi * 1.5 + 1) if fail else round((lo + hi) / 2, 2)
        elif lo is not None:
            a.value = lo * 0.5 if fail else round(lo * 1.2 + 0.1, 2)
        elif hi is not None:
            a.value = (hi * 1.5 + 1) if fail else round(hi * 0.6, 2)
    else:
        a.outcome = "fail" if fail else "pass"
    if step.kind == "text":
        a.note = "已记录 / logged"
    elif fail:
        a.note = "现场整改中 / being fixed on site"
    failed = fail or False
    if (
        step.kind == "photo"
        or step.evidence == "photo"
        or (step.evidence == "photo-on-fail" and failed)
    ):
        a.photo = photo
    return a


def build_runs(
    session: Session, site: Site, *, store_dir: Path, days: int = 7, seed: int = 7
) -> int:
    """A week of runs of the daily playbooks, some with failed steps; the newest left open."""
    import random
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from pm_cli.playbooks import service as playbooks
    from pm_cli.runs import service as runs
    from pm_cli.store.ids import utc_text

    rnd = random.Random(seed)
    rows = playbooks.list_playbooks(session)
    store_dir.mkdir(parents=True, exist_ok=True)
    photo = store_dir / "demo-photo.jpg"
    photo.write_bytes(PHOTO)
    zone = ZoneInfo(site.tz or "Asia/Shanghai")
    now = datetime.now(zone)
    # The week is the `days` site days up to the newest one whose first round has begun:
    # before 08:00 site time that is yesterday, so the demo shows a full week at any hour.
    newest = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if now < newest + timedelta(hours=8):
        newest -= timedelta(days=1)
    rounds = []
    for day in range(days - 1, -1, -1):
        for k, (svc, grid, staff) in enumerate(ROUNDS):
            playbook = _daily_playbook(rows, svc)
            start = newest - timedelta(days=day) + timedelta(hours=8, minutes=12 * k)
            if playbook is not None and start <= now:
                rounds.append((start, playbook, grid, staff))
    made = 0
    for n, (start, playbook, grid, staff) in enumerate(rounds):
        run = runs.start_run(
            session, site=site, playbook=playbook, grid=grid, by=staff, started_at=utc_text(start)
        )
        session.flush()
        steps = runs.view(session, run).steps
        last = n == len(rounds) - 1
        for i, step in enumerate(steps):
            if last and i >= len(steps) // 2:
                break  # the newest run is still being walked
            answer = answer_for(step, rnd.random() < FAIL_RATE, photo)
            runs.record(session, site=site, run=run, answer=answer, store_dir=store_dir)
        if not last:
            minutes = sum(s.minutes or 2 for s in steps)
            done = min(start + timedelta(minutes=minutes), now)  # never finished in the future
            runs.finish(session, run=run, at=utc_text(done))
        made += 1
    photo.unlink(missing_ok=True)
    return made
