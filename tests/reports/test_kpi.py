"""KPIs and the 1000-point score on a small site built by hand, where each right number is
known: November 2026 at site CH (Asia/Shanghai), looked at from December."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

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
        route = write.create(s, Route, site_id=site.id, created_at=u("2026-10-25 09:00"),
                             code="R1", name="早巡", stops=[], schedule="FREQ=DAILY;BYHOUR=8",
                             window_start="08:00", window_end="10:00")
        for start, end, status in (
                ("2026-11-02 08:10", "2026-11-02 09:00", "finished"),   # done, on time
                ("2026-11-03 08:30", "2026-11-03 10:30", "finished"),   # done, late
                ("2026-11-04 08:30", "2026-11-04 09:00", "incomplete"),  # not done
                ("2026-11-05 08:15", "2026-11-05 09:15", "finished")):  # done, on time
            write.create(s, RouteWalk, site_id=site.id, route_id=route.id, started_at=u(start),
                         finished_at=u(end), status=status)
        # Runs: weights 1, 2, 3 — pass, fail, N/A (1 of 3); then all pass (6 of 6); one in
        # October, outside.
        for when, outcomes in (("2026-11-03 11:00", "pfn"), ("2026-11-05 11:00", "ppp"),
                               ("2026-10-20 11:00", "fff")):
            run = runs.start_run(s, site=site, playbook="test.weights", grid="W", by="S1",
                                 started_at=u(when))
            for step, o in zip("abc", outcomes, strict=True):
                runs.record(s, site=site, run=run, store_dir=tmp_path,
                            answer=runs.Answer(step, {"p": "pass", "f": "fail", "n": "na"}[o]))
            runs.finish(s, run=run, at=u(when.replace("11:00", "11:30")))
        # Items (major: respond 4 h, resolve 72 h; critical 1 h / 24 h; minor 24 h / 7 d)
        a = pdca.add_item(s, site=site, title="甲 A", severity="major", grid="W",
                          now=cst("2026-11-02 10:00")).item
        pdca.advance(s, site=site, no=a.no, to="do", plan="换阀门", now=cst("2026-11-02 12:00"))
        pdca.advance(s, site=site, no=a.no, to="check", note="已换", now=cst("2026-11-03 10:00"))
        pdca.advance(s, site=site, no=a.no, to="act", result="effective",
                     now=cst("2026-11-03 12:00"))
        pdca.edit(s, site=site, no=a.no, root_cause="老化", preventive="每月检查")
        pdca.advance(s, site=site, no=a.no, to="closed", note="纳入月检",
                     now=cst("2026-11-03 13:00"))
        b = pdca.add_item(s, site=site, title="乙 B", severity="major", grid="W",
                          now=cst("2026-11-03 10:00")).item
        pdca.advance(s, site=site, no=b.no, to="do", plan="排查", now=cst("2026-11-03 16:00"))
        pdca.add_item(s, site=site, title="丙 C", severity="critical", grid="W",
                      now=cst("2026-11-07 10:00"))
        d = pdca.add_item(s, site=site, title="丁 D", severity="critical", grid="W",
                          now=cst("2026-11-04 10:00")).item
        pdca.cancel(s, site=site, no=d.no, reason="误报")  # withdrawn later: never counted
        e = pdca.add_item(s, site=site, title="戊 E 投诉", severity="minor", grid="W",
                          source="complaint", now=cst("2026-11-04 09:00")).item
        pdca.advance(s, site=site, no=e.no, to="do", plan="回访", now=cst("2026-11-04 20:00"))
        # Drills (fire: every 6 months): A made 10 May, due 10 Nov, run 3 Nov (on schedule);
        # B made 1 May, due 1 Nov, never run (missed).
        for code, made in (("FIRE-A", "2026-05-10 10:00"), ("FIRE-B", "2026-05-01 10:00")):
            write.create(s, Drill, site_id=site.id, created_at=u(made), code=code,
                         scenario="fire", grid_id=None)
        # Risks, open since September: R1 critical (monthly review, overdue; no control
        # step, and its grid has no drill), R2 minor (yearly review, current).
        x = [g for g in _grids(s, site) if g.code == "X"][0]
        for code, li, im in (("R1", 5, 5), ("R2", 1, 2)):
            write.create(s, Risk, site_id=site.id, created_at=u("2026-09-01 10:00"), code=code,
                         title=f"风险 {code}", likelihood=li, impact=im, grid_id=x.id)
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


def kpis(pm) -> dict[str, dict]:
    r = pm("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-07", "--json")
    return {k["kpi"]: k for k in json.loads(r.stdout)["kpis"]}


def of(k: dict) -> tuple:
    return (k["numerator"], k["denominator"])


def test_each_kpi_counts_what_it_says(pm, built):
    k = kpis(pm)
    assert of(k["inspections"]) == (3, 7)  # 7 daily windows; 2, 3 and 5 Nov walked through
    assert k["inspections"]["rate"] == round(3 / 7, 4)
    assert of(k["on_time"]) == (2, 3)  # the walk of 3 Nov ended after 10:00
    assert of(k["steps_passed"]) == (7, 9)  # weights: 1 of 1+2 (N/A out), then 6 of 6
    assert of(k["response_sla"]) == (2, 4)  # A and E answered in time, B late, C never
    assert of(k["resolution_sla"]) == (1, 2)  # A checked in time, B not; C's is in Dec
    assert of(k["closed"]) == (1, 2)  # A closed effective in its first cycle
    assert of(k["complaints"]) == (1, 1)
    assert of(k["drills_on_schedule"]) == (1, 2)  # FIRE-A run ahead of 10 Nov, B missed
    assert of(k["drill_targets"]) == (6, 7)  # reinforcements 6 min against 5
    assert of(k["risk_reviews"]) == (1, 2)  # R1's monthly review is overdue
    assert all(x["what"] for x in k.values())


def test_the_score_is_its_lines_less_its_deductions(pm, built):
    r = pm("report", "score", "--from", "2026-11-01", "--to", "2026-11-07", "--json")
    rep = json.loads(r.stdout)
    lines = {ln["kpi"]: ln for ln in rep["lines"]}
    assert len(lines) == 10 and rep["scaled_from"] == 1000 and rep["dropped"] == []
    assert lines["inspections"]["points"] == 85.7 and lines["inspections"]["max"] == 200
    assert lines["drill_targets"]["points"] == 64.3
    assert [d["points"] for d in rep["deductions"]] == [50, 20]
    assert "critical item #3 overdue" in rep["deductions"][0]["reason"]
    assert "R1" in rep["deductions"][1]["reason"]
    earned = round(sum(ln["points"] for ln in rep["lines"]), 1)
    assert earned == 581.9  # the exact points' sum, 581.945, to a tenth: lines share it out
    assert rep["score"] == round(earned - 70, 1) == 511.9
    assert rep["band"] == "不合格 fail"
    cats = {c["category"]: c for c in rep["categories"]}
    assert round(sum(c["points"] for c in cats.values()), 1) == earned
    explained = pm("report", "score", "--from", "2026-11-01", "--to", "2026-11-07",
                   "--explain").stdout
    assert "inspections          3/7 = 42.9% × 200.0 = 85.7" in explained
    assert "−50" in explained and "score                511.9 — 不合格 fail" in explained


def test_kpis_with_nothing_to_measure_drop_out_and_the_rest_scale(pm, built):
    """The first week of October: before the route (made 25 October), the runs, the items
    and the drills' due dates, so only the risks (open since September) are measured."""
    r = pm("report", "score", "--from", "2026-10-01", "--to", "2026-10-07", "--json")
    rep = json.loads(r.stdout)
    assert [ln["kpi"] for ln in rep["lines"]] == ["risk_reviews"]
    assert rep["scaled_from"] == 75
    assert lines_max(rep) == 1000.0
    assert {d["kpi"] for d in rep["dropped"]} >= {"inspections", "steps_passed"}
    # R1 (made 1 September, reviewed monthly) is overdue by 8 October; R2 is current
    assert rep["lines"][0]["numerator"] == 1 and rep["lines"][0]["denominator"] == 2
    assert rep["score"] == 500.0 - 20  # the uncontrolled critical risk still costs


def lines_max(rep: dict) -> float:
    return round(sum(ln["max"] for ln in rep["lines"]), 1)


def test_an_empty_site_has_no_score_and_says_why(pm, site):
    r = pm("report", "score", "--json")
    rep = json.loads(r.stdout)
    assert rep["score"] is None and rep["band"] is None and rep["lines"] == []
    assert len(rep["dropped"]) == 10
    r = pm("report", "score")
    assert "no score: nothing to measure" in r.stdout
    r = pm("report", "kpi", "--json")
    assert all(k["rate"] is None and k["denominator"] == 0 for k in
               json.loads(r.stdout)["kpis"])


def test_a_period_backwards_or_a_bad_date_is_refused(pm, site):
    r = pm("report", "kpi", "--from", "2026-11-07", "--to", "2026-11-01", ok=False)
    assert r.exit_code == 2 and "--from comes after --to" in r.stderr
    r = pm("report", "score", "--from", "01-11-2026", ok=False)
    assert r.exit_code == 2 and "--from" in r.stderr
    r = pm("report", "score", "--by", "building", ok=False)
    assert r.exit_code == 2 and "--by grid|service|staff|month|category" in r.stderr
    r = pm("report", "kpi", "--by", "category", ok=False)
    assert r.exit_code == 2 and "--by grid|service|staff|month" in r.stderr


def test_by_grid_service_staff_and_month_split_the_site_figures(pm, built):
    args = ("--from", "2026-11-01", "--to", "2026-11-07", "--json")
    site = kpis(pm)
    for dim in ("grid", "service", "staff", "month"):
        rep = json.loads(pm("report", "kpi", "--by", dim, *args).stdout)
        for key, total in site.items():  # the groups add up to the site
            parts = [k for g in rep["groups"] for k in g["kpis"] if k["kpi"] == key]
            assert sum(k["numerator"] for k in parts) == total["numerator"], (dim, key)
            assert sum(k["denominator"] for k in parts) == total["denominator"], (dim, key)
    rep = json.loads(pm("report", "kpi", "--by", "grid", *args).stdout)
    w = {k["kpi"]: k for k in next(g for g in rep["groups"] if g["grid"] == "W")["kpis"]}
    assert of(w["steps_passed"]) == (7, 9) and of(w["response_sla"]) == (2, 4)
    x = {k["kpi"]: k for k in next(g for g in rep["groups"] if g["grid"] == "X")["kpis"]}
    assert of(x["risk_reviews"]) == (1, 2) and of(x["steps_passed"]) == (0, 0)
    by_month = json.loads(pm("report", "kpi", "--by", "month", *args).stdout)
    assert [g["month"] for g in by_month["groups"]] == ["2026-11"]
    scores = json.loads(pm("report", "score", "--by", "grid", *args).stdout)["groups"]
    x_score = next(g for g in scores if g["grid"] == "X")
    assert [d["points"] for d in x_score["deductions"]] == [20]  # R1 is X's
    w_score = next(g for g in scores if g["grid"] == "W")
    assert [d["points"] for d in w_score["deductions"]] == [50]  # item #3 is W's
    assert w_score["score"] == round(sum(ln["points"] for ln in w_score["lines"]) - 50, 1)


def test_a_perfect_group_scores_1000_exactly():
    """Three KPIs of 100 points measured: 333.33… each; the lines share the tenths out."""
    from pm_cli.reports.kpi import KEYS, Kpi
    from pm_cli.reports.score import score_of

    s = score_of([Kpi(k, 3, 3) if k in ("on_time", "closed", "response_sla") else Kpi(k)
                  for k in KEYS], [])
    assert sorted(ln["max"] for ln in s.lines) == [333.3, 333.3, 333.4]
    assert s.score == 1000.0 and s.band == "优秀 excellent"
