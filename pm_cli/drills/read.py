"""Drills read with Core (`store.tables`): `pm drill due|list|show` build no model class.
The evaluation of a run against its scenario's targets lives here too; the service passes its
session (its transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from pm_cli.drills import scenario as scenarios
from pm_cli.store import read, tables
from pm_cli.store.ids import utc_text
from pm_cli.timefmt import parse_utc


@dataclass
class Evaluation:
    rows: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.missed


def evaluate(run: Any, events: list[Any]) -> Evaluation:
    """Each milestone's minutes from T0 against its target (met when actual ≤ target)."""
    sc = scenarios.get(run.scenario)
    t0 = parse_utc(run.started_at)
    at = {e.milestone: e for e in events}
    ev = Evaluation()
    for m in sc.milestones:
        e = at.get(m.id)
        elapsed = round((parse_utc(e.at) - t0).total_seconds() / 60, 2) if e else None
        met = None if m.target is None or elapsed is None else elapsed <= m.target + 1e-9
        if e is None:
            ev.missing.append(m.id)
        elif met is False:
            ev.missed.append(m.id)
        ev.rows.append(
            {
                "milestone": m.id,
                "title": m.title,
                "target": m.target,
                "rule": m.rule,
                "at": e.at if e else None,
                "elapsed": elapsed,
                "met": met,
                "note": e.note if e else None,
            }
        )
    return ev


def _last_runs(db: Any, site: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t = tables.drill_run
    for r in read.connection(db).execute(
        read.live(t, site.id).where(t.c.status != "open").order_by(t.c.started_at)
    ):
        out[r.drill_id] = r
    return out


def due(db: Any, *, site: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each drill's next date by its schedule and by the scenario's required frequency (the
    stricter wins), counted from the last drill run (or the plan's creation)."""
    from pm_cli.recurrence import parse_rule

    t = now or datetime.now(UTC)
    conn, dt = read.connection(db), tables.drill
    last = _last_runs(conn, site)
    grids, _staff = read.id_codes(conn, site.id)
    out = []
    for d in conn.execute(read.live(dt, site.id).order_by(dt.c.code)):
        sc = scenarios.get(d.scenario)
        base = parse_utc(last[d.id].started_at if d.id in last else d.created_at)
        naive = base.replace(tzinfo=None)
        req = parse_rule(sc.frequency, dtstart=naive).after(naive)
        sched = parse_rule(d.schedule, dtstart=naive).after(naive) if d.schedule else None
        required_by = req.replace(tzinfo=UTC) if req else None
        scheduled_at = sched.replace(tzinfo=UTC) if sched else None
        candidates = [x for x in (required_by, scheduled_at) if x]
        due_at = min(candidates) if candidates else None
        out.append(
            {
                "code": d.code,
                "scenario": d.scenario,
                "title": d.title,
                "grid": grids.get(d.grid_id) if d.grid_id else None,
                "schedule": d.schedule,
                "required": sc.frequency,
                "last_run": last[d.id].started_at if d.id in last else None,
                "scheduled": utc_text(scheduled_at) if scheduled_at else None,
                "required_by": utc_text(required_by) if required_by else None,
                "due": utc_text(due_at) if due_at else None,
                "overdue": bool(due_at and due_at < t),
                "overdue_required": bool(required_by and required_by < t),
            }
        )
    return out


def result(run: Any, ev: Evaluation) -> str:
    """pass | fail once finished; a run still open is "in progress", whatever it has so far."""
    if run.status == "open":
        return "in progress"
    return "pass" if ev.passed else "fail"


def list_runs(
    db: Any, *, site: Any, scenario: str | None = None, drill: str | None = None
) -> list[dict[str, Any]]:
    conn, t, e = read.connection(db), tables.drill_run, tables.drill_event
    drills = {d.id: d for d in conn.execute(read.live(tables.drill, site.id))}
    stmt = read.live(t, site.id).order_by(t.c.started_at.desc())
    if scenario:
        stmt = stmt.where(t.c.scenario == scenario)
    if drill:
        stmt = stmt.where(
            t.c.drill_id
            == read.get_by_code(
                conn,
                tables.drill,
                drill,
                site_id=site.id,
                noun="drill",
                where=site.code,
                hint="`pm drill list` shows the planned drills",
            ).id
        )
    runs = conn.execute(stmt).all()
    events: dict[str, list[Any]] = {}  # one query for the runs' events, not one per run
    for part in read.chunks(r.id for r in runs):
        for row in conn.execute(
            sa.select(e).where(e.c.drill_run_id.in_(part)).order_by(e.c.at, e.c.hlc)
        ):
            events.setdefault(row.drill_run_id, []).append(row)
    out = []
    for r in runs:
        ev = evaluate(r, events.get(r.id, []))
        out.append(
            {
                "id": r.id,
                "short": r.id[-8:],
                "drill": drills[r.drill_id].code if r.drill_id in drills else None,
                "scenario": r.scenario,
                "started_at": r.started_at,
                "status": r.status,
                "participants": r.participants,
                "result": result(r, ev),  # not yet recorded is not missed while open
                "missed": ev.missed + (ev.missing if r.status != "open" else []),
            }
        )
    return out
