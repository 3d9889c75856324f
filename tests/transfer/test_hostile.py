"""Hostile and sloppy files: refused fast, with the position, nothing written (points 13–14)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.transfer.test_import import counts

# ---- 13. spreadsheet safety ------------------------------------------------------------


def test_csv_export_neutralises_formulas_and_round_trips(pm, site, tmp_path, write_file):
    pm("grid", "add", "G1", "--name", '=HYPERLINK("http://x")')
    pm("grid", "add", "G2", "--name", "'=already quoted")
    pm("grid", "add", "G3", "--name", "@SUM(A1)", "--tag", "-x", "--tag", "+y")
    pm("checkpoint", "add", "P1", "--name", "门", "--grid", "G1", "--x", "-3.5", "--y", "2")
    first = tmp_path / "a.csv"
    pm("export", "grids", "-o", str(first))
    text = first.read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "''=already quoted" in text and "'@SUM(A1)" in text
    assert "'-x; +y" in text
    cps = tmp_path / "cp.csv"
    pm("export", "checkpoints", "-o", str(cps))
    assert ",-3.5," in cps.read_text(encoding="utf-8-sig")  # numbers stay numbers
    pm("import", str(first), "--kind", "grids")
    assert pm.json("grid", "show", "G1")["name"] == '=HYPERLINK("http://x")'
    assert pm.json("grid", "show", "G2")["name"] == "'=already quoted"
    assert pm.json("grid", "show", "G3")["tags"] == ["-x", "+y"]
    second = tmp_path / "b.csv"
    pm("export", "grids", "-o", str(second))
    assert second.read_bytes() == first.read_bytes()


@pytest.mark.parametrize(
    "bad", ["a\x1b[31mb", "a\x00b", "a\u202eb", "a\u200bb", "a\ufeffb", "a\u2066b", "a\x07b"]
)
def test_names_and_codes_refuse_invisible_characters(pm, site, write_file, isolated, bad):
    r = pm("grid", "add", "G1", "--name", bad, ok=False)
    assert r.exit_code == 1 and "U+" in r.stderr
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    r = pm("grid", "add", bad.replace("a", "C"), "--name", "ok", ok=False)
    assert r.exit_code == 1
    before = counts(isolated)
    path = write_file("g.csv", f"code,name\nA,fine\nB,{bad}\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    if "\x00" in bad:  # a NUL byte makes it a binary file, named at its line
        assert (
            r.exit_code == 1
            and f"binary file, not text (it holds NUL bytes) ({path}:3)" in r.stderr
        )
    else:
        assert r.exit_code == 1 and f"{path}:3: name: contains" in r.stderr
    assert counts(isolated) == before


def test_the_server_field_rules_refuse_them_too():
    from pm_cli import schema  # noqa: F401  (every model registered)
    from pm_cli.grids.models import Grid
    from pm_cli.pdca.models import Pdca
    from pm_cli.store.fields import fields_of

    assert [f for f, _ in fields_of(Grid).problems({"name": "x\u202ey", "code": "A\u200b"})] == [
        "name",
        "code",
    ]
    assert [f for f, _ in fields_of(Pdca).problems({"title": "\x1b[2J"})] == ["title"]
    assert fields_of(Grid).problems({"name": "大堂 Lobby"}) == []


def test_stored_escapes_are_printed_escaped(pm, site, isolated):
    pm("grid", "add", "G1", "--name", "old")
    con = sqlite3.connect(isolated)  # as a pull from an older laptop might have stored it
    con.execute("UPDATE grid SET name = ? WHERE code = 'G1'", ("x\x1b[2J\u202ey",))
    con.commit()
    con.close()
    for args in (("grid", "list"), ("grid", "show", "G1")):
        out = pm(*args).stdout
        assert "\x1b" not in out and "\u202e" not in out
        assert "x\\x1b[2J\\u202ey" in out
    assert pm.json("grid", "show", "G1")["name"] == "x\x1b[2J\u202ey"  # JSON stays exact


# ---- 14. parsers with limits -----------------------------------------------------------


def test_unterminated_quote_is_refused_at_the_row_it_opened(pm, site, write_file, isolated):
    rows = [f"G{i},名{i}" for i in range(2, 13)]
    rows[2] = 'G4,"名4'  # spreadsheet row 4
    path = write_file("g.csv", "code,name\n" + "\n".join(rows) + "\n")
    before = counts(isolated)
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}:4:" in r.stderr and "never closed" in r.stderr
    assert counts(isolated) == before
    # a stray quote closed rows later swallows the rows between: refused as well
    rows[6] = 'G8,名8"'
    path = write_file("h.csv", "code,name\n" + "\n".join(rows[:7]) + "\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}:4:" in r.stderr
    # a quoted cell on two lines (Alt+Enter in Excel) is still fine
    path = write_file("ok.csv", 'code,name\nA,"一层\n大堂"\n')
    pm("import", str(path), "--kind", "grids")


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_files_with_commas_in_names(pm, site, write_file, sep):
    path = write_file(
        "g.csv",
        sep.join(["code", "name", "tags"])
        + "\n"
        + sep.join(["A", "Lobby, east wing", "x"])
        + "\n"
        + sep.join(["B", "Gate", "y"])
        + "\n",
    )
    pm("import", str(path), "--kind", "grids")
    assert pm.json("grid", "show", "A")["name"] == "Lobby, east wing"


def test_a_million_tags_in_one_cell_is_refused(pm, site, write_file, isolated):
    tags = [f"t{i}" for i in range(1_000_000)]
    path = write_file("g.json", json.dumps([{"code": "A", "name": "甲", "tags": tags}]))
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}:#1: tags: at most 1,000 items" in r.stderr
    path = write_file("g.csv", "code,name,tags\nA,甲," + ";".join(tags[:100_000]) + "\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}:2:" in r.stderr


def test_huge_item_number_is_refused(pm, site, write_file):
    path = write_file("i.csv", f"no,title,severity\n{2**63 - 1},漏水,minor\n")
    r = pm("import", str(path), "--kind", "items", ok=False)
    assert r.exit_code == 1 and f"{path}:2: no:" in r.stderr
    pm("pdca", "add", "next one", "--severity", "minor")  # numbering unharmed


BOMB = """\
- code: A
  name: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  tags: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  responsibilities: [*b,*b,*b,*b,*b,*b,*b,*b,*b]
"""


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        (BOMB, ":3:13", "aliases"),
        ("- code: A\n  name: " + "[" * 10_000 + "]" * 10_000 + "\n", ":2:", "nested"),
        ("- code: A\n  name: x\n  code: B\n", ":3:3", "repeats line 1"),
        ("- code: A\n  name: " + "9" * 5000 + "\n", ":2:9", "too large"),
        ("- code: A\n  name: .nan\n", ":2:9", "finite"),
    ],
)
def test_hostile_yaml_rows(pm, site, write_file, text, where, why):
    path = write_file("g.yaml", text)
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}{where}" in r.stderr and why in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ('[{"code": "A", "name": "x", "code": "B"}]', ":#1", "'code' appears twice"),
        ("[" * 100_000 + "]" * 100_000, ":1:65", "nested"),
        ('[{"code": "A",\n "name": ' + "9" * 5000 + "}]", ":2:10", "too large"),
        ('[{"code": "A", "name": NaN}]', ":1:24", "NaN"),
    ],
)
def test_hostile_json_rows(pm, site, write_file, text, where, why):
    path = write_file("g.json", text)
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}{where}" in r.stderr and why in r.stderr, r.stderr


def test_playbook_with_a_nan_range_is_refused(pm, site, write_file):
    path = write_file(
        "p.yaml",
        """\
id: test.nan
version: 1
title: T
service: cleaning
steps:
  - id: cl
    title: chlorine
    kind: reading
    unit: mg/L
    range: {min: .nan, max: 2}
    severity: major
""",
    )
    r = pm("playbook", "import", str(path), ok=False)
    assert r.exit_code == 1 and f"{path}:10:18" in r.stderr and "finite" in r.stderr, r.stderr
