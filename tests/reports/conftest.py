"""A small site built by hand for the reports: November 2026 at site CH (Asia/Shanghai),
where each KPI's right count is known (test_kpi.py says which)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

PLAYBOOK = """\
id: test.weights
version: 1
title: 权重测试 Weights
service: cleaning
steps:
  - {id: a, title: 甲 A, instruction: look, acceptance: ok, kind: check, severity: minor, weight: 1}
  - {id: b, title: 乙 B, instruction: look, acceptance: ok, kind: check, severity: minor, weight: 2}
  - {id: c, title: 丙 C, instruction: look, acceptance: ok, kind: check, severity: minor, weight: 3}
"""


def cst(text: str) -> datetime:
    """'2026-11-02 10:00' at the site (UTC+8) as an aware UTC datetime."""
    from datetime import timedelta

    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=8)


def u(text: str) -> str:
    from pm_cli.store.ids import utc_text

    return utc_text(cst(text))


@pytest.fixture
def built(pm, site, scope, tmp_path: Path):
    pm("grid", "add", "W", "--name", "水泵房", "--owner", "S1")
    pm("grid", "add", "X", "--name", "屋面")
    book = tmp_path / "test.weights.yaml"
    book.write_text(PLAYBOOK, encoding="utf-8")
    pm("playbook", "import", str(book))
    from pm_cli.drills.models import Drill
    from pm_cli.pdca import service as pdca
    from pm_cli.risks.models import Risk
    from pm_cli.routes.models import Route, RouteWalk
    from pm_cli.runs import service as runs
    from pm_cli.sites.service import get_site
    from pm_cli.store import write

    with scope() as s:
        site = get_site(s, "CH")
        # A daily route, 08:00–10:00, made before November: 7 windows from 1 to 7 November.
        route = write.create(
            s,
            Route,
            site_id=site.id,
            created_at=u("2026-10-25 09:00"),
            code="R1",
            name="早巡",
            stops=[],
            schedule="FREQ=DAILY;BYHOUR=8",
            window_start="08:00",
            window_end="10:00",
        )
        for start, end, status in (
            ("2026-11-02 08:10", "2026-11-02 09:00", "finished"),  # done, on time
            ("2026-11-03 08:30", "2026-11-03 10:30", "finished"),  # done, late
            ("2026-11-04 08:30", "2026-11-04 09:00", "incomplete"),  # not done
            ("2026-11-05 08:15", "2026-11-05 09:15", "finished"),
        ):  # done, on time
            write.create(
                s,
                RouteWalk,
                site_id=site.id,
                route_id=route.id,
                started_at=u(start),
                finished_at=u(end),
                status=status,
            )
        # Runs: weights 1, 2, 3 — pass, fail, N/A (1 of 3); then all pass (6 of 6); one in
        # October, outside.
        for when, outcomes in (
            ("2026-11-03 11:00", "pfn"),
            ("2026-11-05 11:00", "ppp"),
            ("2026-10-20 11:00", "fff"),
        ):
            run = runs.start_run(
                s, site=site, playbook="test.weights", grid="W", by="S1", started_at=u(when)
            )
            for step, o in zip("abc", outcomes, strict=True):
                runs.record(
                    s,
                    site=site,
                    run=run,
                    store_dir=tmp_path,
                    answer=runs.Answer(step, {"p": "pass", "f": "fail", "n": "na"}[o]),
                )
            runs.finish(s, run=run, at=u(when.replace("11:00", "11:30")))
        # Items (major: respond 4 h, resolve 72 h; critical 1 h / 24 h; minor 24 h / 7 d)
        a = pdca.add_item(
            s, site=site, title="甲 A", severity="major", grid="W", now=cst("2026-11-02 10:00")
        ).item
        pdca.advance(s, site=site, no=a.no, to="do", plan="换阀门", now=cst("2026-11-02 12:00"))
        pdca.advance(s, site=site, no=a.no, to="check", note="已换", now=cst("2026-11-03 10:00"))
        pdca.advance(
            s, site=site, no=a.no, to="act", result="effective", now=cst("2026-11-03 12:00")
        )
        pdca.edit(s, site=site, no=a.no, root_cause="老化", preventive="每月检查")
        pdca.advance(
            s, site=site, no=a.no, to="closed", note="纳入月检", now=cst("2026-11-03 13:00")
        )
        b = pdca.add_item(
            s, site=site, title="乙 B", severity="major", grid="W", now=cst("2026-11-03 10:00")
        ).item
        pdca.advance(s, site=site, no=b.no, to="do", plan="排查", now=cst("2026-11-03 16:00"))
        pdca.add_item(
            s, site=site, title="丙 C", severity="critical", grid="W", now=cst("2026-11-07 10:00")
        )
        d = pdca.add_item(
            s, site=site, title="丁 D", severity="critical", grid="W", now=cst("2026-11-04 10:00")
        ).item
        pdca.cancel(s, site=site, no=d.no, reason="误报")  # withdrawn later: never counted
        e = pdca.add_item(
            s,
            site=site,
            title="戊 E 投诉",
            severity="minor",
            grid="W",
            source="complaint",
            now=cst("2026-11-04 09:00"),
        ).item
        pdca.advance(s, site=site, no=e.no, to="do", plan="回访", now=cst("2026-11-04 20:00"))
        # Drills (fire: every 6 months): A made 10 May, due 10 Nov, run 3 Nov (on schedule);
        # B made 1 May, due 1 Nov, never run (missed).
        for code, made in (("FIRE-A", "2026-05-10 10:00"), ("FIRE-B", "2026-05-01 10:00")):
            write.create(
                s,
                Drill,
                site_id=site.id,
                created_at=u(made),
                code=code,
                scenario="fire",
                grid_id=None,
            )
        # Risks, open since September: R1 critical (monthly review, overdue; no control
        # step, and its grid has no drill), R2 minor (yearly review, current).
        x = [g for g in _grids(s, site) if g.code == "X"][0]
        for code, li, im in (("R1", 5, 5), ("R2", 1, 2)):
            write.create(
                s,
                Risk,
                site_id=site.id,
                created_at=u("2026-09-01 10:00"),
                code=code,
                title=f"风险 {code}",
                likelihood=li,
                impact=im,
                grid_id=x.id,
            )
    drill = Path(__file__).parents[2] / "examples" / "drill.yaml"
    text = drill.read_text(encoding="utf-8").replace("2026-11-20", "2026-11-03")
    text = text.split("findings:")[0]
    timeline = tmp_path / "drill.yaml"
    timeline.write_text(text, encoding="utf-8")
    pm("drill", "record", "FIRE-A", "--timeline", str(timeline))
    return site


def _grids(s, site):
    from sqlmodel import select

    from pm_cli.grids.models import Grid

    return list(s.exec(select(Grid).where(Grid.site_id == site.id)))
