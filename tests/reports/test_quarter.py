"""The quarterly PDCA review (`pm report quarter`) on the hand-built November site: items by
source and phase, effectiveness, repeat failures by step and grid, top risks, and the score
and KPIs against the previous quarter (the same figures `pm report kpi|score` give for those
dates)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from tests.reports.conftest import cst

Q4 = ("--from", "2026-10-01", "--to", "2026-12-31")
Q3 = ("--from", "2026-07-01", "--to", "2026-09-30")


@pytest.fixture
def reviewed(pm, built, scope):
    """The built site plus an item whose fix was not effective (reopened in cycle 2)."""
    from pm_cli.pdca import service as pdca
    from pm_cli.sites.service import get_site

    with scope() as s:
        site = get_site(s, "CH")
        f = pdca.add_item(
            s,
            site=site,
            title="己 F 渗水",
            severity="minor",
            grid="X",
            source="audit",
            now=cst("2026-11-10 09:00"),
        ).item
        pdca.advance(s, site=site, no=f.no, to="do", plan="补胶", now=cst("2026-11-10 10:00"))
        pdca.advance(s, site=site, no=f.no, to="check", note="已补", now=cst("2026-11-11 10:00"))
        pdca.advance(
            s, site=site, no=f.no, to="act", result="not-effective", now=cst("2026-11-12 10:00")
        )
        pdca.advance(s, site=site, no=f.no, to="plan", note="仍渗水", now=cst("2026-11-12 11:00"))
    return json.loads(pm("report", "quarter", "--quarter", "2026Q4", "--json").stdout)


def test_items_by_source_and_phase_and_their_effectiveness(reviewed):
    rep = reviewed
    assert rep["quarter"] == "2026Q4" and rep["previous_quarter"] == "2026Q3"
    assert rep["from"] == "2026-09-30T16:00:00.000Z"  # October 1, 00:00 at the site
    rows = {r["source"]: r for r in rep["items"]["by_source"]}
    # A closed, B in do, C in plan, D withdrawn (manual); E in do (complaint); F back in
    # plan (audit); the fire drill's missed milestone opened one (drill)
    assert {
        k: rows["manual"][k] for k in ("opened", "carried_in", "plan", "do", "closed", "withdrawn")
    } == {"opened": 4, "carried_in": 0, "plan": 1, "do": 1, "closed": 1, "withdrawn": 1}
    assert rows["complaint"]["do"] == 1 and rows["audit"]["plan"] == 1
    assert rows["drill"]["opened"] == 1 and rows["total"]["opened"] == 7
    assert list(rows) == ["drill", "complaint", "audit", "manual", "total"]
    eff = rep["items"]["effectiveness"]
    assert (eff["numerator"], eff["denominator"], eff["not_effective"]) == (1, 2, 1)
    assert eff["rate"] == 0.5
    assert [(r["title"], r["cycle"]) for r in rep["items"]["reopened"]] == [("己 F 渗水", 2)]
    still = [r["title"] for r in rep["items"]["open_at_end"]]
    assert still[0] == "丙 C" and len(still) == 5
    assert {"乙 B", "丙 C", "戊 E 投诉", "己 F 渗水"} < set(still)


def test_repeat_failures_by_step_and_grid(reviewed):
    # step b failed on 20 October and 3 November at W (its newest answer each time); a and
    # c failed once (October)
    assert [
        (r["grid"], r["step"], r["title"], r["failures"]) for r in reviewed["repeat_failures"]
    ] == [("W", "b", "乙 B", 2)]
    by_step = {r["step"]: r["failures"] for r in reviewed["failures_by_step"]}
    assert by_step == {"b": 2, "a": 1, "c": 1}


def test_top_risks_worst_first(reviewed):
    assert [(r["code"], r["level"], r["score"]) for r in reviewed["top_risks"]] == [
        ("R1", "critical", 25),
        ("R2", "minor", 2),
    ]
    assert reviewed["top_risks"][0]["review_overdue"] is True


def test_score_and_kpis_against_the_previous_quarter_match_report_score_and_kpi(pm, reviewed):
    now = json.loads(pm("report", "score", *Q4, "--json").stdout)
    before = json.loads(pm("report", "score", *Q3, "--json").stdout)
    sc = reviewed["score"]
    assert (sc["score"], sc["band"]) == (now["score"], now["band"])
    assert (sc["previous"], sc["previous_band"]) == (before["score"], before["band"])
    assert sc["change"] == round(now["score"] - before["score"], 1)
    kpis = {k["kpi"]: k for k in json.loads(pm("report", "kpi", *Q4, "--json").stdout)["kpis"]}
    prev = {k["kpi"]: k for k in json.loads(pm("report", "kpi", *Q3, "--json").stdout)["kpis"]}
    for k in reviewed["kpis"]:
        assert (k["numerator"], k["denominator"], k["rate"]) == (
            kpis[k["kpi"]]["numerator"],
            kpis[k["kpi"]]["denominator"],
            kpis[k["kpi"]]["rate"],
        )
        assert (k["previous_numerator"], k["previous_denominator"]) == (
            prev[k["kpi"]]["numerator"],
            prev[k["kpi"]]["denominator"],
        )
    risk = next(k for k in reviewed["kpis"] if k["kpi"] == "risk_reviews")
    # Q3 ended before R1's first monthly review fell due; by now it is overdue
    assert (risk["previous"], risk["rate"]) == (1.0, 0.5) and risk["change"] == -0.5


def test_every_format_of_the_review(pm, reviewed, tmp_path):
    table = pm("report", "quarter", "--quarter", "2026q4").stdout
    assert "PDCA review of CH, 2026Q4" in table and "repeat failures" in table
    raw = pm("report", "quarter", "-q", "2026-Q4", "--csv").stdout
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    at = rows.index(["top risks (2)"])
    assert rows[at + 1][:3] == ["code", "title", "level"] and rows[at + 2][0] == "R1"
    md = pm("report", "quarter", "-q", "2026Q4", "--md").stdout
    assert md.startswith("# PDCA review of CH, 2026Q4") and "| W | test.weights | 乙 B |" in md
    out = tmp_path / "q.xlsx"
    pm("report", "quarter", "-q", "2026Q4", "--xlsx", "-o", str(out))
    from openpyxl import load_workbook

    book = load_workbook(out)
    assert "top risks (2)" in book.sheetnames
    assert book["top risks (2)"]["A2"].value == "R1"
    page = tmp_path / "q.html"
    pm("report", "quarter", "-q", "2026Q4", "--html", "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "己 F 渗水" in html and "Content-Security-Policy" in html


def test_a_bad_or_future_quarter_is_a_usage_error(pm, built):
    r = pm("report", "quarter", "--quarter", "2026Q5", ok=False)
    assert r.exit_code == 2 and "not a quarter: '2026Q5'" in r.stderr and "2026Q4" in r.stderr
    nxt = date.today().year + 1
    r = pm("report", "quarter", "--quarter", f"{nxt}Q1", ok=False)
    assert r.exit_code == 2 and "has not begun" in r.stderr


def test_an_empty_site_has_an_empty_review_not_an_error(pm, site):
    rep = json.loads(pm("report", "quarter", "--json").stdout)
    assert rep["items"]["by_source"] == [] and rep["repeat_failures"] == []
    assert rep["score"]["score"] is None and rep["score"]["change"] is None
    assert rep["items"]["effectiveness"]["rate"] is None
    assert "PDCA review of CH" in pm("report", "quarter").stdout
