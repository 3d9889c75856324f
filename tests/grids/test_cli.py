"""pm grid …: the hierarchy, owners, risk levels, tags and duties, and every refusal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

GRID_KEYS = ["code", "name", "parent", "owner", "risk_level", "tags", "responsibilities"]
SHOW_KEYS = {*GRID_KEYS, "children", "owner_name"}


def change_count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM change").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def branch(pm, site):
    """A栋 > A-1F > A-1F-01, and a separate B栋."""
    pm("grid", "add", "A", "--name", "A栋", "--owner", "S2", "--risk", "重要")
    pm(
        "grid",
        "add",
        "A-1F",
        "--name",
        "一层",
        "--parent",
        "A",
        "--owner",
        "S1",
        "--duty",
        "每日巡查消防通道",
    )
    pm("grid", "add", "A-1F-01", "--name", "配电间", "--parent", "A-1F", "--risk", "critical")
    pm("grid", "add", "B", "--name", "B栋")
    return site


def test_add_list_show_shapes_and_chinese_round_trip(pm, site):
    added = pm.json(
        "grid",
        "add",
        "B栋-1F",
        "--name",
        "B栋 一层 [大堂]",
        "--owner",
        "S1",
        "--risk",
        "重大",
        "--tag",
        "消防",
        "--tag",
        "电梯",
        "--tag",
        "消防",
        "--duty",
        "每日巡查消防通道",
        "--duty",
        "检查灭火器压力",
    )
    expected = {
        "code": "B栋-1F",
        "name": "B栋 一层 [大堂]",
        "parent": None,
        "owner": "S1",
        "risk_level": "critical",
        "tags": ["消防", "电梯"],
        "responsibilities": ["每日巡查消防通道", "检查灭火器压力"],
    }
    assert added == expected
    rows = pm.json("grid", "list")
    assert isinstance(rows, list) and rows == [expected]
    assert list(rows[0]) == GRID_KEYS
    shown = pm.json("grid", "show", "B栋-1F")
    assert set(shown) == SHOW_KEYS
    assert {k: shown[k] for k in GRID_KEYS} == expected
    assert shown["children"] == [] and shown["owner_name"] == "张伟"
    r = pm("grid", "list")
    assert "[大堂]" in r.stdout and "B栋-1F" in r.stdout


def test_a_grid_without_owner_or_tags_has_nulls_and_empty_lists(pm, site):
    rec = pm.json("grid", "add", "G", "--name", "绿地")
    assert rec == {
        "code": "G",
        "name": "绿地",
        "parent": None,
        "owner": None,
        "risk_level": "minor",
        "tags": [],
        "responsibilities": [],
    }
    shown = pm.json("grid", "show", "G")
    assert shown["owner_name"] is None and shown["children"] == []


def test_show_lists_children_and_parent(pm, branch):
    a = pm.json("grid", "show", "A")
    assert a["children"] == ["A-1F"] and a["owner_name"] == "李娜" and a["risk_level"] == "major"
    f1 = pm.json("grid", "show", "A-1F")
    assert f1["parent"] == "A" and f1["children"] == ["A-1F-01"]
    assert f1["responsibilities"] == ["每日巡查消防通道"]


def test_list_filters(pm, branch):
    def codes(*args):
        return [g["code"] for g in pm.json("grid", "list", *args)]

    assert codes() == ["A", "A-1F", "A-1F-01", "B"]
    assert codes("--parent", "A") == ["A-1F"]
    assert codes("--owner", "S1") == ["A-1F"]
    assert codes("--risk", "重大") == ["A-1F-01"]
    assert codes("--risk", "minor") == ["A-1F", "B"]
    pm("grid", "edit", "B", "--tag", "绿化")
    assert codes("--tag", "绿化") == ["B"]
    r = pm("grid", "list", "--parent", "NOPE", ok=False)
    assert r.exit_code == 3 and "error: no grid NOPE" in r.stderr
    r = pm("grid", "list", "--risk", "huge", ok=False)
    assert r.exit_code == 1 and "minor|major|critical" in r.stderr


def test_tree_json_nests_children(pm, branch):
    tree = json.loads(pm("grid", "tree", "--json").stdout)
    assert [n["code"] for n in tree] == ["A", "B"]
    assert tree[0]["risk_level"] == "major" and tree[0]["owner_name"] == "李娜"
    assert [c["code"] for c in tree[0]["children"]] == ["A-1F"]
    assert [c["code"] for c in tree[0]["children"][0]["children"]] == ["A-1F-01"]
    sub = pm.json("grid", "tree", "A-1F")
    assert [n["code"] for n in sub] == ["A-1F"]
    r = pm("grid", "tree")
    assert "A-1F-01" in r.stdout and "配电间" in r.stdout


def test_duplicate_code_refused_in_a_site_allowed_in_another(pm, branch):
    before = pm.json("grid", "list")
    r = pm("grid", "add", "A", "--name", "另一个A", ok=False)
    assert r.exit_code == 1
    assert "error: grid A already exists at CH" in r.stderr
    assert pm.json("grid", "list") == before
    pm("site", "add", "BJ", "--name", "北京")
    rec = pm.json("--site", "BJ", "grid", "add", "A", "--name", "北京A栋")
    assert rec["name"] == "北京A栋"
    assert pm.json("grid", "show", "A")["name"] == "A栋"
    assert [g["code"] for g in pm.json("--site", "BJ", "grid", "list")] == ["A"]


def test_rename_to_an_existing_code_refused(pm, branch):
    r = pm("grid", "edit", "B", "--code", "A", ok=False)
    assert r.exit_code == 1 and "error: grid A already exists at CH" in r.stderr
    assert pm.json("grid", "show", "B")["name"] == "B栋"


def test_rename_keeps_the_children_attached(pm, branch):
    pm("grid", "edit", "A", "--code", "A栋")
    assert pm.json("grid", "show", "A-1F")["parent"] == "A栋"
    assert pm.json("grid", "show", "A栋")["children"] == ["A-1F"]


def test_parent_in_another_site_refused(pm, branch):
    pm("site", "add", "BJ", "--name", "北京")
    pm("--site", "BJ", "grid", "add", "X", "--name", "北京X")
    r = pm("grid", "add", "C", "--name", "C栋", "--parent", "X", ok=False)
    assert r.exit_code == 1
    assert "error: parent X is a grid of another site, not of CH (--parent)" in r.stderr
    r = pm("grid", "edit", "B", "--parent", "X", ok=False)
    assert r.exit_code == 1 and "another site" in r.stderr
    assert [g["code"] for g in pm.json("grid", "list")] == ["A", "A-1F", "A-1F-01", "B"]
    assert pm.json("grid", "show", "B")["parent"] is None


def test_unknown_parent_refused(pm, site):
    r = pm("grid", "add", "C", "--name", "C栋", "--parent", "NOPE", ok=False)
    assert r.exit_code == 1
    assert "error: no parent grid NOPE at CH (--parent)" in r.stderr and "hint: " in r.stderr
    assert pm.json("grid", "list") == []


def test_cycle_refused_and_nothing_changed(pm, branch):
    before = pm.json("grid", "list")
    r = pm("grid", "edit", "A", "--parent", "A-1F-01", ok=False)
    assert r.exit_code == 1
    assert "error: grid A cannot move under A-1F-01" in r.stderr
    assert "A → A-1F → A-1F-01 → A" in r.stderr
    assert "hint: " in r.stderr
    r = pm("grid", "edit", "A-1F", "--parent", "A-1F", ok=False)
    assert r.exit_code == 1 and "cannot move under A-1F" in r.stderr
    # a refused edit changes none of the other fields given with it
    r = pm("grid", "edit", "A", "--name", "新名字", "--parent", "A-1F", ok=False)
    assert r.exit_code == 1
    assert pm.json("grid", "list") == before


def test_move_within_and_to_top(pm, branch):
    rec = pm.json("grid", "edit", "A-1F-01", "--parent", "B")
    assert rec["parent"] == "B"
    assert pm.json("grid", "show", "A-1F")["children"] == []
    rec = pm.json("grid", "edit", "A-1F", "--parent", "")
    assert rec["parent"] is None
    # B is no descendant of A, so A may now go under B's child
    assert pm.json("grid", "edit", "A", "--parent", "A-1F-01")["parent"] == "A-1F-01"


def test_remove_with_children_needs_recursive(pm, branch):
    before = pm.json("grid", "list")
    r = pm("grid", "remove", "A", ok=False)
    assert r.exit_code == 1
    assert "error: grid A still has 1 child grid(s): A-1F" in r.stderr
    assert "--recursive" in r.stderr
    assert pm.json("grid", "list") == before
    out = pm.json("grid", "remove", "A", "--recursive")
    assert sorted(out["removed"]) == ["A", "A-1F", "A-1F-01"]
    assert [g["code"] for g in pm.json("grid", "list")] == ["B"]
    for code in ("A", "A-1F", "A-1F-01"):
        assert pm("grid", "show", code, ok=False).exit_code == 3
    # the removed owner's grids no longer block removing the owner
    pm("staff", "remove", "S1")
    # and the codes may be used again
    assert pm.json("grid", "add", "A-1F", "--name", "新一层")["responsibilities"] == []


def test_remove_a_leaf(pm, branch):
    assert pm.json("grid", "remove", "B") == {"removed": ["B"]}
    assert [g["code"] for g in pm.json("grid", "list")] == ["A", "A-1F", "A-1F-01"]


def test_owner_must_be_staff_of_the_site(pm, branch):
    pm("site", "add", "BJ", "--name", "北京")
    pm("--site", "BJ", "staff", "add", "B1", "--name", "北京人", "--role", "lead")
    before = pm.json("grid", "list")
    for args in (
        ("grid", "add", "C", "--name", "C栋", "--owner", "B1"),
        ("grid", "edit", "B", "--owner", "B1"),
        ("grid", "assign", "B", "B1"),
        ("grid", "add", "D", "--name", "D栋", "--owner", "NOBODY"),
    ):
        r = pm(*args, ok=False)
        assert r.exit_code == 1, args
        assert "is not staff of site CH (--owner)" in r.stderr
        assert "hint: " in r.stderr and "pm staff add" in r.stderr
    assert pm.json("grid", "list") == before


def test_assign_and_clear_owner(pm, branch):
    rec = pm.json("grid", "assign", "B", "S1")
    assert rec["owner"] == "S1"
    assert pm.json("grid", "show", "B")["owner_name"] == "张伟"
    assert pm.json("grid", "edit", "B", "--owner", "")["owner"] is None


UNKNOWN_GRID_COMMANDS = [
    ("grid", "show", "NOPE"),
    ("grid", "edit", "NOPE", "--name", "x"),
    ("grid", "remove", "NOPE"),
    ("grid", "assign", "NOPE", "S1"),
    ("grid", "tree", "NOPE"),
    ("grid", "duty", "add", "NOPE", "巡查"),
    ("grid", "duty", "list", "NOPE"),
    ("grid", "duty", "remove", "NOPE", "1"),
]


def test_unknown_grid_is_not_found(pm, branch):
    before = pm.json("grid", "list")
    for args in UNKNOWN_GRID_COMMANDS:
        r = pm(*args, ok=False)
        assert r.exit_code == 3, args
        assert "error: no grid NOPE (CH)" in r.stderr, args
        assert "hint: " in r.stderr and "pm grid list" in r.stderr, args
    assert pm.json("grid", "list") == before


def test_bad_risk_level_refused_naming_the_valid_ones(pm, branch):
    before = pm.json("grid", "list")
    for risk in ("huge", "4", "严重"):
        r = pm("grid", "add", "C", "--name", "C栋", "--risk", risk, ok=False)
        assert r.exit_code == 1, risk
        assert "error: unknown risk level" in r.stderr
        assert "minor|major|critical" in r.stderr and "(--risk)" in r.stderr
        r = pm("grid", "edit", "B", "--risk", risk, ok=False)
        assert r.exit_code == 1 and "minor|major|critical" in r.stderr, risk
    assert pm.json("grid", "list") == before


def test_risk_aliases(pm, site):
    aliases = {
        "一般": "minor",
        "重要": "major",
        "重大": "critical",
        "HIGH": "critical",
        "中": "major",
    }
    for i, (alias, level) in enumerate(aliases.items()):
        rec = pm.json("grid", "add", f"G{i}", "--name", "G", "--risk", alias)
        assert rec["risk_level"] == level, alias


def test_edit_tags(pm, branch):
    rec = pm.json("grid", "edit", "B", "--tags", "消防；电梯; 绿化")
    assert rec["tags"] == ["消防", "电梯", "绿化"]
    rec = pm.json("grid", "edit", "B", "--tag", "安防", "--untag", "电梯")
    assert rec["tags"] == ["消防", "绿化", "安防"]
    rec = pm.json("grid", "edit", "B", "--tags", "")
    assert rec["tags"] == []


def test_edit_with_identical_values_records_no_change(pm, branch, isolated):
    n = change_count(isolated)
    pm("grid", "edit", "A", "--name", "A栋", "--risk", "major", "--owner", "S2", "--parent", "")
    assert change_count(isolated) == n
    pm("grid", "edit", "A", "--name", "A座")
    assert change_count(isolated) == n + 1


def test_duties(pm, branch):
    pm("grid", "duty", "add", "B", "检查灭火器压力")
    pm("grid", "duty", "add", "B", "巡查   消防通道")
    rows = pm.json("grid", "duty", "list", "B")
    assert rows == [{"no": 1, "text": "检查灭火器压力"}, {"no": 2, "text": "巡查 消防通道"}]
    r = pm("grid", "duty", "add", "B", "检查灭火器压力", ok=False)
    assert r.exit_code == 1 and "already has that duty" in r.stderr
    r = pm("grid", "duty", "remove", "B", "3", ok=False)
    assert r.exit_code == 1 and "there is no number 3" in r.stderr
    assert pm.json("grid", "duty", "remove", "B", "1")["text"] == "检查灭火器压力"
    assert pm.json("grid", "show", "B")["responsibilities"] == ["巡查 消防通道"]
    pm("grid", "duty", "add", "B", "检查灭火器压力")
    assert pm.json("grid", "show", "B")["responsibilities"] == ["巡查 消防通道", "检查灭火器压力"]


def test_bad_grid_code_refused(pm, site):
    for code in ("A B", "A;B", "A，B", "A/B"):
        r = pm("grid", "add", code, "--name", "x", ok=False)
        assert r.exit_code == 1 and "error: a code cannot contain" in r.stderr, code
    assert pm.json("grid", "list") == []
