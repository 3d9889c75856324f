"""The facts of the KPIs counted from the records (`kpi.compute` gathers them into a
`kpi.Facts`; `reports.rollup` stores those of the day-additive ones): one collector per kind
of record, each adding what it counts where it belongs (grid, service, staff, day).

- `inspections`: the scheduled walks and checklists due (inspections, on_time);
- `steps`: the answers of the runs finished (steps_passed);
- `items`: the PDCA items' SLA clocks (response_sla, resolution_sla, closed, complaints) and
  their flow; the critical ones overdue;
- `drills`: the drill plans' due dates and the milestones' targets;
- `risks`: the open risks' reviews; the critical ones with no control;
- `surveys`: the owner satisfaction surveys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pm_cli.errors import PmError
from pm_cli.reports.facts import Facts, Period
from pm_cli.reports.flow import Flow
from pm_cli.sites.models import Site
from pm_cli.store.ids import utc_text
from pm_cli.store.query import live
from pm_cli.timefmt import parse_utc

_TICK = timedelta(milliseconds=1)  # a window's end less this: its last moment

# ---- inspections -------------------------------------------------------------------------


def inspections(session: Session, site: Site, p: Period, f: Facts) -> None:
    from pm_cli.playbooks import service as playbooks
    from pm_cli.routes.models import Route
    from pm_cli.schedules import service as schedules

    occs = [
        *schedules.route_occurrences(session, site=site, since=p.since, until=p.end, now=p.now),
        *schedules.playbook_occurrences(session, site=site, since=p.since, until=p.end, now=p.now),
    ]
    owners = dict(
        session.exec(
            select(Route.code, Route.owner_id).where(
                Route.site_id == site.id,
                Route.deleted == False,  # noqa: E712
            )
        ).all()
    )
    services: dict[str, str] = {}
    for o in occs:
        # counted once, at one instant: when it was done, if before its window's end, else
        # at that end (the window's last moment: a window ending at midnight is its day's);
        # so consecutive periods, and the days of a rollup, add up
        last = o.window.end - _TICK
        done = o.status == "done"
        at = min(parse_utc(o.finished_at), last) if done and o.finished_at else last
        if not p.since <= at < p.end:
            continue
        if o.kind == "route":
            where: dict[str, Any] = {"service": "route", "staff_id": owners.get(o.code)}
        else:
            if o.code not in services:
                services[o.code] = playbooks.get(session, o.code).playbook.service
            where = {"service": services[o.code]}
        f.add("inspections", done, 1, at=at, **where)
        if done:
            on_time = bool(o.finished_at and parse_utc(o.finished_at) <= o.window.end)
            f.add("on_time", on_time, 1, at=at, **where)


# ---- steps ---------------------------------------------------------------------------------


def steps(session: Session, site: Site, p: Period, f: Facts) -> None:
    import sqlalchemy as sa

    from pm_cli.playbooks import service as playbooks
    from pm_cli.runs.models import Run, StepResult

    runs = session.execute(
        sa.select(  # seven columns: more than sqlmodel's select types
            col(Run.id),
            col(Run.playbook_id),
            col(Run.playbook_version),
            col(Run.playbook_sha256),
            col(Run.grid_id),
            col(Run.by_id),
            col(Run.finished_at),
        ).where(
            col(Run.site_id) == site.id,
            col(Run.deleted) == False,  # noqa: E712
            col(Run.status).in_(("finished", "incomplete")),
            col(Run.finished_at) >= utc_text(p.since),
            col(Run.finished_at) < utc_text(p.end),
        )
    ).all()
    pins: dict[tuple[str, int, str], tuple[str, dict[str, float]]] = {}
    of_run: dict[str, tuple[str, dict[str, float]]] = {}
    for rid, pid, ver, sha, *_ in runs:
        key = (pid, ver, sha)
        if key not in pins:
            try:
                pb = playbooks.get_pinned(session, pid, ver, sha).playbook
                pins[key] = (pb.service, {s.id: float(s.weight) for s in pb.steps})
            except PmError:  # a playbook version this laptop lacks: its runs are not read
                pins[key] = ("", {})
        of_run[rid] = pins[key]
    where = {rid: (grid_id, by_id, finished) for rid, _, _, _, grid_id, by_id, finished in runs}
    # each step's newest answer (SQLite: the bare columns come from the row holding max()),
    # for the runs of the period, in one query
    sr = StepResult.__table__
    in_period = sa.select(col(Run.id)).where(
        col(Run.site_id) == site.id,
        col(Run.deleted) == False,  # noqa: E712
        col(Run.status).in_(("finished", "incomplete")),
        col(Run.finished_at) >= utc_text(p.since),
        col(Run.finished_at) < utc_text(p.end),
    )
    sums: dict[str, list[float]] = {}
    for rid, step_id, outcome, _ in session.execute(
        newest_answers(session, sr, sr.c.run_id.in_(in_period)).execution_options(yield_per=5000)
    ):
        # streamed: a year is a million answers
        w = of_run[rid][1].get(step_id) if rid in of_run else None
        if w is None or outcome == "na":
            continue
        cell = sums.setdefault(rid, [0.0, 0.0])
        cell[1] += w
        if outcome == "pass":
            cell[0] += w
    for rid, (num, den) in sums.items():
        grid_id, by_id, finished = where[rid]
        f.add(
            "steps_passed",
            num,
            den,
            at=finished or p.end,
            grid_id=grid_id,
            service=of_run[rid][0],
            staff_id=by_id,
        )


def newest_answers(session: Session, sr: Any, where: Any) -> Any:
    """(run_id, step_id, outcome, hlc) of each step's newest answer in the runs `where`
    picks: SQLite takes the bare columns from the row holding max(); PostgreSQL has
    DISTINCT ON."""
    import sqlalchemy as sa

    if session.get_bind().dialect.name == "sqlite":
        return (
            sa.select(sr.c.run_id, sr.c.step_id, sr.c.outcome, sa.func.max(sr.c.hlc))
            .where(where)
            .group_by(sr.c.run_id, sr.c.step_id)
        )
    stmt = sa.select(sr.c.run_id, sr.c.step_id, sr.c.outcome, sr.c.hlc).where(where)
    try:  # SQLAlchemy 2.1; 2.0 spells it .distinct(*columns)
        from sqlalchemy.dialects.postgresql import distinct_on

        stmt = stmt.ext(distinct_on(sr.c.run_id, sr.c.step_id))
    except ImportError:
        stmt = stmt.distinct(sr.c.run_id, sr.c.step_id)
    return stmt.order_by(sr.c.run_id, sr.c.step_id, sr.c.hlc.desc())


# ---- improvement items --------------------------------------------------------------------


class _Event:
    """A PDCA event with the columns the SLA rules read (`pdca.rules.state_of`); its JSON
    `data` decoded when first read (a year holds tens of thousands of events, few of which
    carry data that matters)."""

    __slots__ = ("_data", "created_at", "cycle", "from_phase", "hlc", "id", "kind", "to_phase")

    def __init__(
        self,
        id_: str,
        kind: str,
        from_phase: str | None,
        to_phase: str | None,
        cycle: int | None,
        created_at: str,
        hlc: str,
        data: Any,
    ) -> None:
        self.id, self.kind, self.from_phase, self.to_phase = id_, kind, from_phase, to_phase
        self.cycle, self.created_at, self.hlc, self._data = cycle, created_at, hlc, data

    @property
    def data(self) -> dict[str, Any]:
        if isinstance(self._data, str | bytes):  # SQLite's text (PostgreSQL's jsonb: a dict)
            import json

            self._data = json.loads(self._data)
        return self._data or {}


def items(session: Session, site: Site, p: Period, f: Facts, x: Flow) -> list[Any]:
    """The SLA KPIs and the items' flow; the critical items overdue at the period's end."""
    import sqlalchemy as sa

    from pm_cli.pdca import rules as pdca
    from pm_cli.store import read, tables

    conn, t, ev = read.connection(session), tables.pdca, tables.pdca_event
    # An item found, and last moved, before `since` less its longest SLA has every deadline
    # before the period: of those only the open ones are read (they may be overdue at its
    # end). A later cycle's clocks run from its start, a transition. (Plain rows: a year of
    # a big site is thousands of items and tens of thousands of events.)
    longest = max(
        (
            parse_utc(due) - parse_utc(found)
            for found, due in conn.execute(
                sa.select(t.c.created_at, t.c.resolve_by).where(t.c.site_id == site.id)
            )
            if due and found
        ),
        default=timedelta(0),
    )
    quiet = utc_text(p.since - longest - timedelta(days=1))
    recent = sa.select(ev.c.pdca_id).where(
        ev.c.site_id == site.id, ev.c.kind == "transition", ev.c.created_at >= quiet
    )
    end = utc_text(p.end)
    items = conn.execute(
        read.live(t, site.id).where(
            t.c.created_at < end,
            sa.or_(~pdca.closed_in_sql(t, ev), t.c.created_at >= quiet, t.c.id.in_(recent)),
        )
    ).all()
    events: dict[str, list[Any]] = {}
    withdrawn: set[str] = set()  # raised in error: never counted, whenever it was withdrawn
    for part in read.chunks(i.id for i in items):
        for pdca_id, *cols in conn.execute(
            sa.select(
                ev.c.pdca_id,
                ev.c.id,
                ev.c.kind,
                ev.c.from_phase,
                ev.c.to_phase,
                ev.c.cycle,
                ev.c.created_at,
                ev.c.hlc,
                sa.type_coerce(ev.c.data, sa.Text),
            )
            .where(ev.c.pdca_id.in_(part))
            .order_by(ev.c.hlc)
        ):
            e = _Event(*cols)
            if e.kind == "withdraw" and not (e.data or {}).get("occurrence"):
                withdrawn.add(pdca_id)
                if p.holds(e.created_at):
                    x.withdrawn += 1
            if e.created_at < end:  # the state as it stood at the period's end
                events.setdefault(pdca_id, []).append(e)
    overdue_critical = []
    for item in items:
        if item.id in withdrawn:
            continue
        mine = events.get(item.id, [])
        st = pdca.state_of(mine)
        x.opened += p.holds(item.created_at)
        for e in mine:
            if e.kind == "transition" and p.holds(e.created_at):
                x.closed += e.to_phase == "closed"
                x.verified += e.to_phase == "act"
                x.reopened += e.to_phase == "plan" and (e.cycle or 1) > 1
        where: dict[str, Any] = {"grid_id": item.grid_id, "staff_id": item.owner_id}
        for c in st.cycles or [pdca.Cycle(1)]:
            start = parse_utc(c.started_at or item.created_at)
            if c.responded_at and p.holds(c.responded_at):
                x.respond_hours += (parse_utc(c.responded_at) - start).total_seconds() / 3600
                x.responded += 1
            if c.checked_at and p.holds(c.checked_at):
                x.resolve_hours += (parse_utc(c.checked_at) - start).total_seconds() / 3600
                x.resolved += 1
            respond_by, resolve_by = pdca.clocks(item, c)
            if p.holds(respond_by):
                ok = c.responded_at is not None and c.responded_at <= respond_by
                f.add("response_sla", ok, 1, at=respond_by, **where)
                if item.source == "complaint":
                    f.add("complaints", ok, 1, at=respond_by, **where)
            if p.holds(resolve_by):
                ok = c.checked_at is not None and c.checked_at <= resolve_by
                f.add("resolution_sla", ok, 1, at=resolve_by, **where)
        first_resolve = pdca.clocks(item, st.cycles[0] if st.cycles else pdca.Cycle(1))[1]
        if p.holds(first_resolve):
            f.add("closed", st.phase == "closed" and st.cycle == 1, 1, at=first_resolve, **where)
        if item.severity == "critical" and pdca.breaches(item, st, p.end):
            overdue_critical.append(item)
    return overdue_critical


# ---- drills --------------------------------------------------------------------------------


def drills(session: Session, site: Site, p: Period, f: Facts, x: Flow) -> None:
    """Each drill plan's due dates in the period, walked as `pm drill due` counts them: the
    next date (the stricter of its schedule and the scenario's frequency) after the last run;
    met when a run started by then. Milestones: those with a target, in runs finished in the
    period."""
    from pm_cli.drills import scenario as scenarios
    from pm_cli.drills import service as drills
    from pm_cli.drills.models import Drill, DrillEvent, DrillRun
    from pm_cli.recurrence import parse_rule

    plans = {d.id: d for d in session.exec(live(Drill, site.id))}
    runs: dict[str, list[DrillRun]] = {}
    for r in session.exec(
        live(DrillRun, site.id).where(DrillRun.status != "open").order_by(DrillRun.started_at)
    ):
        runs.setdefault(r.drill_id, []).append(r)
    for d in plans.values():
        sc = scenarios.get(d.scenario)
        mine = [parse_utc(r.started_at) for r in runs.get(d.id, [])]
        base = parse_utc(d.created_at)
        for _ in range(400):  # a weekly drill over years at most; never unbounded
            naive = base.replace(tzinfo=None)
            nexts = [
                x.replace(tzinfo=UTC)
                for x in (
                    parse_rule(sc.frequency, dtstart=naive).after(naive),
                    parse_rule(d.schedule, dtstart=naive).after(naive) if d.schedule else None,
                )
                if x is not None
            ]
            if not nexts:
                break
            at = min(nexts)
            ran = [t for t in mine if base < t <= at and t < p.end]
            if at >= p.end and not ran:
                break
            if at >= p.since:
                f.add(
                    "drills_on_schedule",
                    bool(ran),
                    1,
                    at=min(at, p.end - _TICK),
                    grid_id=d.grid_id,
                    service="drill",
                )
            base = ran[-1] if ran else at
            if at >= p.end:
                break
    for rs in runs.values():
        for r in rs:
            if not p.holds(r.finished_at) or r.drill_id not in plans:
                continue
            ev = drills.evaluate(
                r,
                list(
                    session.exec(
                        select(DrillEvent)
                        .where(DrillEvent.drill_run_id == r.id)
                        .order_by(DrillEvent.at, DrillEvent.hlc)
                    )
                ),
            )
            timed = [row for row in ev.rows if row["target"] is not None]
            if timed:
                f.add(
                    "drill_targets",
                    sum(bool(row["met"]) for row in timed),
                    len(timed),
                    at=r.finished_at or p.end,
                    grid_id=plans[r.drill_id].grid_id,
                    service="drill",
                )
            x.drills.append(
                {
                    "drill": plans[r.drill_id].code,
                    "scenario": r.scenario,
                    "started_at": r.started_at,
                    "met": sum(bool(row["met"]) for row in timed),
                    "timed": len(timed),
                    "minutes": {row["milestone"]: row["elapsed"] for row in ev.rows},
                }
            )
    x.drills.sort(key=lambda d: d["started_at"])


# ---- risks ---------------------------------------------------------------------------------


def risks(session: Session, site: Site, p: Period, f: Facts, x: Flow) -> list[Any]:
    """Risk reviews current at the period's end; the critical risks with no control step and
    no drill at their grid (a site-wide drill for a risk of no grid)."""
    from pm_cli.drills.models import Drill
    from pm_cli.risks import service as risks
    from pm_cli.risks.models import Risk, RiskEvent

    open_ = [
        r
        for r in session.exec(live(Risk, site.id).where(Risk.created_at < utc_text(p.end)))
        if r.status == "open"
    ]
    events: dict[str, list[Any]] = {}
    for e in session.exec(select(RiskEvent).where(RiskEvent.site_id == site.id)):
        if parse_utc(e.created_at) < p.end:
            events.setdefault(e.risk_id, []).append(e)
    drilled = {d.grid_id for d in session.exec(live(Drill, site.id))}
    uncontrolled = []
    for r in open_:
        st = risks.state(r, events.get(r.id, []), now=p.end)
        x.risks_open[st.level] = x.risks_open.get(st.level, 0) + 1
        f.add(
            "risk_reviews",
            not st.review_overdue,
            1,
            at=p.end - _TICK,
            grid_id=r.grid_id,
            service="risk",
            staff_id=r.owner_id,
        )
        drill = r.grid_id in drilled if r.grid_id else bool(drilled)
        if st.level == "critical" and not r.playbook_steps and not drill:
            uncontrolled.append(r)
    return uncontrolled


# ---- owner satisfaction -------------------------------------------------------------------


def surveys(session: Session, site: Site, p: Period, f: Facts) -> None:
    """The surveys of the period's days (a survey's day starts at the site's midnight)."""
    from datetime import date

    from pm_cli.dates import zone
    from pm_cli.surveys import rules
    from pm_cli.surveys.models import Survey

    tz = zone(site.tz)
    first = p.since.astimezone(tz).date().isoformat()
    last = p.end.astimezone(tz).date().isoformat()
    for s in session.exec(live(Survey, site.id).where(Survey.day >= first, Survey.day <= last)):
        at = datetime.combine(date.fromisoformat(s.day), datetime.min.time(), tz)
        if not p.since <= at < p.end:
            continue
        answered = min(s.answered, s.asked)
        f.add(
            "satisfaction",
            rules.satisfied_of(answered, s.satisfied, s.scores or {}),
            answered,
            at=at,
            grid_id=s.grid_id,
            service="survey",
            asked=s.asked,
        )
