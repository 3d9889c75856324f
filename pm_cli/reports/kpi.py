"""The site's KPIs over a period (domain.md §7): each a count over a count, both given, so
that a reader can check the rate and the score built on it.

A period is [since, until) in UTC, cut at `now`: what is not due yet is not counted. Each
figure counts a thing once, in the period one instant of it falls in (an item's respond-by,
a walk's finish or else its window's end, a run's finish), so consecutive periods add up,
and so do the days of the per-day rollups (`reports.rollup`) a long period reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from pm_cli.reports.facts import DIMENSIONS as DIMENSIONS
from pm_cli.reports.facts import KEYS as KEYS
from pm_cli.reports.facts import LABELS as LABELS
from pm_cli.reports.facts import NONE as NONE
from pm_cli.reports.facts import Facts, Kpi, Period
from pm_cli.reports.flow import Flow
from pm_cli.sites.models import Site

# ---- all -----------------------------------------------------------------------------------


@dataclass
class Kpis:
    site: Site
    period: Period
    facts: Facts
    kpis: list[Kpi]  # the site's, all facts summed
    overdue_critical: list[Any]  # critical items overdue at the period's end (Pdca rows)
    uncontrolled: list[Any]  # critical risks with no control step and no drill (Risk rows)
    flow: Flow = field(default_factory=Flow)

    def figures(self) -> list[dict[str, Any]]:
        return self.flow.figures(self.kpis)

    def get(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def compute(
    session: Session,
    *,
    site: Site,
    p: Period,
    rolled: bool = True,
    dims: tuple[str, ...] | None = None,
) -> Kpis:
    """The KPIs of the period. The day-additive ones (inspections, on_time, steps_passed)
    come from the per-day rollups for the days they hold (`reports.rollup`; `rolled=False`
    counts every day from the records), the rest of the period from the records. `dims`:
    the dimensions the caller will split the facts by (`Facts.by`): the rollups are summed
    over the others (None: keep them all)."""
    from pm_cli.grids.models import Grid
    from pm_cli.reports import records
    from pm_cli.staff.models import Staff

    f = Facts(
        site.tz,
        dict(session.exec(select(Grid.id, Grid.code).where(Grid.site_id == site.id)).all()),
        dict(session.exec(select(Staff.id, Staff.code).where(Staff.site_id == site.id)).all()),
    )
    spans = [(p.since, p.end)]
    if rolled:
        from pm_cli.reports import rollup

        spans = rollup.load(session, site=site, facts=f, since=p.since, until=p.end, dims=dims)
    for since, until in spans:
        part = Period(since, until, p.now)
        records.inspections(session, site, part, f)
        records.steps(session, site, part, f)
    flow = Flow()
    overdue = records.items(session, site, p, f, flow)
    records.drills(session, site, p, f, flow)
    uncontrolled = records.risks(session, site, p, f, flow)
    records.surveys(session, site, p, f)
    return Kpis(site, p, f, f.total(), overdue, uncontrolled, flow)
