"""`pm import` / `pm export` as an admin uses them, on messy real-world files."""

from __future__ import annotations

import codecs
import json
import sqlite3

import pytest

GRIDS_ZH = (
    "编码,名称,上级,责任人,风险等级,标签,责任清单\r\n"
    "A-1, 一层 ,A,S1,重要,消防；电梯,每日巡查;检查消防栓\r\n"  # child before its parent
    "A,A栋,,S2,一般,,\r\n"
    "A-1-1,大堂,A-1,,重大,lobby,\r\n"
    ",,,,,,\r\n"
    "\r\n"
)


def counts(db) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("grid", "grid_duty", "change", "staff")
        }
    finally:
        con.close()


def test_chinese_headers_bom_crlf_child_first(pm, site, write_file):
    path = write_file("grids.csv", codecs.BOM_UTF8 + GRIDS_ZH.encode())
    r = pm("import", str(path), "--kind", "grids", "--json")
    assert json.loads(r.stdout) == {
        "kind": "grids",
        "file": str(path),
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "dry_run": False,
        "rows": 3,
    }
    grids = {g["code"]: g for g in pm.json("grid", "list")}
    assert grids["A-1"] == {
        "code": "A-1",
        "name": "一层",
        "parent": "A",
        "owner": "S1",
        "risk_level": "major",
        "tags": ["消防", "电梯"],
        "responsibilities": ["每日巡查", "检查消防栓"],
    }
    assert grids["A"]["parent"] is None and grids["A"]["risk_level"] == "minor"
    assert grids["A-1-1"]["risk_level"] == "critical" and grids["A-1-1"]["owner"] is None


def test_gb18030_refused_without_encoding_then_accepted(pm, site, write_file, isolated):
    path = write_file("grids.csv", GRIDS_ZH, encoding="gb18030")
    before = counts(isolated)
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1
    assert f"{path}:1" in r.stderr and "gb18030" in r.stderr
    assert "--encoding gb18030" in r.stderr
    assert counts(isolated) == before
    pm("import", str(path), "--kind", "grids", "--encoding", "gb18030")
    assert pm.json("grid", "show", "A-1")["name"] == "一层"


def test_every_bad_row_named_and_nothing_written(pm, site, write_file, isolated):
    pm("grid", "add", "KEEP", "--name", "原有")
    before = counts(isolated)
    path = write_file(
        "bad.csv",
        (
            "code,name,parent,owner,risk_level,tags\n"
            "G1,好,,S1,minor,\n"  # row 2: fine
            "G2,,NOPE,S9,severe,\n"  # row 3: four problems
            "G3,x,G4,,,\n"  # row 4: cycle with row 5
            "G4,y,G3,,,\n"  # row 5
            "G1,again,,,,\n"  # row 6: duplicate of row 2
            "bad code,z,,,severe,\n"  # row 7: space in code, the same bad level again
        ),
    )
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1
    err = r.stderr
    assert f"{path}:3: name: a name is required" in err
    assert f"{path}:3: parent: no grid NOPE" in err
    assert f"{path}:3: owner: S9 is not staff of site CH" in err
    assert f"{path}:3: risk_level: unknown risk level 'severe'" in err
    assert f"{path}:4: parent: parent links make a cycle" in err
    assert f"{path}:5: parent: parent links make a cycle" in err
    assert f"{path}:2: code: code G1 appears more than once (2, 6)" in err
    assert f"{path}:6: code: code G1 appears more than once (2, 6)" in err
    assert f"{path}:7: code: a code cannot contain ' '" in err
    assert f"{path}:7: risk_level: unknown risk level 'severe'" in err  # each row, not once
    assert "error: 10 problems in" in err and "nothing was written" in err
    assert counts(isolated) == before


def test_reimport_changes_nothing_and_edits_only_what_changed(pm, site, write_file, isolated):
    path = write_file(
        "g.csv", "code,name,parent,owner,risk_level,tags\nA,甲,,S1,minor,x;y\nB,乙,A,S2,major,\n"
    )
    pm("import", str(path), "--kind", "grids")
    before = counts(isolated)
    r = pm("import", str(path), "--kind", "grids", "--json")
    assert json.loads(r.stdout)["unchanged"] == 2
    assert counts(isolated) == before  # not even a change-log row
    write_file(
        "g.csv", "code,name,parent,owner,risk_level,tags\nA,甲,,S1,minor,x;y\nB,乙,A,S1,major,\n"
    )
    r = pm("import", str(path), "--kind", "grids", "--json")
    assert (json.loads(r.stdout)["updated"], json.loads(r.stdout)["unchanged"]) == (1, 1)
    con = sqlite3.connect(isolated)
    last = con.execute("SELECT entity, op, fields FROM change ORDER BY local_no DESC").fetchone()
    staff_s1 = con.execute("SELECT id FROM staff WHERE code='S1'").fetchone()[0]
    assert last[0] == "grid" and last[1] == "upsert"
    assert json.loads(last[2]) == {"owner_id": staff_s1}  # only the field that changed


def test_dry_run_reports_and_writes_nothing(pm, site, write_file, isolated):
    path = write_file("g.csv", "code,name\nA,甲\nB,乙\n")
    before = counts(isolated)
    r = pm("import", str(path), "--kind", "grids", "--dry-run", "--json")
    assert json.loads(r.stdout)["created"] == 2 and json.loads(r.stdout)["dry_run"] is True
    assert counts(isolated) == before


def test_unknown_and_missing_columns(pm, site, write_file):
    path = write_file("g.csv", "code,name,ownr\nA,甲,S1\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}:1: unknown column 'ownr'" in r.stderr
    path = write_file("g2.csv", "name\n甲\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert "no code column" in r.stderr
    path = write_file("g3.csv", "code,parent\nNEW,\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert f"{path}:2: name: required for a new grid" in r.stderr


def test_semicolon_delimited_and_stray_spaces(pm, site, write_file):
    path = write_file("g.csv", " code ; name ;tags\n A ; 甲  栋 ; x \n")
    pm("import", str(path), "--kind", "grids")
    g = pm.json("grid", "show", "A")
    assert (g["name"], g["tags"]) == ("甲 栋", ["x"])


def test_json_and_yaml_positions(pm, site, write_file):
    path = write_file(
        "g.json",
        json.dumps(
            [{"code": "A", "name": "甲"}, {"code": "B", "name": "乙", "risk_level": "bad"}],
            ensure_ascii=False,
        ),
    )
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert f"{path}:#2: risk_level: unknown risk level" in r.stderr
    path = write_file("g.yaml", "- code: A\n  name: 甲\n\n- code: B\n  name: 乙\n  owner: NOBODY\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert f"{path}:4: owner: NOBODY is not staff" in r.stderr
    path = write_file("broken.yaml", "- code: A\n  name: [unclosed\n")
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and f"{path}:" in r.stderr and "invalid YAML" in r.stderr


def test_unreadable_inputs_are_clear_errors(pm, site, tmp_path, write_file):
    r = pm("import", str(tmp_path / "nope.csv"), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and "no such file" in r.stderr
    r = pm("import", str(write_file("g.xlsx", b"PK\x03\x04")), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and "not an Excel workbook" in r.stderr and "hint:" in r.stderr
    r = pm("import", str(write_file("g.xls", b"x")), "--kind", "grids", ok=False)
    assert r.exit_code == 2 and ".xlsx" in r.stderr
    r = pm("import", str(write_file("e.csv", "")), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and "empty" in r.stderr
    assert "Traceback" not in r.output


@pytest.mark.parametrize("fmt", ["csv", "json", "yaml"])
def test_export_import_export_is_byte_identical(pm, tmp_path, fmt, monkeypatch, demo_copy):
    demo = demo_copy()
    files = {}
    monkeypatch.setenv("PM_DB", str(demo))
    for kind in ("sites", "staff", "grids"):
        files[kind] = tmp_path / f"{kind}.{fmt}"
        pm("--site", "CH", "export", kind, "--format", fmt, "-o", str(files[kind]))
    if fmt == "json":
        grid_list = json.loads(pm("--site", "CH", "grid", "list", "--json").stdout)
        assert json.loads(files["grids"].read_text(encoding="utf-8")) == grid_list
    if fmt == "csv":
        assert files["grids"].read_bytes().startswith(codecs.BOM_UTF8)
    monkeypatch.setenv("PM_DB", str(tmp_path / "empty.db"))
    pm("init")
    for kind in ("sites", "staff", "grids"):
        pm("--site", "CH", "import", str(files[kind]), "--kind", kind)
        again = tmp_path / f"again-{kind}.{fmt}"
        pm("--site", "CH", "export", kind, "--format", fmt, "-o", str(again))
        assert again.read_bytes() == files[kind].read_bytes(), kind


def test_export_to_stdout_and_staff_round_trip_with_chinese_roles(pm, site, write_file):
    path = write_file("staff.csv", "工号,姓名,岗位,手机,班组\nS3,王芳,班长,13800000000,白班\n")
    pm("import", str(path), "--kind", "staff")
    r = pm("export", "staff")
    lines = r.stdout.lstrip("\ufeff").splitlines()
    assert lines[0] == "code,name,role,phone,team"
    assert "S3,王芳,lead,13800000000,白班" in lines


def test_title_rows_above_the_header_and_utf16_tab_text(pm, site, write_file):
    path = write_file(
        "g.csv", "翠湖花园网格清单,,\n导出日期 2026-11-01,,\n\n编码,名称,责任人\nA,甲,S1\n"
    )
    pm("import", str(path), "--kind", "grids")
    assert pm.json("grid", "show", "A")["owner"] == "S1"
    bad = write_file("bad.csv", "标题\n\n编码,名称,责任人\nB,乙,S9\n")
    r = pm("import", str(bad), "--kind", "grids", ok=False)
    assert f"{bad}:4: owner: S9" in r.stderr  # rows keep their spreadsheet numbers
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    path = write_file("g.txt", "code\tname\ttags\r\nC\t丙\tx；y\r\n".encode("utf-16"))
    pm("import", str(path), "--kind", "grids")
    assert pm.json("grid", "show", "C")["tags"] == ["x", "y"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_risks_and_items_round_trip(pm, tmp_path, fmt, monkeypatch, demo_copy):
    demo = demo_copy()
    monkeypatch.setenv("PM_DB", str(demo))
    kinds = ("sites", "staff", "grids", "risks", "items")
    for kind in kinds:
        pm("--site", "CH", "export", kind, "--format", fmt, "-o", str(tmp_path / f"{kind}.{fmt}"))
    monkeypatch.setenv("PM_DB", str(tmp_path / "empty.db"))
    pm("init")
    for kind in kinds:
        pm("--site", "CH", "import", str(tmp_path / f"{kind}.{fmt}"), "--kind", kind)
    again = json.loads(
        pm(
            "--site", "CH", "import", str(tmp_path / f"risks.{fmt}"), "--kind", "risks", "--json"
        ).stdout
    )
    assert again["created"] == again["updated"] == 0
    for kind in ("risks", "items"):
        out = tmp_path / f"again-{kind}.csv"
        pm("--site", "CH", "export", kind, "-o", str(out))
        first = tmp_path / f"first-{kind}.csv"
        monkeypatch.setenv("PM_DB", str(demo))
        pm("--site", "CH", "export", kind, "-o", str(first))
        monkeypatch.setenv("PM_DB", str(tmp_path / "empty.db"))
        assert out.read_bytes() == first.read_bytes(), kind


def test_risk_and_item_rows_are_checked_first(pm, site, write_file, isolated):
    before = counts(isolated)
    path = write_file("risks.csv", "编码,风险,可能性,严重度,网格\nR1,电梯困人,3,3,\nR2,,7,3,NOPE\n")
    r = pm("import", str(path), "--kind", "risks", ok=False)
    assert f"{path}:3: likelihood: must be a whole number 1–5, not '7'" in r.stderr
    assert f"{path}:3: grid: no grid NOPE at site CH" in r.stderr
    assert f"{path}:3: title: required for a new risk" in r.stderr
    path = write_file("items.csv", "no,title,severity,source\n,漏水,huge,manual\n#x,t,minor,\n")
    r = pm("import", str(path), "--kind", "items", ok=False)
    assert f"{path}:2: severity: unknown risk level 'huge'" in r.stderr
    assert f"{path}:3: no: an item number is a whole number" in r.stderr
    assert counts(isolated) == before


def test_a_responsibility_over_the_text_cap_is_refused_and_nothing_written(pm, site, write_file):
    path = write_file(
        "grids.csv", ("编码,名称,责任清单\r\nQ,区,短\r\nR,区," + "长" * 20_001 + "\r\n").encode()
    )
    r = pm("import", str(path), "--kind", "grids", ok=False)
    assert r.exit_code != 0 and "grids.csv:3: responsibilities" in r.output
    assert "nothing was written" in r.output
    assert not {"Q", "R"} & {g["code"] for g in pm.json("grid", "list")}


def test_an_imported_risk_is_owned_as_pm_risk_add_owns_it_and_an_empty_status_keeps_its_own(
    pm, site, write_file
):
    pm("grid", "add", "G", "--name", "甲栋", "--owner", "S1")
    pm("risk", "add", "R-ADD", "--title", "井盖松动", "-l", "2", "-i", "2", "--grid", "G")
    head = "code,title,likelihood,impact,grid,status\n"
    first = write_file("risks.csv", head + "R-IMP,井盖松动,2,2,G,\nR-OLD,旧风险,2,2,,closed\n")
    pm("import", str(first), "--kind", "risks")
    added, imported = pm.json("risk", "show", "R-ADD"), pm.json("risk", "show", "R-IMP")
    assert imported["owner"] == added["owner"] == "S1"  # a minor risk: its grid's owner
    assert (imported["grid"], imported["status"]) == ("G", "open")
    again = write_file("again.csv", head + "R-IMP,井盖松动,2,2,G,\nR-OLD,旧风险,2,2,,\n")
    r = pm("import", str(again), "--kind", "risks")
    assert "2 unchanged" in r.stdout + r.stderr
    assert pm.json("risk", "show", "R-OLD")["status"] == "closed"
