"""What per-field merging can break, found by the server after it merges: a shared code, a
grid cycle, a grid under a deleted parent, two transitions out of one phase (sync.md §2, §4)."""

from __future__ import annotations

from tests.sync.conftest import snapshot
from tests.sync.test_sync import setup_site


def _synced(a, b) -> None:  # type: ignore[no-untyped-def]
    for lp in (a, b, a):
        lp("sync")


def _tree_codes(nodes: list[dict]) -> list[str]:  # type: ignore[type-arg]
    """Every grid the tree shows, depth first."""
    return [c for n in nodes for c in [n["code"], *_tree_codes(n["children"])]]


def test_a_shared_code_is_settled_by_renaming_one_and_leaves_both_lists(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "add", "G-12", "--name", "甲建的 made on A")
    b("grid", "add", "G-12", "--name", "乙建的 made on B")
    _synced(a, b)
    [c] = b.json("sync", "conflicts")
    assert "G-12" in c["note"] and "--rename" in c["note"]
    r = b("sync", "resolve", c["id"], "--keep", "winner", ok=False)
    assert r.exit_code != 0 and "--rename" in r.output
    r = b("sync", "resolve", c["id"], "--rename", "A", ok=False)  # taken by another grid
    assert r.exit_code != 0 and "taken" in r.output
    r = b("sync", "resolve", c["id"], "--rename", "bad code!", ok=False)
    assert r.exit_code != 0 and "--rename" in r.output
    assert b.json("sync", "resolve", c["id"], "--rename", "G-13")["resolution"] == "renamed to G-13"
    _synced(a, b)
    for lp in (a, b):
        assert lp.json("sync", "conflicts") == []
        assert {lp.json("grid", "show", code)["name"] for code in ("G-12", "G-13")} == {
            "甲建的 made on A",
            "乙建的 made on B",
        }
    assert snapshot(a) == snapshot(b)


def test_two_moves_that_make_a_grid_cycle_are_kept_reported_and_shown_at_the_top(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("grid", "add", "B", "--name", "B区 Zone B")
    a("sync")
    b("sync")
    a("grid", "edit", "A", "--parent", "B")  # each move is fine on its own laptop
    b("grid", "edit", "B", "--parent", "A")
    _synced(a, b)
    for lp in (a, b):
        [c] = lp.json("sync", "conflicts")
        assert (c["kind"], c["field"]) == ("invariant", "parent_id")
        assert "cycle" in c["note"] and "A" in c["note"] and "B" in c["note"]
        shown = _tree_codes(lp.json("grid", "tree"))  # readers cope: each grid once, no loop
        assert sorted(shown) == ["A", "A-1", "B"]
    r = a("sync", "resolve", c["id"], ok=False)
    assert r.exit_code != 0 and "--keep winner" in r.output
    a("grid", "edit", "A", "--parent", "")  # the fix: A back to the top level
    _synced(a, b)
    for lp in (a, b):
        assert lp.json("sync", "conflicts") == []  # the cycle is gone: so is the report
        assert lp.json("grid", "show", "B")["parent"] == "A"
    assert snapshot(a) == snapshot(b)


def test_a_grid_added_under_a_parent_deleted_elsewhere_is_reported_once_accepted(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "remove", "A-1")
    b("grid", "add", "A-1-1", "--name", "1单元 Unit 1", "--parent", "A-1")
    _synced(a, b)
    for lp in (a, b):
        [c] = lp.json("sync", "conflicts")
        assert c["kind"] == "invariant" and "A-1" in c["note"] and "deleted" in c["note"]
        assert "A-1-1" in _tree_codes(lp.json("grid", "tree"))
    rec = b.json("sync", "resolve", c["id"], "--keep", "winner")
    assert rec["resolution"] == "accepted"
    _synced(a, b)
    assert a.json("sync", "conflicts") == b.json("sync", "conflicts") == []
    assert snapshot(a) == snapshot(b)


def _to_check(lp) -> None:  # type: ignore[no-untyped-def]
    lp(
        "pdca",
        "edit",
        "1",
        "--root-cause",
        "读卡器老化 worn reader",
        "--preventive",
        "每季度检查 check quarterly",
    )
    lp("pdca", "advance", "1", "--to", "do", "--plan", "换读卡器 replace the reader")
    lp("pdca", "advance", "1", "--to", "check", "--note", "已更换 replaced")


def test_closing_and_sending_back_one_item_at_once_is_a_phase_race(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a(
        "pdca",
        "add",
        "北门门禁失灵 Door fails",
        "--severity",
        "major",
        "--grid",
        "A",
        "--owner",
        "S1",
    )
    _to_check(a)
    a("sync")
    b("sync")
    # a verifies the fix and closes the item; b, offline, finds it failed and sends it back
    a("pdca", "advance", "1", "--to", "act", "--result", "effective")
    a("pdca", "advance", "1", "--to", "closed", "--note", "已纳入手册 in the manual")
    b("pdca", "advance", "1", "--to", "act", "--result", "not-effective")
    b("pdca", "advance", "1", "--to", "plan", "--note", "又坏了 failed again")
    _synced(a, b)
    for lp in (a, b):
        item = lp.json("pdca", "show", "1")
        assert (item["phase"], item["cycle"]) == ("plan", 2)  # the higher (cycle, rank) wins
        [c] = lp.json("sync", "conflicts")
        assert (c["kind"], c["entity"]) == ("phase_race", "pdca")
        assert "closed" in c["note"] and "it is in plan" in c["note"]
    assert a.json("sync", "resolve", c["id"], "--keep", "winner")["resolution"] == "accepted"
    _synced(a, b)
    assert b.json("sync", "conflicts") == []
    assert snapshot(a) == snapshot(b)


def test_the_same_move_made_twice_is_no_race(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("pdca", "add", "漏水 Leak", "--severity", "minor", "--grid", "A", "--owner", "S1")
    a("sync")
    b("sync")
    a("pdca", "advance", "1", "--to", "do", "--plan", "关阀 close the valve")
    b("pdca", "advance", "1", "--to", "do", "--plan", "换管 replace the pipe")
    _synced(a, b)
    for lp in (a, b):  # the two plans are a field conflict; the two moves are one phase
        assert [(c["kind"], c["field"]) for c in lp.json("sync", "conflicts")] == [
            ("field", "plan")
        ]
        assert lp.json("pdca", "show", "1")["phase"] == "do"


def test_one_playbook_version_published_twice_is_a_version_clash_both_run_the_same(
    laptop, server, tmp_path
):
    from pathlib import Path

    from tests.sync.conftest import admin

    admin(server.database_url, "user", "add", "carol", "--sites", "CH", "--role", "manager")
    a, c = laptop("a", "alice"), laptop("c", "carol")
    setup_site(a)
    a("sync")
    c("sync")
    src = (Path(__file__).parents[1] / "fixtures" / "playbooks" / "test.gate-check.yaml").read_text(
        encoding="utf-8"
    )
    mine, theirs = tmp_path / "a.yaml", tmp_path / "c.yaml"
    mine.write_text(src, encoding="utf-8")
    theirs.write_text(
        src.replace("检查门禁 / Check the door", "检查门禁和摄像头 / Check the door and camera"),
        encoding="utf-8",
    )
    a("playbook", "import", str(mine))
    c("playbook", "import", str(theirs))
    _synced(a, c)
    c("sync")
    shas = set()
    for lp in (a, c):
        [k] = [x for x in lp.json("sync", "conflicts") if x["kind"] == "version_clash"]
        assert "test.gate-check@1" in k["note"] and "new version" in k["note"]
        shas.add(lp.json("playbook", "show", "test.gate-check@1")["sha256"])
    assert len(shas) == 1  # both laptops run the same content
    assert c.json("sync", "resolve", k["id"], "--keep", "winner")["resolution"] == "accepted"
    _synced(a, c)
    assert [x for x in a.json("sync", "conflicts") if x["kind"] == "version_clash"] == []
