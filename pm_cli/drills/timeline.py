"""Drills recorded after the fact: a drill done on paper, its timeline file (a YAML mapping,
or a CSV of milestone,at,note) read and checked with positions, then stored as a run and
finished as `pm drill start|event|finish` would have."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from pm_cli import validate as v
from pm_cli.drills import scenario as scenarios
from pm_cli.drills.models import DrillEvent, DrillRun
from pm_cli.drills.plans import get_drill
from pm_cli.drills.read import Evaluation
from pm_cli.drills.service import KINDS, finding, finish, parse_time, start
from pm_cli.errors import InputError, PmError, Problem
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.ids import utc_text


def read_timeline(path: Path) -> dict[str, Any]:
    """A timeline file (YAML mapping, or CSV of milestone,at,note), checked with positions."""
    import yaml

    from pm_cli.files import decode, read_bytes
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
            raise InputError(
                [Problem(f"{source}:1", "expected columns milestone,at[,note]")], source=source
            )
        for n, cells in enumerate(rows[1:], 2):
            if not any(c.strip() for c in cells):
                continue
            rec = dict(zip(header, (c.strip() for c in cells), strict=False))
            out["events"].append(
                (
                    f"{source}:{n}",
                    rec.get("milestone", ""),
                    rec.get("at", ""),
                    rec.get("note") or None,
                )
            )
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
                    raise InputError(
                        [
                            Problem(
                                f"{source}:1",
                                "expected a mapping: started, participants, events: [...]",
                            )
                        ],
                        source=source,
                    )
                data: dict[str, Any] = {}
                lines: dict[str, int] = {}
                for k, val in root.value:
                    lines[k.value] = k.start_mark.line + 1
                    if k.value in ("events", "findings") and isinstance(val, yaml.SequenceNode):
                        data[k.value] = [
                            (item.start_mark.line + 1, loader.construct_object(item, True))
                            for item in val.value
                        ]
                    else:
                        data[k.value] = loader.construct_object(val, True)
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            raise InputError([Problem(where, f"YAML syntax: {e.problem}")], source=source) from None
        known = {
            "started",
            "participants",
            "roster",
            "observers",
            "weather",
            "kind",
            "note",
            "events",
            "findings",
            "finished",
        }
        for k in data:
            if k not in known:
                problems.append(
                    Problem(
                        f"{source}:{lines[k]}",
                        f"unknown key {k!r}; known: " + ", ".join(sorted(known)),
                    )
                )
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
            out["events"].append(
                (f"{source}:{line}", str(item["milestone"]), str(item["at"]), item.get("note"))
            )
        for line, item in data.get("findings", []):
            if not isinstance(item, dict) or "text" not in item:
                problems.append(
                    Problem(f"{source}:{line}", "a finding is {text, severity[, grid]}")
                )
                continue
            out["findings"].append((f"{source}:{line}", item))
    if problems:
        raise InputError(problems, source=source)
    return out


def record(
    session: Session, *, site: Site, code: str, path: Path, by_id: str | None = None
) -> tuple[DrillRun, Evaluation]:
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
            problems.append(
                Problem(
                    where,
                    f"{sc.id} has no milestone {mid!r} (milestones: "
                    + ", ".join(m.id for m in sc.milestones)
                    + ")",
                )
            )
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
            problems.append(
                Problem(
                    where, f"{mid} is earlier than the event before it: events are in time order"
                )
            )
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
    run = start(
        session,
        site=site,
        code=code,
        at=t0,
        kind=kind,
        participants=count,
        roster=[str(x) for x in roster] if isinstance(roster, list) else [str(roster)],
        observers=_opt(tl, "observers"),
        weather=_opt(tl, "weather"),
        note=_opt(tl, "note"),
    )
    for mid, t, note in events:
        if mid == sc.milestones[0].id:
            continue  # T0 is recorded by start
        write.append(
            session,
            DrillEvent,
            site_id=site.id,
            drill_run_id=run.id,
            milestone=mid,
            at=utc_text(t),
            note=note,
        )
    for _where, f in tl["findings"]:
        finding(
            session,
            site=site,
            run=run,
            text=str(f["text"]),
            severity=str(f.get("severity", "major")),
            grid=f.get("grid"),
            by_id=by_id,
        )
    end = previous
    ev = finish(session, site=site, run=run, at=end, by_id=by_id)
    return run, ev


def _opt(tl: dict[str, Any], key: str) -> str | None:
    val = tl.get(key, (None, None))[1]
    return None if val is None else str(val)
