"""The risk register: the matrix at every cell, critical risks opening items, reviews,
the starter library and the heat maps."""

from __future__ import annotations

import json

import pytest

from pm_cli.risks.service import level
from pm_cli.sites.context import current_site

# domain.md §4, rows L5 → L1, columns I1 → I5 (L1 × I5 is major by the impact-5 override)
MATRIX = """
5 minor 10 major 15 critical 20 critical 25 critical
4 minor 8 major 12 major 16 critical 20 critical
3 minor 6 minor 9 major 12 major 15 critical
2 minor 4 minor 6 minor 8 major 10 major
1 minor 2 minor 3 minor 4 minor 5 major
"""
CELLS = [
    (6 - row, col + 1, words[2 * col], words[2 * col + 1])
    for row, line in enumerate(MATRIX.strip().splitlines(), 1)
    for words in [line.split()]
    for col in range(5)
]


@pytest.mark.parametrize("likelihood,impact,score,expected", CELLS)
def test_matrix_every_cell(likelihood, impact, score, expected):
    assert likelihood * impact == int(score)
    assert level(likelihood, impact) == expected


def test_legal_non_compliance_is_at_least_major():
    assert level(1, 1, legal=True) == "major"
    assert level(5, 5, legal=True) == "critical"


def test_add_assess_and_critical_opens_one_item(pm, site):
    pm("grid", "add", "P", "--name", "车库", "--owner", "S1")
    rec = pm.json(
        "risk",
        "add",
        "R-1",
        "--title",
        "车库进水 Garage flooding",
        "-l",
        "2",
        "-i",
        "4",
        "--grid",
        "P",
        "--controls",
        "挡水板 / flood boards",
    )
    assert (rec["level"], rec["score"], rec["owner"]) == ("major", 8, "S2")  # site manager
    assert (rec["review"], rec["review_rule"]) == (None, "FREQ=MONTHLY;INTERVAL=3")
    assert pm.json("pdca", "list") == []
    r = pm("risk", "assess", "R-1", "-l", "4", "-i", "4", "--note", "暴雨季")
    assert "critical" in r.stderr and "opened improvement item #1" in r.stderr
    r = pm("risk", "assess", "R-1", "-l", "5", "-i", "4")
    assert "item #1 is already open" in r.stderr
    items = pm.json("pdca", "list")
    assert [(i["no"], i["source"], i["severity"], i["grid"]) for i in items] == [
        (1, "risk", "critical", "P")
    ]
    shown = pm.json("risk", "show", "R-1")
    assert [h["kind"] for h in shown["history"]] == ["assess", "assess", "assess"]
    r = pm("risk", "add", "R-1", "--title", "x", "-l", "1", "-i", "1", ok=False)
    assert r.exit_code == 1 and "already exists" in r.stderr
    r = pm("risk", "add", "R-2", "--title", "x", "-l", "6", "-i", "1", ok=False)
    assert r.exit_code == 1 and "likelihood must be 1–5" in r.stderr
    r = pm(
        "risk",
        "add",
        "R-2",
        "--title",
        "x",
        "-l",
        "1",
        "-i",
        "1",
        "--review",
        "sometimes",
        ok=False,
    )
    assert r.exit_code == 1 and "RRULE" in r.stderr


@pytest.mark.clock
def test_review_schedule_and_overdue(pm, site):
    from datetime import UTC, datetime, timedelta

    from pm_cli.context import AppContext
    from pm_cli.risks import service

    pm(
        "risk",
        "add",
        "R-W",
        "--title",
        "周检 weekly",
        "-l",
        "1",
        "-i",
        "1",
        "--review",
        "weekly:mon@09:00",
    )
    pm("risk", "add", "R-Y", "--title", "年检 yearly", "-l", "1", "-i", "1")
    ctx = AppContext()
    with ctx.session() as s:
        site_row = current_site(ctx, s)
        later = datetime.now(UTC) + timedelta(days=8)
        late = [r["code"] for r in service.list_risks(s, site=site_row, overdue=True, now=later)]
    assert late == ["R-W"]
    pm("risk", "review", "R-W", "--note", "ok")
    shown = pm.json("risk", "show", "R-W")
    assert shown["last_review"] is not None
    # the next review is the first Monday 09:00 after this one: due then, not before
    due = datetime.fromisoformat(shown["next_review"].replace("Z", "+00:00"))
    assert due.weekday() == 0 and timedelta(0) < due - datetime.now(UTC) <= timedelta(days=7)
    with ctx.session() as s:
        site_row = current_site(ctx, s)
        before_due = [
            r["code"]
            for r in service.list_risks(
                s, site=site_row, overdue=True, now=due - timedelta(minutes=1)
            )
        ]
        after_due = [
            r["code"]
            for r in service.list_risks(
                s, site=site_row, overdue=True, now=due + timedelta(minutes=1)
            )
        ]
    assert before_due == [] and after_due == ["R-W"]


def test_starter_library_is_62_bilingual_risks_added_once(pm, site):
    r = pm("risk", "import-library", "--json")
    assert json.loads(r.stdout) == {"added": 62, "skipped": 0, "library": 62}
    rows = pm.json("risk", "list")
    assert len(rows) == 62
    assert all(
        any("\u4e00" <= ch <= "\u9fff" for ch in r["title"])
        and any(ch.isascii() and ch.isalpha() for ch in r["title"])
        for r in rows
    )
    assert json.loads(pm("risk", "import-library", "--json").stdout)["added"] == 0
    critical = [r["code"] for r in rows if r["level"] == "critical"]
    assert len(pm.json("pdca", "list")) == len(critical) > 0


def test_heatmaps_on_a_small_site(pm, site):
    pm("grid", "add", "A", "--name", "甲", "--owner", "S1")
    pm("grid", "add", "B", "--name", "乙", "--owner", "S1")
    pm("risk", "add", "R-1", "--title", "一", "-l", "5", "-i", "5", "--grid", "A")
    pm("risk", "add", "R-2", "--title", "二", "-l", "5", "-i", "5", "--grid", "B")
    pm("risk", "add", "R-3", "--title", "三", "-l", "1", "-i", "2", "--grid", "B")
    data = pm.json("risk", "heatmap")
    cells = {(c["likelihood"], c["impact"]): c for c in data["cells"]}
    assert len(cells) == 25 and cells[(5, 5)]["count"] == 2 and cells[(1, 2)]["risks"] == ["R-3"]
    assert cells[(5, 5)]["level"] == "critical" and cells[(1, 1)]["count"] == 0
    text = pm("risk", "heatmap").stdout
    assert "L5" in text and "I5" in text and "2" in text
    heat = pm.json("grid", "heatmap")
    assert [h["grid"] for h in heat][:2] == ["A", "B"] or [h["grid"] for h in heat][:2] == [
        "B",
        "A",
    ]
    assert {h["grid"]: h["risk"] for h in heat} == {"A": "critical", "B": "critical"}
    assert all(h["overdue_items"] == 0 for h in heat)
    assert "grid heat" in pm("grid", "heatmap").stdout
