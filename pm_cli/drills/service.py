"""Emergency drills: plans on a schedule, timed runs against the scenario's milestones,
evaluation, findings as improvement items, due dates and trends (domain.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from pm_cli import validate as v
from pm_cli.drills import scenario as scenarios
from pm_cli.drills.models import Drill, DrillEvent, DrillRun
from pm_cli.drills.read import Evaluation as Evaluation
from pm_cli.drills.read import _last_runs as _last_runs

# their home is drills.read; named here too, for the features that take them from the service
from pm_cli.drills.read import _parse_utc as _parse_utc
from pm_cli.drills.read import due as due
from pm_cli.drills.read import evaluate as evaluate
from pm_cli.drills.read import list_runs as list_runs
from pm_cli.drills.read import result as result
from pm_cli.errors import ConflictError, InputError, NotFoundError, PmError, Problem
from pm_cli.grids.models import Grid
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.ids import utc_text
from pm_cli.store.query import find_by_code, get_by_code, get_by_tail, live

KINDS = ("tabletop", "functional", "full-scale")
# A time typed to the minute (`--at 14:05` at 14:04:30) is not "the future"; anything later
# is, however little: the clock-skew allowance of sync is for drift between clocks, and an
# explicit time is no clock's.
TYPED = timedelta(minutes=1)


def _not_future(t: datetime, what: str) -> None:
    now = datetime.now(UTC)
    if t > now + TYPED:
        raise PmError(f"{what} at {utc_text(t)} is in the future: it is {utc_text(now)} at "
                      "the site", where="--at",
                      hint="give a time that has passed, or leave out --at for now")


def parse_time(text: str, tz: str | None, *, where: str = "--at",
               day_of: datetime | None = None) -> datetime:
    """A typed time by the one parser (pm_cli.dates): a time without a zone is the site's
    local time, and a time without a date is on the day of `day_of` (a drill's T0), else
    today."""
    from pm_cli import dates

    return dates.instant(str(text), tz, where=where, day_of=day_of)


# ---- plans -----------------------------------------------------------------------------


def get_drill(session: Session, *, site: Site, code: str) -> Drill:
    return get_by_code(session, Drill, code, site_id=site.id, noun="drill", where=site.code,
                       hint="`pm drill list` shows the planned drills")


def plan(session: Session, *, site: Site, code: str, scenario: str, grid: str | None = None,
         schedule: str | None = None, title: str | None = None) -> Drill:
    code = v.check(v.code, code, field="CODE")
    sc = scenarios.get(scenario)
    if find_by_code(session, Drill, code, site_id=site.id, noun="drill", where=site.code):
        raise ConflictError(f"drill {code} already exists at {site.code}",
                            hint=f"pm drill schedule {code} RRULE")
    grid_id = _grid_id(session, site, grid)
    return write.create(session, Drill, site_id=site.id, code=code, scenario=sc.id,
                        title=v.optional_text(title) or sc.title, grid_id=grid_id,
                        schedule=_rule(schedule))


def _grid_id(session: Session, site: Site, grid: str | None) -> str | None:
    if not grid:
        return None
    row = find_by_code(session, Grid, grid, site_id=site.id, noun="grid", where=site.code)
    if row is None:
        raise NotFoundError(f"no grid {grid} at {site.code}", where="--grid")
    return row.id


def _rule(text: str | None) -> str | None:
    if not text:
        return None
    from pm_cli.schedule import expand_shortcut, parse_rule

    v.check(parse_rule, text, field="--schedule")
    return expand_shortcut(text)


def set_schedule(session: Session, *, site: Site, code: str, schedule: str | None) -> Drill:
    drill = get_drill(session, site=site, code=code)
    write.update(session, drill, schedule=_rule(schedule))
    return drill


def unplan(session: Session, *, site: Site, code: str) -> Drill:
    """Remove a drill plan made by mistake, as long as it has never run (a run is history:
    the plan stays with it; change its schedule instead)."""
    drill = get_drill(session, site=site, code=code)
    runs = list(session.exec(live(DrillRun, site.id).where(DrillRun.drill_id == drill.id)))
    if runs:
        raise ConflictError(
            f"drill {drill.code} has {len(runs)} run(s) on record; a drill that ran stays "
            "with its history", hint="its runs stay on record; to stop scheduling it: "
            f"pm drill schedule {drill.code} ''")
    write.delete(session, drill)
    return drill


# ---- runs ------------------------------------------------------------------------------


def get_run(session: Session, *, site: Site, ref: str) -> DrillRun:
    return get_by_tail(session, DrillRun, ref, site_id=site.id, noun="drill run",
                       where=site.code, hint="`pm drill runs` shows them")


def start(session: Session, *, site: Site, code: str, at: datetime | None = None,
          kind: str = "functional", participants: int | None = None,
          roster: list[str] | None = None, observers: str | None = None,
          weather: str | None = None, note: str | None = None) -> DrillRun:
    """T0: the first milestone (the trigger: alarm, warning …) is recorded at the start."""
    drill = get_drill(session, site=site, code=code)
    sc = scenarios.get(drill.scenario)
    if kind not in KINDS:
        raise PmError(f"unknown drill kind {kind!r}", where="--kind", hint="|".join(KINDS))
    if participants is not None and participants < 0:
        raise PmError("participants cannot be negative", where="--participants")
    t0 = at or datetime.now(UTC)
    _not_future(t0, "T0")
    run = write.create(session, DrillRun, site_id=site.id, drill_id=drill.id,
                       scenario=sc.id, kind=kind, started_at=utc_text(t0), status="open",
                       participants=participants, roster=list(roster or []),
                       observers=v.optional_text(observers), weather=v.optional_text(weather),
                       note=v.optional_text(note))
    write.append(session, DrillEvent, site_id=site.id, drill_run_id=run.id,
                 milestone=sc.milestones[0].id, at=utc_text(t0), note="T0")
    return run


def _events(session: Session, run: DrillRun) -> list[DrillEvent]:
    return list(session.exec(select(DrillEvent).where(DrillEvent.drill_run_id == run.id)
                             .order_by(DrillEvent.at, DrillEvent.hlc)))


def event(session: Session, *, site: Site, run: DrillRun, milestone: str,
          at: datetime | None = None, note: str | None = None) -> DrillEvent:
    sc = scenarios.get(run.scenario)
    if run.status != "open":
        raise ConflictError(f"drill run {run.id[-8:]} is {run.status}")
    if sc.milestone(milestone) is None:
        raise PmError(f"{sc.id} has no milestone {milestone!r}", where="MILESTONE",
                      hint="milestones: " + ", ".join(m.id for m in sc.milestones))
    events = _events(session, run)
    if any(e.milestone == milestone for e in events):
        raise ConflictError(f"{milestone} is already recorded for this run")
    t = at or datetime.now(UTC)
    t0 = _parse_utc(run.started_at)
    if t < t0:
        raise PmError(f"{milestone} at {utc_text(t)} is before the drill started "
                      f"({run.started_at})", where="--at")
    if events:
        last = max(events, key=lambda e: e.at)
        if t < _parse_utc(last.at):
            raise PmError(f"{milestone} at {utc_text(t)} is before {last.milestone} "
                          f"({last.at}): events are recorded in time order", where="--at")
    _not_future(t, milestone)
    return write.append(session, DrillEvent, site_id=site.id, drill_run_id=run.id,
                        milestone=milestone, at=utc_text(t), note=v.optional_text(note))


def finish(session: Session, *, site: Site, run: DrillRun, at: datetime | None = None,
           incomplete: bool = False, by_id: str | None = None) -> Evaluation:
    """Close a run. Missing milestones are refused unless `incomplete`; each missed target
    opens a major improvement item (domain.md §3)."""
    if run.status != "open":
        raise ConflictError(f"drill run {run.id[-8:]} is already {run.status}")
    ev = evaluate(run, _events(session, run))
    if ev.missing and not incomplete:
        raise ConflictError(
            f"milestone(s) not recorded: {', '.join(ev.missing)}",
            hint=f"pm drill event {run.id[-8:]} MILESTONE --at TIME, or finish with "
            "--incomplete (they count as missed)")
    if at is not None:
        _not_future(at, "the end")
    end = at or datetime.now(UTC)
    events = _events(session, run)
    if events and end < _parse_utc(max(e.at for e in events)):
        end = _parse_utc(max(e.at for e in events))
    write.update(session, run, status="incomplete" if ev.missing else "finished",
                 finished_at=utc_text(end))
    drill = session.get(Drill, run.drill_id)
    from pm_cli.findings.service import raise_finding

    sc = scenarios.get(run.scenario)
    for mid in ev.missed + ev.missing:
        m = sc.milestone(mid)
        if m is None or m.target is None:  # nothing was promised: nothing to improve
            continue
        row = next(r for r in ev.rows if r["milestone"] == mid)
        what = (f"{row['elapsed']:g} min vs target {m.target:g}" if row["elapsed"] is not None
                else "not reached")
        raise_finding(session, site_id=site.id, source="drill", source_ref=run.id,
                      title=f"演练未达标 Drill missed {sc.id}/{mid}: {what}",
                      severity="major", grid_id=drill.grid_id if drill else None,
                      key=f"drill:{run.id}:{mid}", by_id=by_id)
    return ev


def finding(session: Session, *, site: Site, run: DrillRun, text: str, severity: str,
            grid: str | None = None, by_id: str | None = None) -> Any:
    from pm_cli.findings.service import raise_finding

    drill = session.get(Drill, run.drill_id)
    grid_id = _grid_id(session, site, grid) if grid else (drill.grid_id if drill else None)
    return raise_finding(session, site_id=site.id, source="drill", source_ref=run.id,
                         title=v.check(v.name, text, field="TEXT"),
                         severity=v.check(v.risk_level, severity, field="--severity"),
                         grid_id=grid_id, by_id=by_id)


# ---- after the fact --------------------------------------------------------------------


def read_timeline(path: Path) -> dict[str, Any]:
    """A timeline file (YAML mapping, or CSV of milestone,at,note), checked with positions."""
    import yaml

    from pm_cli.transfer.readers import decode, read_bytes
    from pm_cli.yamlfile import Loader

    source = str(path)
    text = decode(read_bytes(path), source, None)
    problems: list[Problem] = []
    out: dict[str, Any] = {"events": [], "findings": []}
    if path.suffix.lower() == ".csv":
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text, newline="")))
        header = [h.strip().lower() for h in (rows[0] if rows else [])]
        if not {"milestone", "at"} <= set(header):
            raise InputError([Problem(f"{source}:1", "expected columns milestone,at[,note]")],
                             source=source)
        for n, cells in enumerate(rows[1:], 2):
            if not any(c.strip() for c in cells):
                continue
            rec = dict(zip(header, (c.strip() for c in cells), strict=False))
            out["events"].append((f"{source}:{n}", rec.get("milestone", ""), rec.get("at", ""),
                                  rec.get("note") or None))
        if not out["events"]:
            problems.append(Problem(f"{source}:1", "no events"))
        else:
            first = out["events"][0]
            out["started"] = (first[0], first[2])
    else:
        try:
            loader = Loader(text)
            try:
                root = loader.get_single_node()
                if not isinstance(root, yaml.MappingNode):
                    raise InputError([Problem(f"{source}:1", "expected a mapping: started, "
                                              "participants, events: [...]")], source=source)
                data: dict[str, Any] = {}
                lines: dict[str, int] = {}
                for k, val in root.value:
                    lines[k.value] = k.start_mark.line + 1
                    if k.value in ("events", "findings") and isinstance(val, yaml.SequenceNode):
                        data[k.value] = [(item.start_mark.line + 1,
                                          loader.construct_object(item, True))
                                         for item in val.value]
                    else:
                        data[k.value] = loader.construct_object(val, True)
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            raise InputError([Problem(where, f"YAML syntax: {e.problem}")],
                             source=source) from None
        known = {"started", "participants", "roster", "observers", "weather", "kind", "note",
                 "events", "findings", "finished"}
        for k in data:
            if k not in known:
                problems.append(Problem(f"{source}:{lines[k]}", f"unknown key {k!r}; known: "
                                        + ", ".join(sorted(known))))
        if "started" not in data:
            problems.append(Problem(f"{source}:1", "missing started (T0)"))
        else:
            out["started"] = (f"{source}:{lines['started']}", str(data["started"]))
        for k in ("participants", "roster", "observers", "weather", "kind", "note", "finished"):
            if k in data:
                out[k] = (f"{source}:{lines[k]}", data[k])
        for line, item in data.get("events", []):
            if not isinstance(item, dict) or "milestone" not in item or "at" not in item:
                problems.append(Problem(f"{source}:{line}", "an event is {milestone, at[, note]}"))
                continue
            out["events"].append((f"{source}:{line}", str(item["milestone"]), str(item["at"]),
                                  item.get("note")))
        for line, item in data.get("findings", []):
            if not isinstance(item, dict) or "text" not in item:
                problems.append(Problem(f"{source}:{line}",
                                        "a finding is {text, severity[, grid]}"))
                continue
            out["findings"].append((f"{source}:{line}", item))
    if problems:
        raise InputError(problems, source=source)
    return out


def record(session: Session, *, site: Site, code: str, path: Path,
           by_id: str | None = None) -> tuple[DrillRun, Evaluation]:
    """A drill done on paper: the whole timeline checked first, then stored and finished."""
    drill = get_drill(session, site=site, code=code)
    sc = scenarios.get(drill.scenario)
    tl = read_timeline(path)
    problems: list[Problem] = []

    def when(where: str, text: str) -> datetime | None:
        try:
            return parse_time(text, site.tz, where=where, day_of=t0)
        except PmError as e:
            problems.append(Problem(where, e.message))
            return None

    where0, started_text = tl["started"]
    t0: datetime | None = None
    t0 = when(where0, started_text)
    previous: datetime | None = t0
    seen: set[str] = set()
    events: list[tuple[str, datetime, str | None]] = []
    for where, mid, at_text, note in tl["events"]:
        if sc.milestone(mid) is None:
            problems.append(Problem(where, f"{sc.id} has no milestone {mid!r} (milestones: "
                                    + ", ".join(m.id for m in sc.milestones) + ")"))
            continue
        if mid in seen:
            problems.append(Problem(where, f"{mid} is recorded twice"))
            continue
        seen.add(mid)
        t = when(where, at_text)
        if t is None:
            continue
        if t0 is not None and t < t0:
            problems.append(Problem(where, f"{mid} is before the drill started"))
        elif previous is not None and t < previous:
            problems.append(Problem(where, f"{mid} is earlier than the event before it: "
                                    "events are in time order"))
        previous = t
        events.append((mid, t, None if note is None else str(note)))
    missing = [m.id for m in sc.milestones[1:] if m.id not in seen]
    if missing:
        problems.append(Problem(str(path), "milestone(s) not recorded: " + ", ".join(missing)))
    participants = tl.get("participants", (None, None))
    count = None
    if participants[1] is not None:
        try:
            count = int(participants[1])
            if count < 0:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(Problem(participants[0], "participants is a whole number"))
    kind = str(tl.get("kind", (None, "functional"))[1])
    if kind not in KINDS:
        problems.append(Problem(tl["kind"][0], f"kind is one of {', '.join(KINDS)}"))
    for where, f in tl["findings"]:
        try:
            v.risk_level(str(f.get("severity", "major")))
        except ValueError as e:
            problems.append(Problem(where, str(e)))
    if problems or t0 is None:
        raise InputError(problems, source=str(path))
    roster = tl.get("roster", (None, []))[1] or []
    run = start(session, site=site, code=code, at=t0, kind=kind, participants=count,
                roster=[str(x) for x in roster] if isinstance(roster, list) else [str(roster)],
                observers=_opt(tl, "observers"), weather=_opt(tl, "weather"),
                note=_opt(tl, "note"))
    for mid, t, note in events:
        if mid == sc.milestones[0].id:
            continue  # T0 is recorded by start
        write.append(session, DrillEvent, site_id=site.id, drill_run_id=run.id, milestone=mid,
                     at=utc_text(t), note=note)
    for _where, f in tl["findings"]:
        finding(session, site=site, run=run, text=str(f["text"]),
                severity=str(f.get("severity", "major")), grid=f.get("grid"), by_id=by_id)
    end = previous
    ev = finish(session, site=site, run=run, at=end, by_id=by_id)
    return run, ev


def _opt(tl: dict[str, Any], key: str) -> str | None:
    val = tl.get(key, (None, None))[1]
    return None if val is None else str(val)


# ---- reading ---------------------------------------------------------------------------


def run_record(session: Session, site: Site, run: DrillRun) -> dict[str, Any]:
    from pm_cli.pdca import service as pdca

    drill = session.get(Drill, run.drill_id)
    sc = scenarios.get(run.scenario)
    ev = evaluate(run, _events(session, run))
    items = [i for i in pdca.list_items(session, site=site, include_closed=True)
             if i["source"] == "drill" and i["source_ref"] == run.id]
    return {
        "id": run.id, "short": run.id[-8:], "drill": drill.code if drill else None,
        "scenario": sc.id, "title": sc.title, "kind": run.kind, "started_at": run.started_at,
        "finished_at": run.finished_at, "status": run.status,
        "participants": run.participants, "roster": run.roster, "observers": run.observers,
        "weather": run.weather, "note": run.note,
        "result": result(run, ev), "missed": ev.missed, "missing": ev.missing,
        "milestones": ev.rows,
        "items": [{"no": i["no"], "title": i["title"], "severity": i["severity"],
                   "phase": i["phase"], "owner": i["owner"]} for i in items],
    }


def trend(session: Session, *, site: Site, scenario: str) -> dict[str, Any]:
    sc = scenarios.get(scenario)
    runs = list(session.exec(live(DrillRun, site.id).where(DrillRun.scenario == sc.id)
                             .order_by(DrillRun.started_at)))
    rows = []
    for r in runs:
        ev = evaluate(r, _events(session, r))
        rows.append({"run": r.id[-8:], "started_at": r.started_at,
                     "result": result(r, ev),
                     **{m["milestone"]: m["elapsed"] for m in ev.rows}})
    return {"scenario": sc.id, "title": sc.title,
            "milestones": [{"id": m.id, "target": m.target} for m in sc.milestones],
            "runs": rows}
