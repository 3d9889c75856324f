import json


def test_grid_tree_json_nests_children(pm, site):
    pm("grid", "add", "A", "--name", "A栋", "--owner", "S2", "--risk", "重要")
    pm("grid", "add", "A-1", "--name", "一层", "--parent", "A", "--owner", "S1")
    tree = json.loads(pm("grid", "tree", "--json").stdout)
    assert [n["code"] for n in tree] == ["A"]
    assert tree[0]["risk_level"] == "major"
    assert [c["code"] for c in tree[0]["children"]] == ["A-1"]


def test_cycle_refused_and_nothing_changed(pm, site):
    pm("grid", "add", "A", "--name", "A")
    pm("grid", "add", "B", "--name", "B", "--parent", "A")
    r = pm("grid", "edit", "A", "--parent", "B", ok=False)
    assert r.exit_code == 1
    assert "error: grid A cannot move under B" in r.stderr
    assert pm.json("grid", "show", "A")["parent"] is None
