"""KPIs and the 1000-point score on a small site built by hand, where each right number is
known: November 2026 at site CH (Asia/Shanghai), looked at from December."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants


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
    assert len(lines) == 10 and rep["scaled_from"] == 1000
    assert [d["kpi"] for d in rep["dropped"]] == ["satisfaction"]  # no survey
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
    explained = pm(
        "report", "score", "--from", "2026-11-01", "--to", "2026-11-07", "--explain"
    ).stdout
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
    assert len(rep["dropped"]) == 11  # every KPI of the score, satisfaction too
    r = pm("report", "score")
    assert "no score: nothing to measure" in r.stdout
    r = pm("report", "kpi", "--json")
    assert all(k["rate"] is None and k["denominator"] == 0 for k in json.loads(r.stdout)["kpis"])


def test_a_period_backwards_or_a_bad_date_is_refused(pm, site):
    r = pm("report", "kpi", "--from", "2026-11-07", "--to", "2026-11-01", ok=False)
    assert r.exit_code == 2 and "--from comes after --to" in r.stderr
    r = pm("report", "score", "--from", "01-11-2026", ok=False)
    assert r.exit_code == 2 and "--from" in r.stderr
    r = pm("report", "score", "--by", "building", ok=False)
    assert r.exit_code == 2 and "--by site|grid|service|staff|month|week|category" in r.stderr
    r = pm("report", "kpi", "--by", "category", ok=False)
    assert r.exit_code == 2 and "--by site|grid|service|staff|month|week" in r.stderr


def test_by_grid_service_staff_and_month_split_the_site_figures(pm, built):
    args = ("--from", "2026-11-01", "--to", "2026-11-07", "--json")
    site = kpis(pm)
    for dim in ("grid", "service", "staff", "month", "week"):
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
    by_week = json.loads(pm("report", "kpi", "--by", "week", *args).stdout)
    weeks = {g["week"]: {k["kpi"]: k for k in g["kpis"]} for g in by_week["groups"]}
    assert set(weeks) == {"2026-W44", "2026-W45"}  # Sun 1 Nov is in W44; 2–7 Nov in W45
    assert of(weeks["2026-W44"]["inspections"]) == (0, 1)  # the walk of 1 November
    scores = json.loads(pm("report", "score", "--by", "grid", *args).stdout)["groups"]
    x_score = next(g for g in scores if g["grid"] == "X")
    assert [d["points"] for d in x_score["deductions"]] == [20]  # R1 is X's
    w_score = next(g for g in scores if g["grid"] == "W")
    assert [d["points"] for d in w_score["deductions"]] == [50]  # item #3 is W's
    assert w_score["score"] == round(sum(ln["points"] for ln in w_score["lines"]) - 50, 1)


def test_a_group_with_only_a_deduction_is_listed_with_it(pm, built):
    """1–3 December: grid W has nothing measured, but item #3 (critical, W's) is still
    overdue at the end: W is listed, with no score and its deduction."""
    args = ("--from", "2026-12-01", "--to", "2026-12-03", "--json")
    rep = json.loads(pm("report", "score", "--by", "grid", *args).stdout)
    w = next(g for g in rep["groups"] if g["grid"] == "W")
    assert w["score"] is None and w["lines"] == []
    assert [d["points"] for d in w["deductions"]] == [50]
    rep = json.loads(pm("report", "score", "--by", "service", *args).stdout)
    assert all(g["deductions"] == [] for g in rep["groups"])  # services carry none


def test_a_perfect_group_scores_1000_exactly():
    """Three KPIs of 100 points measured: 333.33… each; the lines share the tenths out."""
    from pm_cli.reports.kpi import KEYS, Kpi
    from pm_cli.reports.score import score_of

    s = score_of(
        [Kpi(k, 3, 3) if k in ("on_time", "closed", "response_sla") else Kpi(k) for k in KEYS], []
    )
    assert sorted(ln["max"] for ln in s.lines) == [333.3, 333.3, 333.4]
    assert s.score == 1000.0 and s.band == "优秀 excellent"


def test_the_items_flow_inspections_missed_and_open_risks_each_with_their_counts(pm, built):
    rep = json.loads(
        pm("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-07", "--json").stdout
    )
    fig = {f["figure"]: f for f in rep["figures"]}
    assert (
        fig["inspections_due"]["value"],
        fig["inspections_missed"]["numerator"],
        fig["inspections_missed"]["denominator"],
    ) == (7, 4, 7)
    # answered: A after 2 h, B after 6 h, E after 11 h; resolved: A after 24 h
    assert (
        fig["mean_time_to_respond"]["numerator"],
        fig["mean_time_to_respond"]["denominator"],
    ) == (19, 3)
    assert fig["mean_time_to_respond"]["value"] == round(19 / 3, 4)
    assert (fig["mean_time_to_resolve"]["value"], fig["mean_time_to_resolve"]["unit"]) == (
        24,
        "hours",
    )
    assert fig["items_closed"]["value"] == 1
    assert (fig["reopen_rate"]["numerator"], fig["reopen_rate"]["denominator"]) == (0, 1)
    assert fig["items_withdrawn"]["value"] == 0  # D was withdrawn later, in December
    assert fig["items_opened"]["value"] >= 4  # A, B, C, E (D: withdrawn, never counted)
    assert (fig["risks_open_critical"]["value"], fig["risks_open_minor"]["value"]) == (1, 1)
    table = pm("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-07").stdout
    assert "Mean time to respond" in table and "6.3 h (3 items)" in table


def test_an_empty_site_has_figures_but_no_division_by_zero(pm, site):
    rep = json.loads(pm("report", "kpi", "--json").stdout)
    fig = {f["figure"]: f for f in rep["figures"]}
    assert fig["mean_time_to_respond"]["value"] is None
    assert fig["reopen_rate"]["value"] is None and fig["items_opened"]["value"] == 0
    assert "—" in pm("report", "kpi").stdout


def test_by_site_counts_each_site_this_database_holds(pm, built):
    pm("site", "add", "XY", "--name", "新庄 Xinzhuang", "--tz", "Asia/Shanghai")
    args = ("--from", "2026-11-01", "--to", "2026-11-07", "--json")
    ch = json.loads(pm("report", "kpi", *args).stdout)["kpis"]
    rep = json.loads(pm("report", "kpi", "--by", "site", *args).stdout)
    groups = {g["site"]: g["kpis"] for g in rep["groups"]}
    assert set(groups) == {"CH", "XY"} and groups["CH"] == ch
    assert all(k["denominator"] == 0 for k in groups["XY"])  # nothing there yet
    score = json.loads(pm("report", "score", "--by", "site", *args).stdout)
    assert [(g["site"], g["score"] is None) for g in score["groups"]] == [
        ("CH", False),
        ("XY", True),
    ]


def test_each_drill_of_the_period_shows_its_response_times(pm, built):
    rep = json.loads(
        pm("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-07", "--json").stdout
    )
    (run,) = rep["drills"]  # FIRE-A, recorded from the timeline on 3 November
    assert run["drill"] == "FIRE-A" and run["scenario"] == "fire"
    k = {x["kpi"]: x for x in rep["kpis"]}["drill_targets"]
    assert (run["met"], run["timed"]) == (k["numerator"], k["denominator"])
    assert all(v is None or v >= 0 for v in run["minutes"].values()) and run["minutes"]
    assert (
        "drill response times"
        in pm("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-07").stdout
    )
