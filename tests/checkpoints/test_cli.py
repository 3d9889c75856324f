"""Checkpoints: add/list/edit/remove with positions and tags, bulk import (CSV with Chinese
headers, TSPLIB coordinate files) and export."""

from __future__ import annotations

import json
from pathlib import Path

TSPLIB = Path(__file__).resolve().parents[1] / "fixtures" / "tsplib"  # copies of shared/data


def test_add_list_edit_remove(pm, site):
    pm("grid", "add", "A", "--name", "1号楼")
    pm("grid", "add", "A-LB", "--name", "大堂", "--parent", "A")
    rec = pm.json(
        "checkpoint",
        "add",
        "CP-1",
        "--name",
        "大堂入口",
        "--grid",
        "A-LB",
        "--x",
        "12.5",
        "--y",
        "3",
        "--tag-uid",
        "QR-001",
        "--tag",
        "消防",
    )
    assert rec == {
        "code": "CP-1",
        "name": "大堂入口",
        "grid": "A-LB",
        "x": 12.5,
        "y": 3.0,
        "lat": None,
        "lon": None,
        "tag_uid": "QR-001",
        "tags": ["消防"],
    }
    pm(
        "checkpoint",
        "add",
        "CP-2",
        "--name",
        "北门",
        "--grid",
        "A",
        "--lat",
        "31.3",
        "--lon",
        "120.7",
    )
    assert [r["code"] for r in pm.json("checkpoint", "list", "--grid", "A")] == ["CP-1", "CP-2"]
    assert [r["code"] for r in pm.json("checkpoint", "list", "--grid", "A-LB")] == ["CP-1"]
    r = pm("checkpoint", "add", "CP-3", "--name", "x", "--grid", "A", "--x", "1", ok=False)
    assert r.exit_code == 1 and "give both x and y" in r.stderr
    r = pm(
        "checkpoint",
        "add",
        "CP-3",
        "--name",
        "x",
        "--grid",
        "A",
        "--lat",
        "95",
        "--lon",
        "1",
        ok=False,
    )
    assert "outside -90…90" in r.stderr
    r = pm(
        "checkpoint", "add", "CP-3", "--name", "x", "--grid", "A", "--tag-uid", "QR-001", ok=False
    )
    assert "already on checkpoint CP-1" in r.stderr
    r = pm("checkpoint", "add", "CP-1", "--name", "x", "--grid", "A", ok=False)
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert pm.json("checkpoint", "edit", "CP-1", "--x", "20")["x"] == 20.0
    pm("checkpoint", "remove", "CP-2")
    r = pm("checkpoint", "show", "CP-2", ok=False)
    assert r.exit_code == 3


def test_import_csv_with_chinese_headers_and_export(pm, site, write_file, isolated):
    pm("grid", "add", "G", "--name", "园区")
    path = write_file(
        "cp.csv",
        "编码,名称,网格,X,Y,标签码,标签\nCP-1,北门,G,0,0,QR1,门岗\n"
        "CP-2,花园,,30.5,40,,绿化；保洁\n",
    )
    r = pm("import", str(path), "--kind", "checkpoints", ok=False)
    assert f"{path}:3: grid: required for a new checkpoint" in r.stderr
    pm("import", str(path), "--kind", "checkpoints", "--grid", "G")
    rows = pm.json("checkpoint", "list")
    assert [(r["code"], r["grid"], r["x"], r["tags"]) for r in rows] == [
        ("CP-1", "G", 0.0, ["门岗"]),
        ("CP-2", "G", 30.5, ["绿化", "保洁"]),
    ]
    again = json.loads(
        pm("import", str(path), "--kind", "checkpoints", "--grid", "G", "--json").stdout
    )
    assert again["unchanged"] == 2
    out = Path(str(isolated) + ".cp.json")
    pm("export", "checkpoints", "--format", "json", "-o", str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == rows


def test_import_a_tsplib_file(pm, site):
    pm("grid", "add", "B52", "--name", "柏林52点")
    r = pm(
        "import", str(TSPLIB / "berlin52.tsp"), "--kind", "checkpoints", "--grid", "B52", "--json"
    )
    assert json.loads(r.stdout)["created"] == 52
    rows = pm.json("checkpoint", "list", "--grid", "B52")
    assert rows[0]["code"] == "berlin52-01" and (rows[0]["x"], rows[0]["y"]) == (565.0, 575.0)
    again = json.loads(
        pm("import", str(TSPLIB / "berlin52.tsp"), "--kind", "checkpoints", "--json").stdout
    )  # existing checkpoints need no --grid
    assert again["unchanged"] == 52
    r = pm("import", str(TSPLIB / "eil51.tsp"), "--kind", "checkpoints", ok=False)
    assert r.exit_code == 1 and "--grid" in r.stderr
