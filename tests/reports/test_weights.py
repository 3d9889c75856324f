"""A company's own weights (`pm report score --weights FILE`), checked like a playbook."""

from __future__ import annotations

import json
from pathlib import Path

ARGS = ("--from", "2026-11-01", "--to", "2026-11-07", "--json")


def test_a_weights_file_changes_points_deductions_bands_and_categories(pm, built, tmp_path: Path):
    default = json.loads(pm("report", "score", *ARGS).stdout)
    f = tmp_path / "公司权重.yaml"
    f.write_text(
        "points:\n  inspections: 400\n  complaints: 0\n"
        "deductions: {overdue_critical: 10, uncontrolled_risk: 0}\n"
        "bands: {excellent: 600, good: 500, pass: 400}\n"
        "categories: {risk_reviews: 风险管理 Risk}\n",
        encoding="utf-8",
    )
    rep = json.loads(pm("report", "score", *ARGS, "--weights", str(f)).stdout)
    assert rep["weights"] == str(f) and default["weights"] == "default"
    lines = {ln["kpi"]: ln for ln in rep["lines"]}
    assert "complaints" not in lines and "complaints" in {ln["kpi"] for ln in default["lines"]}
    assert lines["inspections"]["weight"] == 400
    assert rep["scaled_from"] == 1000 + 200 - 50  # 400 for 200, complaints' 50 gone
    assert [d["points"] for d in rep["deductions"]] == [10]  # the risk's cut is 0: none
    earned = round(sum(ln["points"] for ln in rep["lines"]), 1)
    assert rep["score"] == round(earned - 10, 1)
    assert {c["category"] for c in rep["categories"]} >= {"风险管理 Risk"}
    floors = {"优秀 excellent": 600, "良好 good": 500, "合格 pass": 400, "不合格 fail": 0}
    assert rep["score"] >= floors[rep["band"]]
    groups = json.loads(pm("report", "score", *ARGS, "--by", "grid", "--weights", str(f)).stdout)[
        "groups"
    ]
    assert all("complaints" not in {ln["kpi"] for ln in g["lines"]} for g in groups)


def test_a_bad_weights_file_names_each_problem_at_its_line(pm, built, tmp_path: Path):
    f = tmp_path / "w.yaml"
    f.write_text(
        "points:\n  inspections: -5\n  gizmo: 10\n"
        "deductions:\n  overdue: 3\n"
        "bands: {excellent: 700, good: 800, pass: 600}\n",
        encoding="utf-8",
    )
    r = pm("report", "score", "--weights", str(f), ok=False)
    assert r.exit_code == 1
    for where, text in (
        (":2:16:", "must be ≥ 0"),
        (":3:", "gizmo"),
        (":5:3:", "unknown key 'overdue'"),
        (":6:", "bands go down"),
    ):
        assert any(where in line and text in line for line in r.stderr.splitlines()), (
            where,
            r.stderr,
        )
    assert "no score was counted" in r.stderr
    f.write_text(
        "points: {inspections: 0, on_time: 0, steps_passed: 0, response_sla: 0, "
        "resolution_sla: 0, closed: 0, drills_on_schedule: 0, drill_targets: 0, "
        "risk_reviews: 0, complaints: 0, satisfaction: 0}\n",
        encoding="utf-8",
    )
    r = pm("report", "score", "--weights", str(f), ok=False)
    assert "nothing would be scored" in r.stderr
    r = pm("report", "score", "--weights", str(tmp_path / "missing.yaml"), ok=False)
    assert r.exit_code == 1 and "no such file" in r.stderr
    f.write_bytes("points: {inspections: 2}\n# 权重\n".encode("gb18030"))
    r = pm("report", "score", "--weights", str(f), ok=False)
    assert "not UTF-8" in r.stderr
