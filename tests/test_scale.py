"""A year of history does not slow the everyday lists: they read a page, or what they show,
in a number of statements that does not grow with the rows behind it (SQL filters, orders
and cuts; one query per kind of row, not one per row)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from pm_cli.store.engine import make_engine, session_scope


@pytest.fixture
def counted(isolated: Path, site: str) -> Iterator[Callable[..., Any]]:
    """`with counted() as (s, n):` a session whose statements are counted into n[0]."""
    engine = make_engine(isolated)
    seen = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        seen[0] += 1

    @contextmanager
    def open_(write: bool = False) -> Iterator[tuple[Any, list[int]]]:
        with session_scope(engine, isolated, write=write) as s:
            seen[0] = 0
            yield s, seen

    yield open_
    engine.dispose()


def _site(s: Any) -> Any:
    from pm_cli.sites.service import current_site

    return current_site(s, "CH")


def add_grids_and_checkpoints(s: Any, n_cp: int = 20) -> None:
    from pm_cli.checkpoints import service as checkpoints
    from pm_cli.grids import service as grids

    site = _site(s)
    grids.add_grid(s, site=site, code="A", name="1号楼 Building 1", owner="S1")
    grids.add_grid(s, site=site, code="A-1", name="一层 Floor 1", parent="A", owner="S2")
    for i in range(n_cp):
        checkpoints.add_checkpoint(
            s, site=site, code=f"CP{i:02d}", name=f"点位{i}", grid="A-1", x=i, y=i
        )


def add_runs(s: Any, n: int, *, start: int = 0, fail_every: int = 0) -> list[str]:
    """`n` finished runs of cleaning.daily at grid A-1 by S1, one a day back from today; every
    `fail_every`-th has its first step failed (and every other such run corrected to pass)."""
    from sqlmodel import select

    from pm_cli.grids.models import Grid
    from pm_cli.playbooks import service as playbooks
    from pm_cli.runs.models import Run, StepResult
    from pm_cli.staff.models import Staff
    from pm_cli.store import write
    from pm_cli.store.ids import new_id, utc_text

    site = _site(s)
    pinned = playbooks.get(s, "cleaning.daily")
    grid = s.exec(select(Grid).where(Grid.code == "A-1")).one()
    by = s.exec(select(Staff).where(Staff.code == "S1")).one()
    now = datetime.now(UTC).replace(microsecond=0)
    runs, results, ids = [], [], []
    for k in range(start, start + n):
        at = now - timedelta(days=k, hours=1)
        rid = new_id()
        ids.append(rid)
        runs.append(
            {
                "id": rid,
                "created_at": utc_text(at),
                "playbook_id": pinned.playbook.id,
                "playbook_version": pinned.version,
                "playbook_sha256": pinned.sha256,
                "grid_id": grid.id,
                "by_id": by.id,
                "started_at": utc_text(at),
                "finished_at": utc_text(at + timedelta(minutes=20)),
                "status": "finished",
            }
        )
        failed = bool(fail_every) and k % fail_every == 0
        for i, step in enumerate(pinned.playbook.steps):
            outcome = "fail" if failed and i == 0 else "pass"
            results.append(
                {
                    "run_id": rid,
                    "step_id": step.id,
                    "outcome": outcome,
                    "by_id": by.id,
                    "created_at": utc_text(at),
                }
            )
        if failed and (k // fail_every) % 2:  # corrected later: no longer a failed run
            results.append(
                {
                    "run_id": rid,
                    "step_id": pinned.playbook.steps[0].id,
                    "outcome": "pass",
                    "by_id": by.id,
                    "created_at": utc_text(at),
                }
            )
    write.bulk_create(s, Run, site_id=site.id, rows=runs)
    write.bulk_append(s, StepResult, site_id=site.id, rows=results)
    return ids


def test_run_list_reads_a_page_in_as_many_statements_at_1000_runs_as_at_10(counted):
    from pm_cli.runs import service

    with counted(write=True) as (s, _):
        add_grids_and_checkpoints(s, 0)
        add_runs(s, 10, fail_every=3)

    def page(**kw: Any) -> tuple[list[dict[str, Any]], int]:
        with counted() as (s, n):
            rows = service.list_runs(s, site=_site(s), limit=31, **kw)
            return rows, n[0]

    small, few = page()
    failed_small, few_failed = page(failed=True)
    with counted(write=True) as (s, _):
        add_runs(s, 990, start=10, fail_every=3)
    big, many = page()
    failed_big, many_failed = page(failed=True)

    assert (len(small), len(big)) == (10, 31)
    assert many == few and many_failed == few_failed, (few, many, few_failed, many_failed)
    starts = [r["started_at"] for r in big]
    assert starts == sorted(starts, reverse=True)  # newest first, cut by SQL
    # --failed: a run whose newest answer to a step is a fail; a fail corrected to pass is not
    assert [r["failed"] for r in failed_big] == [1] * 31
    assert len(failed_small) == 2  # of days 0, 3, 6, 9 failed, 3 and 9 were corrected
    assert all(r["score"] == 50.0 for r in failed_big)


def test_whole_run_list_and_heatmap_do_not_query_per_run(counted):
    from pm_cli.risks.service import grid_heat
    from pm_cli.runs import service

    with counted(write=True) as (s, _):
        add_grids_and_checkpoints(s, 0)
        add_runs(s, 10, fail_every=3)

    def run_all() -> tuple[int, int, list[dict[str, Any]]]:
        with counted() as (s, n):
            service.list_runs(s, site=_site(s))
            listed = n[0]
            n[0] = 0
            heat = grid_heat(s, site=_site(s), days=30)
            return listed, n[0], heat

    few, few_heat, heat_small = run_all()
    with counted(write=True) as (s, _):
        add_runs(s, 990, start=10, fail_every=3)
    many, many_heat, heat_big = run_all()
    # the answers of 1,000 runs come in chunks of 500 ids: two queries, not a thousand
    assert many - few <= 1, (few, many)
    assert many_heat == few_heat, (few_heat, many_heat)
    spot = {r["grid"]: r for r in heat_big}["A-1"]
    # days 0..29: fails on days 0, 6, 12, 18, 24 (3, 9, 15, 21, 27 were corrected)
    assert spot["failures"] == 5
    assert {r["grid"]: r for r in heat_small}["A-1"]["failures"] == 2


def test_route_list_of_1000_routes_reads_the_codes_once(counted):
    from pm_cli.routes import service
    from pm_cli.routes.models import Route
    from pm_cli.store import write

    with counted(write=True) as (s, _):
        add_grids_and_checkpoints(s, 20)
        site = _site(s)
        for i in range(3):
            service.add_route(
                s,
                site=site,
                code=f"R{i:04d}",
                name=f"路线{i}",
                stops=[f"CP{j:02d}" for j in range(20)],
                schedule="daily@08:00",
            )

    def listed() -> tuple[list[dict[str, Any]], int]:
        with counted() as (s, n):
            return service.list_routes(s, site=_site(s)), n[0]

    three, few = listed()
    with counted(write=True) as (s, _):
        site = _site(s)
        stops = service.get_route(s, site=site, code="R0000").stops
        write.bulk_create(
            s,
            Route,
            site_id=site.id,
            rows=(
                {"code": f"R{i:04d}", "name": f"路线{i} Route {i}", "stops": stops[::-1]}
                for i in range(3, 1000)
            ),
        )
    thousand, many = listed()
    assert len(three) == 3 and len(thousand) == 1000
    assert many == few, (few, many)
    assert thousand[-1]["stops"][0]["checkpoint"] == "CP19"
    assert [st["checkpoint"] for st in thousand[0]["stops"]][:2] == ["CP00", "CP01"]


def test_open_item_lists_leave_closed_items_out_and_keep_reopened_ones(counted):
    from pm_cli.pdca import service as pdca

    with counted(write=True) as (s, _):
        add_grids_and_checkpoints(s, 0)
        site = _site(s)
        nos = [
            pdca.add_item(s, site=site, title=f"问题{i}", severity="minor", grid="A-1").item.no or 0
            for i in range(4)
        ]
        for no in nos[:3]:  # three closed
            pdca.advance(s, site=site, no=no, to="do", plan="修 / fix")
            pdca.advance(s, site=site, no=no, to="check", note="好了 / done")
            pdca.advance(s, site=site, no=no, to="act", result="effective")
            pdca.edit(s, site=site, no=no, root_cause="原因", preventive="预防")
            pdca.advance(s, site=site, no=no, to="closed", note="关闭 / closed")
        pdca.reopen(s, site=site, no=nos[1], note="又坏了 / broke again")
    with counted() as (s, _):
        site = _site(s)
        open_ = [r["no"] for r in pdca.list_items(s, site=site)]
        every = [r["no"] for r in pdca.list_items(s, site=site, include_closed=True)]
        closed = [r["no"] for r in pdca.list_items(s, site=site, phase="closed")]
    assert open_ == [nos[1], nos[3]]
    assert every == nos
    assert closed == [nos[0], nos[2]]


def test_risk_list_of_1000_risks_reads_each_kind_of_row_once(counted):
    from pm_cli.risks import read, service
    from pm_cli.risks.models import Risk
    from pm_cli.store import write

    with counted(write=True) as (s, _):
        add_grids_and_checkpoints(s, 0)
        site = _site(s)
        for i in range(3):
            service.add_risk(
                s, site=site, code=f"R{i:04d}", title=f"风险{i}", likelihood=2, impact=2, grid="A-1"
            )
        service.review_risk(s, site=site, code="R0000", note="复核 / reviewed")

    def listed() -> tuple[list[dict[str, Any]], int]:
        with counted() as (s, n):
            return read.list_risks(s, site=_site(s)), n[0]

    three, few = listed()
    with counted(write=True) as (s, _):
        site = _site(s)
        write.bulk_create(
            s,
            Risk,
            site_id=site.id,
            rows=(
                {"code": f"R{i:04d}", "title": f"风险{i} Risk {i}", "likelihood": 5, "impact": 4}
                for i in range(3, 1000)
            ),
        )
    thousand, many = listed()
    assert len(three) == 3 and len(thousand) == 1000
    assert many == few + 1, (few, many)  # the events of 1000 risks: two IN lists of 500
    assert thousand[0]["last_review"] is not None and thousand[1]["last_review"] is None
    assert thousand[-1]["level"] == "critical" and thousand[0]["grid"] == "A-1"


def test_drill_list_reads_the_runs_events_in_one_query_not_one_per_run(counted):
    from pm_cli.drills import read, service

    with counted(write=True) as (s, _):
        site = _site(s)
        service.plan(s, site=site, code="FIRE", scenario="fire")

    def add(n: int) -> None:
        with counted(write=True) as (s, _):
            site = _site(s)
            for i in range(n):
                at = datetime.now(UTC) - timedelta(days=400 - i)
                run = service.start(s, site=site, code="FIRE", at=at)
                service.finish(
                    s, site=site, run=run, at=at + timedelta(minutes=30), incomplete=True
                )

    def listed() -> tuple[list[dict[str, Any]], int]:
        with counted() as (s, n):
            return read.list_runs(s, site=_site(s)), n[0]

    add(2)
    two, few = listed()
    add(40)
    many_runs, many = listed()
    assert len(two) == 2 and len(many_runs) == 42
    assert many == few, (few, many)
    assert all(r["result"] == "fail" and r["missed"] for r in many_runs)
