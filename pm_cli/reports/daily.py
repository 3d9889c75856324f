"""The shift handover (交接班): what a shift did, what it found, which items it opened and
closed, what is still open and with whom, and what the next shift must do.

A shift is a span of site time: `day` 08:00–20:00, `night` 20:00–08:00 (the next morning),
or `HH:MM-HH:MM`; without one, a date's report covers its whole day and today's the shift
now under way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pm_cli.errors import UsageError
from pm_cli.sites.models import Site
from pm_cli.store.ids import utc_text
from pm_cli.store.query import live

SHIFTS = {"day": (time(8), time(20)), "night": (time(20), time(8))}
_SPAN = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


def parse_shift(text: str) -> tuple[str, time, time]:
    name = text.strip().lower()
    if name in SHIFTS:
        return name, *SHIFTS[name]
    m = _SPAN.fullmatch(name)
    if m:
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) != (h2, m2):
            return name, time(h1, m1), time(h2, m2)
    raise UsageError(
        f"not a shift: {text!r}",
        where="--shift",
        hint="use day (08:00-20:00), night (20:00-08:00) or HH:MM-HH:MM",
    )


def span(
    site: Site, day: date | None, shift: str | None, now: datetime
) -> tuple[str, datetime, datetime]:
    """(name, start, end) of the shift asked for, as aware UTC datetimes."""
    from pm_cli.dates import zone

    z = zone(site.tz)
    if shift is None and day is not None:
        start = datetime.combine(day, time(0), z)
        return "whole day", start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
    local = now.astimezone(z)
    if shift is None:  # the shift under way now
        shift = "day" if time(8) <= local.time() < time(20) else "night"
    name, t0, t1 = parse_shift(shift)
    d = day or local.date()
    if day is None and t1 < t0 and local.time() < t1:
        d -= timedelta(days=1)  # 03:00 belongs to the night that began yesterday
    start = datetime.combine(d, t0, z)
    end = datetime.combine(d + timedelta(days=1) if t1 <= t0 else d, t1, z)
    return name, start.astimezone(UTC), end.astimezone(UTC)


def handover(
    session: Session,
    *,
    site: Site,
    day: str | None = None,
    shift: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    from pm_cli.dates import day as parse_day
    from pm_cli.drills.models import Drill, DrillRun
    from pm_cli.grids.service import id_codes
    from pm_cli.pdca import service as pdca
    from pm_cli.pdca.models import PdcaEvent
    from pm_cli.playbooks import service as playbooks
    from pm_cli.routes.models import Route, RouteWalk
    from pm_cli.runs.models import Run, StepResult
    from pm_cli.schedules import service as schedules

    t = now or datetime.now(UTC)
    d = parse_day(day, site.tz) if day else None
    name, start, end = span(site, d, shift, t)
    lo, hi = utc_text(start), utc_text(end)
    grids, staff = id_codes(session, site)

    runs = list(
        session.exec(
            live(Run, site.id)
            .where(col(Run.finished_at) >= lo, col(Run.finished_at) < hi)
            .order_by(col(Run.finished_at))
        )
    )
    failures = []
    done = []
    results: dict[str, dict[str, Any]] = {}
    ids = [r.id for r in runs]
    for i in range(0, len(ids), 500):
        for res in session.exec(
            select(StepResult)
            .where(col(StepResult.run_id).in_(ids[i : i + 500]))
            .order_by(col(StepResult.hlc))
        ):
            results.setdefault(res.run_id, {})[res.step_id] = res  # the newest answer wins
    for r in runs:
        answers = results.get(r.id, {})
        failed = [a for a in answers.values() if a.outcome == "fail"]
        done.append(
            {
                "run": r.id[-8:],
                "playbook": r.playbook_id,
                "status": r.status,
                "grid": grids.get(r.grid_id) if r.grid_id else None,
                "by": staff.get(r.by_id) if r.by_id else None,
                "finished_at": r.finished_at,
                "failed": len(failed),
            }
        )
        if failed:
            try:
                titles = {
                    s.id: s.title
                    for s in playbooks.get_pinned(
                        session, r.playbook_id, r.playbook_version, r.playbook_sha256
                    ).playbook.steps
                }
            except Exception:  # noqa: BLE001  a playbook version this laptop lacks
                titles = {}
            failures += [
                {
                    "grid": grids.get(r.grid_id) if r.grid_id else None,
                    "playbook": r.playbook_id,
                    "step": titles.get(a.step_id, a.step_id),
                    "value": a.value,
                    "note": a.note,
                    "run": r.id[-8:],
                }
                for a in failed
            ]
    routes = dict(session.exec(select(Route.id, Route.code).where(Route.site_id == site.id)).all())
    walks = [
        {
            "route": routes.get(w.route_id, "?"),
            "status": w.status,
            "by": staff.get(w.by_id) if w.by_id else None,
            "finished_at": w.finished_at,
            "reason": w.reason,
        }
        for w in session.exec(
            live(RouteWalk, site.id)
            .where(col(RouteWalk.finished_at) >= lo, col(RouteWalk.finished_at) < hi)
            .order_by(col(RouteWalk.finished_at))
        )
    ]

    judged = min(t, end)  # a past shift's items are judged overdue as at its end
    every = [
        it
        for it in pdca.list_items(session, site=site, include_closed=True, now=judged)
        if it["found_at"] < hi
    ]  # (their phase is today's)
    closed_ids = set(
        session.exec(
            select(PdcaEvent.pdca_id).where(
                PdcaEvent.site_id == site.id,
                PdcaEvent.to_phase == "closed",
                col(PdcaEvent.created_at) >= lo,
                col(PdcaEvent.created_at) < hi,
            )
        ).all()
    )
    opened = [it for it in every if lo <= it["found_at"] < hi and it["status"] != "withdrawn"]
    closed = [it for it in every if it["id"] in closed_ids and it["status"] == "closed"]
    still_open = [it for it in every if it["status"] == "open"]

    drill_codes = dict(
        session.exec(select(Drill.id, Drill.code).where(Drill.site_id == site.id)).all()
    )
    drills = [
        {
            "drill": drill_codes.get(r.drill_id, "?"),
            "scenario": r.scenario,
            "started_at": r.started_at,
            "status": r.status,
        }
        for r in session.exec(
            live(DrillRun, site.id).where(
                col(DrillRun.started_at) >= lo, col(DrillRun.started_at) < hi
            )
        )
    ]

    # the next shift: as long as this one, from its end
    nxt_start, nxt_end = end, end + (end - start)
    occs = schedules.route_occurrences(
        session, site=site, since=nxt_start, until=nxt_end, now=t
    ) + schedules.playbook_occurrences(session, site=site, since=nxt_start, until=nxt_end, now=t)
    todo = [
        {
            "kind": o.kind,
            "code": o.code,
            "name": o.name,
            "due": utc_text(o.window.due),
            "window_end": utc_text(o.window.end),
            "status": o.status,
        }
        for o in sorted(occs, key=lambda o: (o.window.due, o.code))
        if nxt_start <= o.window.due < nxt_end and o.status != "done"
    ]
    by_then = utc_text(nxt_end)
    items_due = []
    for it in still_open:
        deadline = (
            it["respond_by"]
            if it["responded_at"] is None
            else (it["resolve_by"] if it["checked_at"] is None else None)
        )
        if deadline and deadline < by_then:
            items_due.append(
                {**it, "deadline": deadline, "state": "overdue" if it["overdue"] else "due"}
            )
    from pm_cli.drills import service as drill_service

    drills_due = [
        x for x in drill_service.due(session, site=site, now=t) if x["due"] and x["due"] < by_then
    ]
    from pm_cli.dates import zone
    from pm_cli.reports.handover import signed

    return {
        "site": site.code,
        "shift": name,
        "from": lo,
        "to": hi,
        "as_of": utc_text(t),
        "handover": signed(
            session, site=site, shift=name, day=start.astimezone(zone(site.tz)).date().isoformat()
        ),
        "done": done,
        "walks": walks,
        "failures": failures,
        "opened": opened,
        "closed": closed,
        "open": still_open,
        "drills": drills,
        "next": {
            "from": utc_text(nxt_start),
            "to": by_then,
            "due": todo,
            "items": items_due,
            "drills": drills_due,
        },
    }


SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (  # (key, title, columns)
    (
        "done",
        "checklists done",
        ("run", "playbook", "grid", "by", "finished_at", "status", "failed"),
    ),
    ("walks", "route walks ended", ("route", "by", "finished_at", "status", "reason")),
    ("failures", "failures found", ("grid", "playbook", "step", "value", "note", "run")),
    (
        "opened",
        "improvement items opened",
        ("label", "severity", "title", "grid", "owner", "phase"),
    ),
    ("closed", "improvement items closed", ("label", "severity", "title", "grid", "owner")),
    (
        "open",
        "still open",
        ("label", "severity", "title", "owner", "phase", "resolve_by", "overdue"),
    ),
    ("drills", "drills", ("drill", "scenario", "started_at", "status")),
)
NEXT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("due", "due next shift", ("kind", "code", "name", "due", "window_end", "status")),
    ("items", "items falling due", ("label", "severity", "title", "owner", "deadline", "state")),
    ("drills", "drills due", ("code", "scenario", "due", "overdue")),
)


def sections(rep: dict[str, Any]) -> list[tuple[str, tuple[str, ...], list[dict[str, Any]]]]:
    """The report's tables in reading order: (title, columns, rows); the sign-offs last,
    when there are any."""
    out = [(title, cols, rep[key]) for key, title, cols in SECTIONS]
    out += [(title, cols, rep["next"][key]) for key, title, cols in NEXT]
    if rep.get("handover"):
        out.append(("handover sign-off", ("from", "to", "status", "reason", "at"), rep["handover"]))
    return out
