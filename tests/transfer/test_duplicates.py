"""A key twice in one file (a code, an item number, a survey's grid and day) is a problem on
every row that has it, each naming them all, for every kind `pm import` reads; nothing is
written."""

from __future__ import annotations

import json
import sqlite3

import pytest

TABLES = ("site", "staff", "grid", "grid_duty", "checkpoint", "risk", "pdca", "survey", "change")


def counts(db) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


# kind, file text, the key's column, the message on each repeated row, those rows
CASES = [
    (
        "sites",
        "code,name\nN1,甲\nN2,乙\nN1,丙\n",
        "code",
        "code N1 appears more than once (2, 4)",
        ("2", "4"),
    ),
    (
        "staff",
        "工号,姓名,岗位\nT1,王芳,班长\nT1,李强,tech\n",
        "code",
        "code T1 appears more than once (2, 3)",
        ("2", "3"),
    ),
    (
        "grids",
        "code,name\nA,甲\nA,乙\nB,丙\n",
        "code",
        "code A appears more than once (2, 3)",
        ("2", "3"),
    ),
    (
        "checkpoints",
        "code,name,grid\nCP-1,北门,G\nCP-2,南门,G\nCP-1,东门,G\n",
        "code",
        "code CP-1 appears more than once (2, 4)",
        ("2", "4"),
    ),
    (
        "risks",
        "编码,风险,可能性,严重度\nR1,电梯困人,3,3\nR1,漏水,2,2\n",
        "code",
        "code R1 appears more than once (2, 3)",
        ("2", "3"),
    ),
    (
        "items",
        "no,title,severity\n7,漏水,minor\n,新问题,major\n#7,渗水,minor\n",
        "no",
        "item #7 appears more than once (2, 4)",
        ("2", "4"),
    ),
    (
        "survey",
        "date,grid,asked,answered,satisfied\n2026-11-02,G,10,5,4\n"
        "2026年11月2日,园区,10,6,5\n2026-11-03,G,10,5,4\n",
        "date",
        "a survey of G on 2026-11-02 appears more than once (2, 3)",
        ("2", "3"),
    ),
]


@pytest.mark.parametrize(
    ("kind", "text", "column", "message", "rows"), CASES, ids=[c[0] for c in CASES]
)
def test_a_key_twice_is_a_problem_on_both_rows(
    pm, site, write_file, isolated, kind, text, column, message, rows
):
    pm("grid", "add", "G", "--name", "园区")
    before = counts(isolated)
    path = write_file(f"{kind}.csv", text)
    for dry_run in ((), ("--dry-run",)):
        r = pm("import", str(path), "--kind", kind, *dry_run, "--json", ok=False)
        assert r.exit_code == 1
        problems = json.loads(r.stderr)["problems"]
        assert problems == [
            {"where": f"{path}:{n}", "column": column, "message": message} for n in rows
        ]
        r = pm("import", str(path), "--kind", kind, *dry_run, ok=False)
        for n in rows:
            assert f"{path}:{n}: {column}: {message}" in r.stderr
        assert "error: 2 problems in" in r.stderr and "nothing was written" in r.stderr
    assert counts(isolated) == before


def test_three_times_names_every_row_and_other_problems_stay(pm, site, write_file, isolated):
    before = counts(isolated)
    path = write_file(
        "risks.csv",
        "code,title,likelihood,impact\nR1,甲,3,3\nR2,乙,9,3\nR1,丙,2,2\nR3,丁,1,1\nR1,戊,1,1\n",
    )
    r = pm("import", str(path), "--kind", "risks", ok=False)
    for n in (2, 4, 6):
        assert f"{path}:{n}: code: code R1 appears more than once (2, 4, 6)" in r.stderr
    assert f"{path}:3: likelihood: must be a whole number 1–5, not '9'" in r.stderr
    assert f"{path}:3: likelihood: required for a new risk" in r.stderr
    assert "error: 5 problems in" in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(str(path))]
    assert [ln.split(":")[1] for ln in lines] == ["2", "3", "3", "4", "6"]  # in row order
    assert counts(isolated) == before


def test_json_records_and_codes_already_stored(pm, site, write_file, isolated):
    pm("grid", "add", "G", "--name", "园区")
    pm("checkpoint", "add", "CP-1", "--name", "北门", "--grid", "G")
    before = counts(isolated)
    path = write_file(
        "cp.json",
        json.dumps(
            [
                {"code": "CP-1", "name": "北门"},
                {"code": "CP-9", "name": "新", "grid": "G"},
                {"code": "CP-1", "name": "改名"},
            ],
            ensure_ascii=False,
        ),
    )
    r = pm("import", str(path), "--kind", "checkpoints", ok=False)
    for n in (1, 3):
        assert f"{path}:#{n}: code: code CP-1 appears more than once (#1, #3)" in r.stderr
    assert "error: 2 problems in" in r.stderr
    assert counts(isolated) == before
