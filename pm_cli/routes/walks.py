"""Walking a route (`pm route run`): a walk, an arrival (or a skip) at each stop in order,
and at each stop the stop's checklist run with the walk's route and the stop's checkpoint.
Every arrival and answer is its own transaction, so a walk survives a killed process."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from pm_cli import validate as v
from pm_cli.checkpoints.models import Checkpoint
from pm_cli.errors import ConflictError, PmError
from pm_cli.routes.models import Route, RouteVisit, RouteWalk
from pm_cli.routes.service import get_route
from pm_cli.runs.models import Run
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.ids import now_text, utc_text
from pm_cli.store.query import get_by_tail, live


@dataclass
class Stop:
    """A stop of the route as walked: where, what is done there, and how far it got."""

    index: int
    checkpoint: Checkpoint
    playbook: str | None
    arrived_at: str | None = None
    skipped: str | None = None  # the reason
    run: Run | None = None

    @property
    def done(self) -> bool:
        if self.skipped is not None:
            return True
        if self.arrived_at is None:
            return False
        return self.playbook is None or (self.run is not None and self.run.status != "open")


@dataclass
class WalkView:
    walk: RouteWalk
    route: Route
    stops: list[Stop] = field(default_factory=list)

    @property
    def next_stop(self) -> Stop | None:
        return next((s for s in self.stops if not s.done), None)

    @property
    def visited(self) -> int:
        return sum(1 for s in self.stops if s.arrived_at is not None)


def short(walk_id: str) -> str:
    return walk_id[-8:]


def view(session: Session, walk: RouteWalk, route: Route | None = None) -> WalkView:
    route = route or session.get(Route, walk.route_id)
    if route is None:
        raise PmError(f"walk {short(walk.id)} belongs to a route that no longer exists")
    cps = {cp.id: cp for cp in session.exec(select(Checkpoint).where(
        Checkpoint.site_id == walk.site_id))}
    visits = list(session.exec(select(RouteVisit).where(RouteVisit.walk_id == walk.id)
                               .order_by(col(RouteVisit.hlc))))
    run_ids = [x.run_id for x in visits if x.run_id]
    runs = {r.id: r for r in session.exec(select(Run).where(col(Run.id).in_(run_ids)))} \
        if run_ids else {}
    stops = []
    for i, s in enumerate(route.stops):
        cp = cps.get(s["checkpoint"])
        if cp is None:
            raise PmError(f"stop {i + 1} of route {route.code} names a removed checkpoint",
                          hint=f"pm route edit {route.code} --stops …")
        stops.append(Stop(i, cp, s.get("playbook")))
    for x in visits:
        if x.stop >= len(stops) or stops[x.stop].checkpoint.id != x.checkpoint_id:
            continue  # the route changed under an open walk: that visit no longer lines up
        st = stops[x.stop]
        if x.kind == "skip":
            st.skipped = x.note or ""
        else:
            st.arrived_at = st.arrived_at or x.at
            if x.run_id:
                st.run = runs.get(x.run_id)
    return WalkView(walk, route, stops)


def open_walk(session: Session, *, site: Site, route: Route, by: Staff) -> RouteWalk | None:
    return session.exec(live(RouteWalk, site.id).where(
        RouteWalk.route_id == route.id, RouteWalk.by_id == by.id, RouteWalk.status == "open")
        .order_by(col(RouteWalk.started_at).desc())).first()


def start(session: Session, *, site: Site, code: str, by: Staff,
          at: datetime | None = None) -> tuple[RouteWalk, bool]:
    """This person's open walk of the route (resumed: True), or a new one."""
    route = get_route(session, site=site, code=code)
    walk = open_walk(session, site=site, route=route, by=by)
    if walk is not None:
        return walk, True
    return write.create(session, RouteWalk, site_id=site.id, route_id=route.id, by_id=by.id,
                        started_at=utc_text(at) if at else now_text(), status="open"), False


def get_walk(session: Session, *, site: Site, ref: str) -> RouteWalk:
    return get_by_tail(session, RouteWalk, ref, site_id=site.id, noun="walk", where=site.code,
                       hint="`pm today` shows the walks")


def _check_stop(wv: WalkView, stop: int) -> Stop:
    if wv.walk.status != "open":
        raise ConflictError(f"walk {short(wv.walk.id)} is {wv.walk.status}")
    if not 0 <= stop < len(wv.stops):
        raise PmError(f"route {wv.route.code} has {len(wv.stops)} stops, not {stop + 1}")
    return wv.stops[stop]


def arrive(session: Session, *, site: Site, walk: RouteWalk, stop: int,
           at: datetime | None = None) -> Stop:
    """Record the arrival at a stop and start its checklist run (once; again resumes)."""
    from pm_cli.runs import service as runs

    wv = view(session, walk)
    st = _check_stop(wv, stop)
    if st.arrived_at is not None:
        return st
    when = utc_text(at) if at else now_text()
    run = None
    if st.playbook:
        by = session.get(Staff, walk.by_id) if walk.by_id else None
        run = runs.start_run(session, site=site, playbook=st.playbook,
                             by=by.code if by else None, started_at=when,
                             at_stop=(walk.route_id, st.checkpoint.id, st.checkpoint.grid_id))
    write.append(session, RouteVisit, site_id=site.id, walk_id=walk.id, stop=stop,
                 checkpoint_id=st.checkpoint.id, kind="arrive", at=when,
                 run_id=run.id if run else None, by_id=walk.by_id)
    st.arrived_at, st.run = when, run
    return st


def skip(session: Session, *, site: Site, walk: RouteWalk, stop: int, reason: str,
         at: datetime | None = None) -> Stop:
    wv = view(session, walk)
    st = _check_stop(wv, stop)
    reason = v.check(v.name, reason, field="reason")
    write.append(session, RouteVisit, site_id=site.id, walk_id=walk.id, stop=stop,
                 checkpoint_id=st.checkpoint.id, kind="skip",
                 at=utc_text(at) if at else now_text(), note=reason,
                 by_id=walk.by_id)
    st.skipped = reason
    return st


def finish(session: Session, *, walk: RouteWalk, at: datetime | None = None) -> WalkView:
    """Close the walk: finished when every stop was visited and its checklist closed,
    incomplete (naming the skipped stops) otherwise."""
    wv = view(session, walk)
    if walk.status != "open":
        raise ConflictError(f"walk {short(walk.id)} is already {walk.status}")
    pending = [s.checkpoint.code for s in wv.stops if not s.done]
    if pending:
        raise ConflictError(f"{len(pending)} stop(s) not done: {', '.join(pending[:8])}",
                            hint=f"pm route run {wv.route.code} continues the walk")
    skipped = [f"{s.checkpoint.code} ({s.skipped})" for s in wv.stops if s.skipped is not None]
    failed_runs = [s.checkpoint.code for s in wv.stops
                   if s.run is not None and s.run.status == "incomplete"]
    incomplete = skipped or failed_runs
    reason = "; ".join(([f"skipped {', '.join(skipped)}"] if skipped else [])
                       + ([f"checklist incomplete at {', '.join(failed_runs)}"]
                          if failed_runs else [])) or None
    write.update(session, walk, status="incomplete" if incomplete else "finished",
                 finished_at=utc_text(at) if at else now_text(), reason=reason)
    return view(session, walk, wv.route)


def record(session: Session, wv: WalkView) -> dict[str, Any]:
    from pm_cli.runs.service import short as run_short

    by = session.get(Staff, wv.walk.by_id) if wv.walk.by_id else None
    return {
        "walk": short(wv.walk.id), "id": wv.walk.id, "route": wv.route.code,
        "by": by.code if by else None, "started_at": wv.walk.started_at,
        "finished_at": wv.walk.finished_at, "status": wv.walk.status,
        "reason": wv.walk.reason, "visited": wv.visited, "stops": [{
            "stop": s.index + 1, "checkpoint": s.checkpoint.code, "name": s.checkpoint.name,
            "playbook": s.playbook, "arrived_at": s.arrived_at, "skipped": s.skipped,
            "run": run_short(s.run.id) if s.run else None,
            "run_status": s.run.status if s.run else None,
        } for s in wv.stops],
    }
