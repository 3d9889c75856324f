"""Every report as a file: CSV, Markdown, an Excel workbook; one format at a time."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.reports.test_kpi import kpis

ARGS = ("--from", "2026-11-01", "--to", "2026-11-07")


def test_csv_holds_the_same_figures_as_json(pm, built):
    r = pm("report", "kpi", *ARGS, "--csv")
    assert r.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff"))))
    site = kpis(pm)
    assert {row["kpi"]: (row["numerator"], row["denominator"]) for row in rows} == {
        k: (str(v["numerator"]), str(v["denominator"])) for k, v in site.items()
    }
    score = json.loads(pm("report", "score", *ARGS, "--json").stdout)
    rows = list(
        csv.DictReader(io.StringIO(pm("report", "score", *ARGS, "--csv").stdout.lstrip("\ufeff")))
    )
    assert rows[-1]["kpi"] == "score" and float(rows[-1]["points"]) == score["score"]
    assert [float(r["points"]) for r in rows if r["kpi"] == "deduction"] == [-50, -20]
    assert round(sum(float(r["points"]) for r in rows[:-1]), 1) == score["score"]


def test_markdown_and_excel(pm, built, tmp_path: Path):
    md = pm("report", "score", *ARGS, "--by", "grid", "--md").stdout
    lines = md.splitlines()
    assert lines[0] == "## score CH" and lines[2].startswith("| grid | score | band |")
    assert any(line.startswith("| W |") for line in lines)
    out = tmp_path / "kpi.xlsx"
    r = pm("report", "kpi", *ARGS, "--by", "grid", "--xlsx", "-o", str(out))
    assert "wrote" in r.stderr
    from openpyxl import load_workbook

    ws = load_workbook(out).active
    values = list(ws.values)
    assert values[0][:3] == ("grid", "kpi", "label")
    w_steps = [v for v in values[1:] if v[0] == "W" and v[1] == "steps_passed"]
    assert w_steps and (w_steps[0][3], w_steps[0][4]) == (7, 9)  # numbers, not text


def test_formats_are_one_at_a_time_and_excel_needs_a_file(pm, site):
    r = pm("report", "kpi", "--csv", "--md", ok=False)
    assert r.exit_code == 2 and "give one format" in r.stderr
    r = pm("report", "score", "--xlsx", ok=False)
    assert r.exit_code == 2 and "-o FILE.xlsx" in r.stderr
    r = pm("report", "score", "-o", "x.csv", ok=False)
    assert r.exit_code == 2 and "--csv, --md, --xlsx or --html" in r.stderr
    r = pm("report", "score", "--csv")  # an empty site: a table saying so, not an error
    assert r.stdout.splitlines()[-1].lstrip("\ufeff").startswith("score,no score")
