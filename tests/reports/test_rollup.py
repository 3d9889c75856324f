"""The per-day rollups (kpi_day): a report over rolled-up days gives the figures counted
from the records, and a late write (an answer synced after the report, a walk recorded
later, a route edited) is in the next report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.reports.conftest import u

ARGS = ("--from", "2026-11-01", "--to", "2026-11-07")


def figures(pm, *args: str) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    rep = json.loads(pm("report", "kpi", *args, "--json").stdout)
    return {k["kpi"]: (k["numerator"], k["denominator"]) for k in rep["kpis"]}


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def live(scope, by: str | None = None):  # type: ignore[no-untyped-def]
    """The KPIs counted from the records alone, every day (no rollup read)."""
    from pm_cli.reports import kpi, service
    from pm_cli.sites.service import get_site

    with scope(write=False) as s:
        site = get_site(s, "CH")
        k = kpi.compute(s, site=site, p=service.period(site, *ARGS[1::2]), rolled=False)
        if by:
            return {
                g: [{key: v for key, v in x.record().items() if key != "what"} for x in group]
                for g, group in k.facts.by(by).items()
            }
        return {x.key: (x.record()["numerator"], x.record()["denominator"]) for x in k.kpis}


def test_rolled_up_days_give_the_figures_of_the_records(pm, built, scope, isolated):
    got = figures(pm, *ARGS)
    assert rows(isolated, "SELECT count(*) FROM kpi_day_done")[0][0] == 7  # 1–7 November
    assert rows(isolated, "SELECT count(*) FROM rollup_dirty") == [(0,)]
    assert got == live(scope)
    assert got["inspections"] == (3, 7) and got["steps_passed"] == (7, 9)
    rep = json.loads(pm("report", "kpi", *ARGS, "--by", "grid", "--json").stdout)
    assert {g["grid"]: g["kpis"] for g in rep["groups"]} == live(scope, "grid")
    # a period that starts and ends inside days counts its ends from the records
    part = figures(pm, "--from", "2026-11-03", "--to", "2026-11-04")
    assert part["inspections"] == (1, 2) and part["steps_passed"] == (1, 3)


def test_a_late_answer_a_late_walk_and_an_edited_route_reach_the_next_report(
    pm, built, scope, isolated
):
    from sqlmodel import select

    from pm_cli.routes.models import Route, RouteWalk
    from pm_cli.runs.models import Run, StepResult
    from pm_cli.sites.service import get_site
    from pm_cli.store import write

    assert figures(pm, *ARGS)["steps_passed"] == (7, 9)
    with scope() as s:
        site = get_site(s, "CH")
        run = s.exec(select(Run).where(Run.finished_at == u("2026-11-03 11:30"))).one()
        # what sync brings from another laptop: a newer answer to step b of 3 November's run
        write.append(
            s,
            StepResult,
            site_id=site.id,
            run_id=run.id,
            step_id="b",
            outcome="pass",
            created_at=u("2026-11-03 11:20"),
        )
        route = s.exec(select(Route)).one()
        write.create(
            s,
            RouteWalk,
            site_id=site.id,
            route_id=route.id,
            started_at=u("2026-11-04 09:10"),
            finished_at=u("2026-11-04 09:40"),
            status="finished",
        )
    marked = {d for _, d in rows(isolated, "SELECT site_id, day FROM rollup_dirty")}
    assert {"2026-11-03", "2026-11-04"} <= marked
    got = figures(pm, *ARGS)
    assert got["steps_passed"] == (9, 9) and got["inspections"] == (4, 7)
    assert got == live(scope)
    # a route's schedule edited: every day of the site is counted again
    pm("route", "edit", "R1", "--window", "08:00-09:30")
    assert ("*",) in [(d,) for _, d in rows(isolated, "SELECT site_id, day FROM rollup_dirty")]
    got = figures(pm, *ARGS)
    assert got == live(scope) and got["on_time"][0] == 2  # 3 Nov and the 4 Nov walk late now
    assert rows(isolated, "SELECT count(*) FROM rollup_dirty") == [(0,)]
