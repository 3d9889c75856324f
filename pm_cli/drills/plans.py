"""Drill plans: a drill of a scenario planned at a site (or one grid), its schedule, and the
removal of a plan made by mistake. When each plan falls due is read in `drills.read`."""

from __future__ import annotations

from sqlmodel import Session

from pm_cli import validate as v
from pm_cli.drills import scenario as scenarios
from pm_cli.drills.models import Drill, DrillRun
from pm_cli.errors import ConflictError, NotFoundError
from pm_cli.grids.models import Grid
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.query import find_by_code, get_by_code, live


def get_drill(session: Session, *, site: Site, code: str) -> Drill:
    return get_by_code(
        session,
        Drill,
        code,
        site_id=site.id,
        noun="drill",
        where=site.code,
        hint="`pm drill list` shows the planned drills",
    )


def plan(
    session: Session,
    *,
    site: Site,
    code: str,
    scenario: str,
    grid: str | None = None,
    schedule: str | None = None,
    title: str | None = None,
) -> Drill:
    code = v.check(v.code, code, field="CODE")
    sc = scenarios.get(scenario)
    if find_by_code(session, Drill, code, site_id=site.id, noun="drill", where=site.code):
        raise ConflictError(
            f"drill {code} already exists at {site.code}", hint=f"pm drill schedule {code} RRULE"
        )
    grid_id = _grid_id(session, site, grid)
    return write.create(
        session,
        Drill,
        site_id=site.id,
        code=code,
        scenario=sc.id,
        title=v.optional_text(title) or sc.title,
        grid_id=grid_id,
        schedule=_rule(schedule),
    )


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
    from pm_cli.recurrence import expand_shortcut, parse_rule

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
            "with its history",
            hint="its runs stay on record; to stop scheduling it: "
            f"pm drill schedule {drill.code} ''",
        )
    write.delete(session, drill)
    return drill
