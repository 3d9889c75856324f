"""Emergency drills run: a run started at T0, its milestones recorded in time order against
the scenario's targets, finished and evaluated, each missed target and each finding raised as
an improvement item (domain.md §3); a run's record and a scenario's trend. Plans and their
schedules live in `drills.plans`, due dates in `drills.read`, runs recorded after the fact
from a timeline file in `drills.timeline`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from pm_cli import validate as v
from pm_cli.drills import scenario as scenarios
from pm_cli.drills.models import Drill, DrillEvent, DrillRun
from pm_cli.drills.plans import _grid_id, get_drill

# its home is drills.plans; named here too, for the demo, bench and tests that plan and run
from pm_cli.drills.plans import plan as plan

# their home is drills.read; named here too, for the features that take them from the service
from pm_cli.drills.read import Evaluation as Evaluation
from pm_cli.drills.read import _last_runs as _last_runs
from pm_cli.drills.read import due as due
from pm_cli.drills.read import evaluate as evaluate
from pm_cli.drills.read import list_runs as list_runs
from pm_cli.drills.read import result as result
from pm_cli.errors import ConflictError, PmError
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.ids import utc_text
from pm_cli.store.query import get_by_tail, live
from pm_cli.timefmt import parse_utc

KINDS = ("tabletop", "functional", "full-scale")
# A time typed to the minute (`--at 14:05` at 14:04:30) is not "the future"; anything later
# is, however little: the clock-skew allowance of sync is for drift between clocks, and an
# explicit time is no clock's.
TYPED = timedelta(minutes=1)


def _not_future(t: datetime, what: str) -> None:
    now = datetime.now(UTC)
    if t > now + TYPED:
        raise PmError(
            f"{what} at {utc_text(t)} is in the future: it is {utc_text(now)} at the site",
            where="--at",
            hint="give a time that has passed, or leave out --at for now",
        )


def parse_time(
    text: str, tz: str | None, *, where: str = "--at", day_of: datetime | None = None
) -> datetime:
    """A typed time by the one parser (pm_cli.dates): a time without a zone is the site's
    local time, and a time without a date is on the day of `day_of` (a drill's T0), else
    today."""
    from pm_cli import dates

    return dates.instant(str(text), tz, where=where, day_of=day_of)


# ---- runs ------------------------------------------------------------------------------


def get_run(session: Session, *, site: Site, ref: str) -> DrillRun:
    return get_by_tail(
        session,
        DrillRun,
        ref,
        site_id=site.id,
        noun="drill run",
        where=site.code,
        hint="`pm drill runs` shows them",
    )


def start(
    session: Session,
    *,
    site: Site,
    code: str,
    at: datetime | None = None,
    kind: str = "functional",
    participants: int | None = None,
    roster: list[str] | None = None,
    observers: str | None = None,
    weather: str | None = None,
    note: str | None = None,
) -> DrillRun:
    """T0: the first milestone (the trigger: alarm, warning …) is recorded at the start."""
    drill = get_drill(session, site=site, code=code)
    sc = scenarios.get(drill.scenario)
    if kind not in KINDS:
        raise PmError(f"unknown drill kind {kind!r}", where="--kind", hint="|".join(KINDS))
    if participants is not None and participants < 0:
        raise PmError("participants cannot be negative", where="--participants")
    t0 = at or datetime.now(UTC)
    _not_future(t0, "T0")
    run = write.create(
        session,
        DrillRun,
        site_id=site.id,
        drill_id=drill.id,
        scenario=sc.id,
        kind=kind,
        started_at=utc_text(t0),
        status="open",
        participants=participants,
        roster=list(roster or []),
        observers=v.optional_text(observers),
        weather=v.optional_text(weather),
        note=v.optional_text(note),
    )
    write.append(
        session,
        DrillEvent,
        site_id=site.id,
        drill_run_id=run.id,
        milestone=sc.milestones[0].id,
        at=utc_text(t0),
        note="T0",
    )
    return run


def _events(session: Session, run: DrillRun) -> list[DrillEvent]:
    return list(
        session.exec(
            select(DrillEvent)
            .where(DrillEvent.drill_run_id == run.id)
            .order_by(DrillEvent.at, DrillEvent.hlc)
        )
    )


def event(
    session: Session,
    *,
    site: Site,
    run: DrillRun,
    milestone: str,
    at: datetime | None = None,
    note: str | None = None,
) -> DrillEvent:
    sc = scenarios.get(run.scenario)
    if run.status != "open":
        raise ConflictError(f"drill run {run.id[-8:]} is {run.status}")
    if sc.milestone(milestone) is None:
        raise PmError(
            f"{sc.id} has no milestone {milestone!r}",
            where="MILESTONE",
            hint="milestones: " + ", ".join(m.id for m in sc.milestones),
        )
    events = _events(session, run)
    if any(e.milestone == milestone for e in events):
        raise ConflictError(f"{milestone} is already recorded for this run")
    t = at or datetime.now(UTC)
    t0 = parse_utc(run.started_at)
    if t < t0:
        raise PmError(
            f"{milestone} at {utc_text(t)} is before the drill started ({run.started_at})",
            where="--at",
        )
    if events:
        last = max(events, key=lambda e: e.at)
        if t < parse_utc(last.at):
            raise PmError(
                f"{milestone} at {utc_text(t)} is before {last.milestone} "
                f"({last.at}): events are recorded in time order",
                where="--at",
            )
    _not_future(t, milestone)
    return write.append(
        session,
        DrillEvent,
        site_id=site.id,
        drill_run_id=run.id,
        milestone=milestone,
        at=utc_text(t),
        note=v.optional_text(note),
    )


def finish(
    session: Session,
    *,
    site: Site,
    run: DrillRun,
    at: datetime | None = None,
    incomplete: bool = False,
    by_id: str | None = None,
) -> Evaluation:
    """Close a run. Missing milestones are refused unless `incomplete`; each missed target
    opens a major improvement item (domain.md §3)."""
    if run.status != "open":
        raise ConflictError(f"drill run {run.id[-8:]} is already {run.status}")
    ev = evaluate(run, _events(session, run))
    if ev.missing and not incomplete:
        raise ConflictError(
            f"milestone(s) not recorded: {', '.join(ev.missing)}",
            hint=f"pm drill event {run.id[-8:]} MILESTONE --at TIME, or finish with "
            "--incomplete (they count as missed)",
        )
    if at is not None:
        _not_future(at, "the end")
    end = at or datetime.now(UTC)
    events = _events(session, run)
    if events and end < parse_utc(max(e.at for e in events)):
        end = parse_utc(max(e.at for e in events))
    write.update(
        session, run, status="incomplete" if ev.missing else "finished", finished_at=utc_text(end)
    )
    drill = session.get(Drill, run.drill_id)
    from pm_cli.findings.service import raise_finding

    sc = scenarios.get(run.scenario)
    for mid in ev.missed + ev.missing:
        m = sc.milestone(mid)
        if m is None or m.target is None:  # nothing was promised: nothing to improve
            continue
        row = next(r for r in ev.rows if r["milestone"] == mid)
        what = (
            f"{row['elapsed']:g} min vs target {m.target:g}"
            if row["elapsed"] is not None
            else "not reached"
        )
        raise_finding(
            session,
            site_id=site.id,
            source="drill",
            source_ref=run.id,
            title=f"演练未达标 Drill missed {sc.id}/{mid}: {what}",
            severity="major",
            grid_id=drill.grid_id if drill else None,
            key=f"drill:{run.id}:{mid}",
            by_id=by_id,
        )
    return ev


def finding(
    session: Session,
    *,
    site: Site,
    run: DrillRun,
    text: str,
    severity: str,
    grid: str | None = None,
    by_id: str | None = None,
) -> Any:
    from pm_cli.findings.service import raise_finding

    drill = session.get(Drill, run.drill_id)
    grid_id = _grid_id(session, site, grid) if grid else (drill.grid_id if drill else None)
    return raise_finding(
        session,
        site_id=site.id,
        source="drill",
        source_ref=run.id,
        title=v.check(v.name, text, field="TEXT"),
        severity=v.check(v.risk_level, severity, field="--severity"),
        grid_id=grid_id,
        by_id=by_id,
    )


# ---- reading ---------------------------------------------------------------------------


def run_record(session: Session, site: Site, run: DrillRun) -> dict[str, Any]:
    from pm_cli.pdca import service as pdca

    drill = session.get(Drill, run.drill_id)
    sc = scenarios.get(run.scenario)
    ev = evaluate(run, _events(session, run))
    items = [
        i
        for i in pdca.list_items(session, site=site, include_closed=True)
        if i["source"] == "drill" and i["source_ref"] == run.id
    ]
    return {
        "id": run.id,
        "short": run.id[-8:],
        "drill": drill.code if drill else None,
        "scenario": sc.id,
        "title": sc.title,
        "kind": run.kind,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "status": run.status,
        "participants": run.participants,
        "roster": run.roster,
        "observers": run.observers,
        "weather": run.weather,
        "note": run.note,
        "result": result(run, ev),
        "missed": ev.missed,
        "missing": ev.missing,
        "milestones": ev.rows,
        "items": [
            {
                "no": i["no"],
                "title": i["title"],
                "severity": i["severity"],
                "phase": i["phase"],
                "owner": i["owner"],
            }
            for i in items
        ],
    }


def trend(session: Session, *, site: Site, scenario: str) -> dict[str, Any]:
    sc = scenarios.get(scenario)
    runs = list(
        session.exec(
            live(DrillRun, site.id).where(DrillRun.scenario == sc.id).order_by(DrillRun.started_at)
        )
    )
    rows = []
    for r in runs:
        ev = evaluate(r, _events(session, r))
        rows.append(
            {
                "run": r.id[-8:],
                "started_at": r.started_at,
                "result": result(r, ev),
                **{m["milestone"]: m["elapsed"] for m in ev.rows},
            }
        )
    return {
        "scenario": sc.id,
        "title": sc.title,
        "milestones": [{"id": m.id, "target": m.target} for m in sc.milestones],
        "runs": rows,
    }
