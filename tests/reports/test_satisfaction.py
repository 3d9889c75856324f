"""Owner satisfaction (业主满意度): surveys imported from a spreadsheet, the KPI with its
coverage rule, and its line in the score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ARGS = ("--from", "2026-11-01", "--to", "2026-11-07")
# W: 72 of 80 answering satisfied, 80 % of 100 asked (no cut); X: mean scores 4.0 and 3.0
# ((0.75 + 0.5) / 2 = 62.5 % of 35 answering), 35 % of 100 asked (× 0.5); one in October.
SURVEY = (
    "2026年11月 业主满意度调查\n"
    "日期,网格,调查户数,回收户数,满意户数,保洁服务,安保服务,备注\n"
    "2026/11/03,W,100,80,72,,,\n"
    "2026年11月4日,屋面,100,35,,4.0,3.0,回收低\n"
    "2026-10-20,W,100,100,10,,,上月\n"
)


@pytest.fixture
def surveyed(pm, built, tmp_path: Path):
    f = tmp_path / "survey.csv"
    f.write_text(SURVEY, encoding="utf-8-sig")
    assert imported(pm, f) == (3, 0, 0)
    return f


def imported(pm, f: Path) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    rep = json.loads(pm("import", str(f), "--kind", "survey", "--json").stdout)
    return rep["created"], rep["updated"], rep["unchanged"]


def of(k: dict) -> tuple[float, float]:
    return k["numerator"], k["denominator"]


def test_the_satisfaction_kpi_counts_households_and_its_coverage(pm, surveyed):
    rep = json.loads(pm("report", "kpi", *ARGS, "--json").stdout)
    k = {x["kpi"]: x for x in rep["kpis"]}["satisfaction"]
    assert of(k) == (93.88, 115)  # 72 + 21.875 of 80 + 35; October's is outside
    assert k["coverage"]["numerator"] == 115 and k["coverage"]["denominator"] == 200
    # 57.5 % answered, under 70 %: × 57.5 / 70
    assert k["coverage"]["factor"] == round(0.575 / 0.7, 4)
    assert k["rate"] == round(93.875 / 115 * 0.575 / 0.7, 4)
    by_grid = {g["grid"]: g for g in rep["satisfaction"]["by_grid"]}
    assert by_grid["W"]["rate"] == 0.9 and by_grid["W"]["coverage"]["factor"] == 1
    assert by_grid["X"]["rate"] == round(0.625 * 0.5, 4)
    assert [m["month"] for m in rep["satisfaction"]["by_month"]] == ["2026-11"]
    # the trend over two months has October's survey too
    both = json.loads(
        pm("report", "kpi", "--from", "2026-10-01", "--to", "2026-11-07", "--json").stdout
    )
    trend = {m["month"]: m for m in both["satisfaction"]["by_month"]}
    assert set(trend) == {"2026-10", "2026-11"} and trend["2026-10"]["rate"] == 0.1
    table = pm("report", "kpi", *ARGS).stdout
    assert "owner satisfaction by grid" in table and "35/100 = 35%, points × 0.500" in table


def test_satisfaction_is_a_line_of_the_score_in_every_grouping(pm, surveyed):
    rep = json.loads(pm("report", "score", *ARGS, "--json").stdout)
    lines = {ln["kpi"]: ln for ln in rep["lines"]}
    sat = lines["satisfaction"]
    assert rep["dropped"] == [] and rep["scaled_from"] == 1100  # every KPI measured
    assert sat["max"] == round(100 * 1000 / 1100, 1)
    assert sat["coverage"]["factor"] < 1
    assert round(sum(ln["points"] for ln in rep["lines"]) - 70, 1) == rep["score"]
    explained = pm("report", "score", *ARGS, "--explain").stdout
    assert "satisfaction" in explained and "× coverage 115/200 ÷ 70 %" in explained
    cats = {c["category"]: c for c in rep["categories"]}
    assert "satisfaction" in cats["客户服务与满意度 Service"]["kpis"]
    for dim in ("grid", "service", "staff", "month", "week"):
        groups = json.loads(pm("report", "score", *ARGS, "--by", dim, "--json").stdout)
        for g in groups["groups"]:
            if g["score"] is not None:
                cut = sum(d["points"] for d in g["deductions"])
                earned = round(sum(ln["points"] for ln in g["lines"]), 1)
                assert g["score"] == max(0.0, round(earned - cut, 1)), (dim, g)


def test_a_survey_file_imported_twice_changes_nothing_and_exports_back(pm, surveyed, tmp_path):
    assert imported(pm, surveyed) == (0, 0, 3)
    out = tmp_path / "back.csv"
    pm("export", "survey", "-o", str(out))
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "date,grid,asked,answered,satisfied,note,保洁服务,安保服务"
    assert "2026-11-04,X,100,35,,回收低,4.0,3.0" in text
    assert imported(pm, out) == (0, 0, 3)
    # a corrected count updates the survey of that grid and day
    out.write_text(
        text.replace("2026-11-03,W,100,80,72.0", "2026-11-03,W,100,80,76"), encoding="utf-8"
    )
    assert imported(pm, out) == (0, 1, 2)


def test_a_bad_survey_file_names_every_row_and_writes_nothing(pm, built, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(
        "date,grid,asked,answered,satisfied,Q1\n"
        "2026-13-01,ZZ,10,20,,7\n"
        "01/11/2026,W,10,5,6,\n"
        "2026-11-02,W,abc,5,,\n"
        "2026-11-02,W,10,5,50%,\n"
        "2026-11-05,,10,5,,\n",
        encoding="utf-8",
    )
    r = pm("import", str(f), "--kind", "survey", "--json", ok=False)
    assert r.exit_code != 0
    found = {(p["where"].rsplit(":", 1)[-1], p["column"]) for p in json.loads(r.stderr)["problems"]}
    assert {
        ("2", "date"),
        ("2", "grid"),
        ("2", "Q1"),
        ("2", "answered"),
        ("3", "date"),
        ("3", "satisfied"),
        ("4", "asked"),
        ("4", "date"),
        ("5", "date"),
        ("6", "satisfied"),
    } <= found
    assert pm("export", "survey").stdout.strip().count("\n") == 0  # the header alone


def test_a_forged_survey_is_refused_by_the_rules_the_server_applies():
    from pm_cli.protocol.rules import problems

    def check(**fields) -> list[str]:
        return problems(
            {
                "entity": "survey",
                "record_id": "x",
                "op": "upsert",
                "fields": {"created_at": "2026-11-25T00:00:00.000Z", "day": "2026-11-25", **fields},
            },
            create=True,
        )

    assert check(asked=100, answered=80, satisfied=70.0, scores={}) == []
    assert "more than the 10 asked" in " ".join(
        check(asked=10, answered=20, satisfied=1.0, scores={})
    )
    assert "more than the 5 answering" in " ".join(
        check(asked=10, answered=5, satisfied=9.0, scores={})
    )
    assert "fields.scores.Q1: a mean score from 1 to 5" in check(
        asked=10, answered=5, scores={"Q1": 7.0}
    )
    assert "fields.asked" in " ".join(check(asked=0, answered=0, satisfied=0.0, scores={}))
    assert "fields.day: not a date" in " ".join(
        check(day="next week", asked=1, answered=1, satisfied=1.0, scores={})
    )
