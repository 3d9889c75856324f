"""The site's KPIs over a period (domain.md §7): each a count over a count, both given, so
that a reader can check the rate and the score built on it.

A period is [since, until) in UTC, cut at `now`: what is not due yet is not counted. Each
figure counts a thing once, in the period its deadline falls in (an item's respond-by, a
walk's window end), so consecutive periods add up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pm_cli.sites.models import Site
from pm_cli.store.ids import utc_text
from pm_cli.store.query import live


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Kpi:
    """One KPI: `numerator` of `denominator` (None: nothing to measure in the period)."""

    key: str
    label: str
    numerator: float
    denominator: float
    what: str  # what the two counts are, in words
    detail: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def record(self) -> dict[str, Any]:
        rate = self.rate
        return {"kpi": self.key, "label": self.label, "numerator": _num(self.numerator),
                "denominator": _num(self.denominator),
                "rate": None if rate is None else round(rate, 4), "what": self.what,
                **({"detail": self.detail} if self.detail else {})}


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


@dataclass
class Period:
    since: datetime
    until: datetime
    now: datetime

    @property
    def end(self) -> datetime:
        """Where counting stops: the period's end, or now if that comes first."""
        return min(self.until, self.now)

    def holds(self, text: str | None) -> bool:
        return text is not None and self.since <= _utc(text) < self.end


# ---- inspections -------------------------------------------------------------------------


def _inspections(session: Session, site: Site, p: Period) -> tuple[Kpi, Kpi]:
    from pm_cli.schedules import service as schedules

    occs = [*schedules.route_occurrences(session, site=site, since=p.since, until=p.end,
                                         now=p.now),
            *schedules.playbook_occurrences(session, site=site, since=p.since, until=p.end,
                                            now=p.now)]
    # due in the period: the window ended in it, or it was done before its end came
    due = [o for o in occs if p.since <= o.window.end <= p.end or (
        o.status == "done" and p.since <= o.window.start and o.window.end > p.end
        and o.finished_at is not None and _utc(o.finished_at) < p.end)]
    done = [o for o in due if o.status == "done"]
    on_time = [o for o in done if o.finished_at and _utc(o.finished_at) <= o.window.end]
    missed = [o for o in due if o.status != "done"]
    detail = [{"kind": o.kind, "code": o.code, "due": utc_text(o.window.due),
               "status": "missed" if o.status != "done" else "done"} for o in missed]
    return (Kpi("inspections", "巡检完成率 Inspections completed", len(done), len(due),
                "scheduled walks and checklists done ÷ due", detail[:50]),
            Kpi("on_time", "按时率 On time", len(on_time), len(done),
                "finished inside their window ÷ done"))


# ---- steps ---------------------------------------------------------------------------------


def _steps(session: Session, site: Site, p: Period) -> Kpi:
    from pm_cli.playbooks import service as playbooks
    from pm_cli.runs.models import Run, StepResult

    runs = session.exec(select(Run.id, Run.playbook_id, Run.playbook_version,
                               Run.playbook_sha256).where(
        Run.site_id == site.id, Run.deleted == False,  # noqa: E712
        col(Run.status).in_(("finished", "incomplete")),
        col(Run.finished_at) >= utc_text(p.since),
        col(Run.finished_at) < utc_text(p.end))).all()
    pins: dict[tuple[str, int, str], dict[str, float]] = {}
    weights_of: dict[str, dict[str, float]] = {}
    for rid, pid, ver, sha in runs:
        key = (pid, ver, sha)
        if key not in pins:
            try:
                steps = playbooks.get_pinned(session, pid, ver, sha).playbook.steps
                pins[key] = {s.id: float(s.weight) for s in steps}
            except Exception:  # a playbook version this laptop lacks: its runs are not read
                pins[key] = {}
        weights_of[rid] = pins[key]
    passed = total = 0.0
    ids = [r[0] for r in runs]
    for start in range(0, len(ids), 500):
        latest: dict[tuple[str, str], str] = {}
        for rid, step_id, outcome in session.exec(
                select(StepResult.run_id, StepResult.step_id, StepResult.outcome)
                .where(col(StepResult.run_id).in_(ids[start:start + 500]))
                .order_by(StepResult.hlc)):
            latest[(rid, step_id)] = outcome  # by stamp: the newest answer wins
        for (rid, step_id), outcome in latest.items():
            w = weights_of[rid].get(step_id)
            if w is None or outcome == "na":
                continue
            total += w
            if outcome == "pass":
                passed += w
    return Kpi("steps_passed", "合格率 Steps passed", passed, total,
               "weight of steps passed ÷ weight of steps answered (N/A left out), in runs "
               "finished in the period")


# ---- improvement items --------------------------------------------------------------------


def _items(session: Session, site: Site, p: Period) -> tuple[Kpi, Kpi, Kpi, Kpi, list[Any]]:
    from pm_cli.pdca import service as pdca
    from pm_cli.pdca.models import Pdca, PdcaEvent

    items = list(session.exec(live(Pdca, site.id).where(Pdca.created_at < utc_text(p.end))))
    events: dict[str, list[Any]] = {}
    withdrawn: set[str] = set()  # raised in error: never counted, whenever it was withdrawn
    ids = [i.id for i in items]
    for start in range(0, len(ids), 500):
        for e in session.exec(select(PdcaEvent).where(
                col(PdcaEvent.pdca_id).in_(ids[start:start + 500]))):
            if e.kind == "withdraw" and not (e.data or {}).get("occurrence"):
                withdrawn.add(e.pdca_id)
            if _utc(e.created_at) < p.end:  # the state as it stood at the period's end
                events.setdefault(e.pdca_id, []).append(e)
    resp_due = resp_met = res_due = res_met = first_due = closed_ok = 0
    comp_due = comp_met = 0
    overdue_critical = []
    for item in items:
        if item.id in withdrawn:
            continue
        st = pdca.state_of(events.get(item.id, []))
        for c in st.cycles or [pdca.Cycle(1)]:
            respond_by, resolve_by = pdca.clocks(item, c)
            if p.holds(respond_by):
                ok = c.responded_at is not None and c.responded_at <= respond_by
                resp_due += 1
                resp_met += ok
                if item.source == "complaint":
                    comp_due += 1
                    comp_met += ok
            if p.holds(resolve_by):
                res_due += 1
                res_met += c.checked_at is not None and c.checked_at <= resolve_by
        first_resolve = pdca.clocks(item, st.cycles[0] if st.cycles else pdca.Cycle(1))[1]
        if p.holds(first_resolve):
            first_due += 1
            closed_ok += st.phase == "closed" and st.cycle == 1
        if item.severity == "critical" and pdca.breaches(item, st, p.end):
            overdue_critical.append(item)
    return (Kpi("response_sla", "响应及时率 Response SLA", resp_met, resp_due,
                "items answered (out of plan) by their respond-by ÷ items whose respond-by "
                "fell in the period (each cycle)"),
            Kpi("resolution_sla", "处理及时率 Resolution SLA", res_met, res_due,
                "items resolved (at check) by their resolve-by ÷ items whose resolve-by fell "
                "in the period (each cycle)"),
            Kpi("closed", "整改闭环率 Failures closed", closed_ok, first_due,
                "items closed effective in their first cycle (never reopened) ÷ items whose "
                "first resolve-by fell in the period"),
            Kpi("complaints", "投诉及时率 Complaints on time", comp_met, comp_due,
                "complaints answered by their respond-by ÷ complaints whose respond-by fell "
                "in the period"),
            overdue_critical)


# ---- drills --------------------------------------------------------------------------------


def _drills(session: Session, site: Site, p: Period) -> tuple[Kpi, Kpi]:
    """Each drill plan's due dates in the period, walked as `pm drill due` counts them: the
    next date (the stricter of its schedule and the scenario's frequency) after the last run;
    met when a run started by then. Milestones: those with a target, in runs finished in the
    period."""
    from pm_cli.drills import scenario as scenarios
    from pm_cli.drills import service as drills
    from pm_cli.drills.models import Drill, DrillEvent, DrillRun
    from pm_cli.schedule import parse_rule

    due = done = 0
    timed = met = 0
    plans = list(session.exec(live(Drill, site.id)))
    runs: dict[str, list[DrillRun]] = {}
    for r in session.exec(live(DrillRun, site.id).where(DrillRun.status != "open")
                          .order_by(DrillRun.started_at)):
        runs.setdefault(r.drill_id, []).append(r)
    for d in plans:
        sc = scenarios.get(d.scenario)
        mine = [_utc(r.started_at) for r in runs.get(d.id, [])]
        base = _utc(d.created_at)
        for _ in range(400):  # a weekly drill over years at most; never unbounded
            naive = base.replace(tzinfo=None)
            nexts = [x.replace(tzinfo=UTC) for x in (
                parse_rule(sc.frequency, dtstart=naive).after(naive),
                parse_rule(d.schedule, dtstart=naive).after(naive) if d.schedule else None)
                if x is not None]
            if not nexts:
                break
            at = min(nexts)
            ran = [t for t in mine if base < t <= at and t < p.end]
            if at >= p.end and not ran:
                break
            if at >= p.since:
                due += 1
                done += bool(ran)
            base = ran[-1] if ran else at
            if at >= p.end:
                break
    finished = [r for rs in runs.values() for r in rs if p.holds(r.finished_at)]
    for r in finished:
        ev = drills.evaluate(r, list(session.exec(
            select(DrillEvent).where(DrillEvent.drill_run_id == r.id)
            .order_by(DrillEvent.at, DrillEvent.hlc))))
        for row in ev.rows:
            if row["target"] is None:
                continue
            timed += 1
            met += bool(row["met"])
    return (Kpi("drills_on_schedule", "演练按期率 Drills on schedule", done, due,
                "drills run by their due date ÷ drills due in the period (the stricter of "
                "the plan's schedule and the scenario's frequency)"),
            Kpi("drill_targets", "演练达标率 Drill targets met", met, timed,
                "milestones reached within their target ÷ milestones with a target, in drills "
                "finished in the period (one not recorded counts as missed)"))


# ---- risks ---------------------------------------------------------------------------------


def _risks(session: Session, site: Site, p: Period) -> tuple[Kpi, list[Any]]:
    from pm_cli.drills.models import Drill
    from pm_cli.risks import service as risks
    from pm_cli.risks.models import Risk, RiskEvent

    open_ = [r for r in session.exec(live(Risk, site.id).where(
        Risk.created_at < utc_text(p.end))) if r.status == "open"]
    events: dict[str, list[Any]] = {}
    for e in session.exec(select(RiskEvent).where(RiskEvent.site_id == site.id)):
        if _utc(e.created_at) < p.end:
            events.setdefault(e.risk_id, []).append(e)
    drilled = {d.grid_id for d in session.exec(live(Drill, site.id))}
    current = 0
    uncontrolled = []
    for r in open_:
        st = risks.state(r, events.get(r.id, []), now=p.end)
        current += not st.review_overdue
        # a drill covers its grid's risks; a site-wide one covers the risks of no grid
        drill = r.grid_id in drilled if r.grid_id else bool(drilled)
        if st.level == "critical" and not r.playbook_steps and not drill:
            uncontrolled.append(r)
    return (Kpi("risk_reviews", "风险复评及时率 Risk reviews current", current, len(open_),
                "open risks not overdue for review ÷ open risks, at the period's end"),
            uncontrolled)


# ---- all -----------------------------------------------------------------------------------


@dataclass
class Kpis:
    site: Site
    period: Period
    kpis: list[Kpi]
    overdue_critical: list[Any]  # critical items overdue at the period's end (Pdca rows)
    uncontrolled: list[Any]  # critical risks with no control step and no drill (Risk rows)

    def get(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def period(since: datetime | None, until: datetime | None, now: datetime | None = None,
           *, days: int = 30) -> Period:
    t = now or datetime.now(UTC)
    hi = until or t
    return Period(since or hi - timedelta(days=days), hi, t)


def compute(session: Session, *, site: Site, p: Period) -> Kpis:
    inspections, on_time = _inspections(session, site, p)
    steps = _steps(session, site, p)
    response, resolution, closed, complaints, overdue = _items(session, site, p)
    drills_due, drill_targets = _drills(session, site, p)
    reviews, uncontrolled = _risks(session, site, p)
    return Kpis(site, p, [inspections, on_time, steps, response, resolution, closed,
                          drills_due, drill_targets, reviews, complaints], overdue, uncontrolled)
