"""Walking a route (`pm route run`): a walk, an arrival (or a skip) at each stop in order,
and at each stop the stop's checklist run with the walk's route and the stop's checkpoint.
Every arrival and answer is its own transaction, so a walk survives a killed process.

A stop's checklist is the playbook the route names for that stop: a checkpoint-level
playbook, done at every stop it is named for (none: the arrival, by Enter or the tag, is the
stop's record). A whole-route playbook (`WHOLE_ROUTE`: its steps are about the walk as a
whole, such as "checkpoints missed") named for the stops is done once per walk, at the last
stop, instead of being asked again at each one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from pm_cli.store.query import get_by_tail, live, rows_by_id

# bundled playbooks written for a whole patrol, not for one checkpoint (playbooks/README.md)
WHOLE_ROUTE = frozenset({"security.patrol"})


@dataclass
class Stop:
    """A stop of the route as walked: where, what is done there, and how far it got."""

    index: int
    checkpoint: Checkpoint
    playbook: str | None  # as the route names it
    checklist: str | None = None  # what is done here (see the module's docstring)
    arrived_at: str | None = None
    skipped: str | None = None  # the reason
    run: Run | None = None

    @property
    def done(self) -> bool:
        if self.skipped is not None:
            return True
        if self.arrived_at is None:
            return False
        return self.run is None or self.run.status != "open"


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
    cps = {
        cp.id: cp
        for cp in rows_by_id(session, Checkpoint, [s["checkpoint"] for s in route.stops]).values()
        if cp.site_id == walk.site_id
    }
    visits = list(
        session.exec(
            select(RouteVisit).where(RouteVisit.walk_id == walk.id).order_by(col(RouteVisit.hlc))
        )
    )
    run_ids = [x.run_id for x in visits if x.run_id]
    runs = (
        {r.id: r for r in session.exec(select(Run).where(col(Run.id).in_(run_ids)))}
        if run_ids
        else {}
    )
    stops = []
    for i, s in enumerate(route.stops):
        cp = cps.get(s["checkpoint"])
        if cp is None:
            raise PmError(
                f"stop {i + 1} of route {route.code} names a removed checkpoint",
                hint=f"pm route edit {route.code} --stops …",
            )
        pb = s.get("playbook")
        last = i == len(route.stops) - 1
        stops.append(Stop(i, cp, pb, pb if pb not in WHOLE_ROUTE or last else None))
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
    return session.exec(
        live(RouteWalk, site.id)
        .where(RouteWalk.route_id == route.id, RouteWalk.by_id == by.id, RouteWalk.status == "open")
        .order_by(col(RouteWalk.started_at).desc())
    ).first()


def start(
    session: Session, *, site: Site, code: str, by: Staff, at: datetime | None = None
) -> tuple[RouteWalk, bool]:
    """This person's open walk of the route (resumed: True), or a new one."""
    route = get_route(session, site=site, code=code)
    walk = open_walk(session, site=site, route=route, by=by)
    if walk is not None:
        return walk, True
    return write.create(
        session,
        RouteWalk,
        site_id=site.id,
        route_id=route.id,
        by_id=by.id,
        started_at=utc_text(at) if at else now_text(),
        status="open",
    ), False


def get_walk(session: Session, *, site: Site, ref: str) -> RouteWalk:
    return get_by_tail(
        session,
        RouteWalk,
        ref,
        site_id=site.id,
        noun="walk",
        where=site.code,
        hint="`pm route walks` shows the walks",
    )


def outside_window(route: Route, tz: str | None, at: datetime | None = None) -> str | None:
    """A warning when `at` (default: now) is outside the route's shift window, site time."""
    if not (route.window_start and route.window_end):
        return None
    from pm_cli.recurrence import zone_of

    t = (at or datetime.now(UTC)).astimezone(zone_of(tz))
    hhmm = t.strftime("%H:%M")
    a, b = route.window_start, route.window_end
    inside = a <= hhmm < b if a < b else (hhmm >= a or hhmm < b)  # past midnight
    if inside:
        return None
    return (
        f"route {route.code}'s shift window is {a}–{b} (site time); it is {hhmm} now: "
        "a walk started now does not count for that window"
    )


def find_stop(wv: WalkView, text: str) -> Stop | None:
    """The stop whose checkpoint has this tag uid or code (case-insensitive)."""
    t = text.strip().lower()
    for st in wv.stops:
        cp = st.checkpoint
        if (cp.tag_uid and cp.tag_uid.lower() == t) or cp.code.lower() == t:
            return st
    return None


def stop_index(wv: WalkView, ref: str) -> int:
    """A stop by its number (1-based), its checkpoint's code or its tag uid."""
    if ref.strip().isdigit():
        n = int(ref)
        if not 1 <= n <= len(wv.stops):
            raise PmError(f"route {wv.route.code} has {len(wv.stops)} stops, not {n}", where="STOP")
        return n - 1
    st = find_stop(wv, ref)
    if st is None:
        raise PmError(
            f"{ref} is not a stop of route {wv.route.code}",
            where="STOP",
            hint=f"pm route show {wv.route.code} lists the stops",
        )
    return st.index


def _check_stop(wv: WalkView, stop: int) -> Stop:
    if wv.walk.status != "open":
        raise ConflictError(f"walk {short(wv.walk.id)} is {wv.walk.status}")
    if not 0 <= stop < len(wv.stops):
        raise PmError(f"route {wv.route.code} has {len(wv.stops)} stops, not {stop + 1}")
    return wv.stops[stop]


def arrive(
    session: Session, *, site: Site, walk: RouteWalk, stop: int, at: datetime | None = None
) -> Stop:
    """Record the arrival at a stop and start its checklist run (once; again resumes)."""
    from pm_cli.runs import service as runs

    wv = view(session, walk)
    st = _check_stop(wv, stop)
    if st.arrived_at is not None:
        return st
    when = utc_text(at) if at else now_text()
    run = None
    if st.checklist:
        by = session.get(Staff, walk.by_id) if walk.by_id else None
        run = runs.start_run(
            session,
            site=site,
            playbook=st.checklist,
            by=by.code if by else None,
            started_at=when,
            at_stop=(walk.route_id, st.checkpoint.id, st.checkpoint.grid_id),
        )
    write.append(
        session,
        RouteVisit,
        site_id=site.id,
        walk_id=walk.id,
        stop=stop,
        checkpoint_id=st.checkpoint.id,
        kind="arrive",
        at=when,
        run_id=run.id if run else None,
        by_id=walk.by_id,
    )
    st.arrived_at, st.run = when, run
    return st


def skip(
    session: Session,
    *,
    site: Site,
    walk: RouteWalk,
    stop: int,
    reason: str,
    at: datetime | None = None,
) -> Stop:
    wv = view(session, walk)
    st = _check_stop(wv, stop)
    reason = v.check(v.name, reason, field="reason")
    write.append(
        session,
        RouteVisit,
        site_id=site.id,
        walk_id=walk.id,
        stop=stop,
        checkpoint_id=st.checkpoint.id,
        kind="skip",
        at=utc_text(at) if at else now_text(),
        note=reason,
        by_id=walk.by_id,
    )
    st.skipped = reason
    return st


def finish(session: Session, *, walk: RouteWalk, at: datetime | None = None) -> WalkView:
    """Close the walk: finished when every stop was visited and its checklist closed,
    incomplete (naming the skipped stops) otherwise. A stop's checklist with every required
    step answered is finished on the way."""
    from pm_cli.runs import service as runs

    wv = view(session, walk)
    if walk.status != "open":
        raise ConflictError(f"walk {short(walk.id)} is already {walk.status}")
    for st in wv.stops:
        if (
            st.run is not None
            and st.run.status == "open"
            and not runs.view(session, st.run).unanswered_required
        ):
            runs.finish(session, run=st.run, at=utc_text(at) if at else None)
    pending = [s.checkpoint.code for s in wv.stops if not s.done]
    if pending:
        raise ConflictError(
            f"{len(pending)} stop(s) not done: {', '.join(pending[:8])}",
            hint=f"pm route run {wv.route.code} continues the walk",
        )
    skipped = [f"{s.checkpoint.code} ({s.skipped})" for s in wv.stops if s.skipped is not None]
    failed_runs = [
        s.checkpoint.code for s in wv.stops if s.run is not None and s.run.status == "incomplete"
    ]
    incomplete = skipped or failed_runs
    reason = (
        "; ".join(
            ([f"skipped {', '.join(skipped)}"] if skipped else [])
            + ([f"checklist incomplete at {', '.join(failed_runs)}"] if failed_runs else [])
        )
        or None
    )
    write.update(
        session,
        walk,
        status="incomplete" if incomplete else "finished",
        finished_at=utc_text(at) if at else now_text(),
        reason=reason,
    )
    return view(session, walk, wv.route)


def abandon(
    session: Session, *, walk: RouteWalk, reason: str, at: datetime | None = None
) -> WalkView:
    """Give up an open walk: kept, shown as abandoned, and it leaves its window missed. Its
    stops' open checklists are aborted with the same reason."""
    from pm_cli.runs import service as runs

    if walk.status != "open":
        raise ConflictError(
            f"walk {short(walk.id)} is {walk.status}; only an open walk can be abandoned"
        )
    reason = v.check(v.name, reason, field="--reason")
    when = utc_text(at) if at else now_text()
    wv = view(session, walk)
    for st in wv.stops:
        if st.run is not None and st.run.status == "open":
            runs.abort(session, run=st.run, reason=f"walk abandoned: {reason}", at=when)
    write.update(session, walk, status="abandoned", finished_at=when, reason=reason)
    return view(session, walk, wv.route)


def list_walks(
    session: Session, *, site: Site, route: str | None = None, open_only: bool = False
) -> list[dict[str, Any]]:
    """The site's walks, newest first: id, route, started, by, status, progress."""
    stmt = live(RouteWalk, site.id).order_by(col(RouteWalk.started_at).desc())
    if route:
        stmt = stmt.where(RouteWalk.route_id == get_route(session, site=site, code=route).id)
    if open_only:
        stmt = stmt.where(RouteWalk.status == "open")
    rows = []
    for w in session.exec(stmt):
        try:
            wv = view(session, w)
        except PmError:
            continue  # its route was removed
        rec = record(session, wv)
        done = sum(1 for st in wv.stops if st.done)
        rows.append(
            {
                k: rec[k]
                for k in (
                    "walk",
                    "id",
                    "route",
                    "by",
                    "started_at",
                    "finished_at",
                    "status",
                    "reason",
                    "visited",
                )
            }
            | {
                "done": done,
                "stops": len(wv.stops),
                "skipped": sum(1 for st in wv.stops if st.skipped is not None),
            }
        )
    return rows


def record(session: Session, wv: WalkView) -> dict[str, Any]:
    from pm_cli.runs.service import short as run_short

    by = session.get(Staff, wv.walk.by_id) if wv.walk.by_id else None
    return {
        "walk": short(wv.walk.id),
        "id": wv.walk.id,
        "route": wv.route.code,
        "by": by.code if by else None,
        "started_at": wv.walk.started_at,
        "finished_at": wv.walk.finished_at,
        "status": wv.walk.status,
        "reason": wv.walk.reason,
        "visited": wv.visited,
        "stops": [
            {
                "stop": s.index + 1,
                "checkpoint": s.checkpoint.code,
                "name": s.checkpoint.name,
                "playbook": s.playbook,
                "checklist": s.checklist,
                "arrived_at": s.arrived_at,
                "skipped": s.skipped,
                "run": run_short(s.run.id) if s.run else None,
                "run_status": s.run.status if s.run else None,
            }
            for s in wv.stops
        ],
    }
