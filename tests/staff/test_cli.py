"""pm staff …: add, list, show, edit, remove, use — per site, with Chinese names and roles."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

STAFF_KEYS = ["code", "name", "role", "phone", "team"]


def test_site_fixture_staff_listed_in_code_order(pm, site):
    rows = pm.json("staff", "list")
    assert [list(r) for r in rows] == [STAFF_KEYS, STAFF_KEYS]
    assert rows == [
        {"code": "S1", "name": "张伟", "role": "lead", "phone": None, "team": None},
        {"code": "S2", "name": "李娜", "role": "manager", "phone": None, "team": None},
    ]


def test_add_show_round_trip_with_chinese_role_alias(pm, site):
    added = pm.json(
        "staff",
        "add",
        "王-03",
        "--name",
        "王  小明",
        "--role",
        "维修工",
        "--phone",
        "138 0000 0000",
        "--team",
        "夜班 [B组]",
    )
    assert added == {
        "code": "王-03",
        "name": "王 小明",
        "role": "tech",
        "phone": "138 0000 0000",
        "team": "夜班 [B组]",
    }
    assert pm.json("staff", "show", "王-03") == added
    r = pm("staff", "list")
    assert "王 小明" in r.stdout and "[B组]" in r.stdout


def test_list_filters_by_role(pm, site):
    pm("staff", "add", "S3", "--name", "赵六", "--role", "班长")
    assert [s["code"] for s in pm.json("staff", "list", "--role", "lead")] == ["S1", "S3"]
    assert [s["code"] for s in pm.json("staff", "list", "--role", "经理")] == ["S2"]
    assert pm.json("staff", "list", "--role", "admin") == []
    r = pm("staff", "list", "--role", "boss", ok=False)
    assert r.exit_code == 1 and "admin|manager|lead|tech" in r.stderr


def test_bad_role_refused_naming_the_valid_ones(pm, site):
    before = pm.json("staff", "list")
    for role in ("boss", "", "清洁工"):
        r = pm("staff", "add", "S9", "--name", "某人", "--role", role, ok=False)
        assert r.exit_code == 1, role
        assert r.stderr.startswith("error: unknown role"), role
        assert "admin|manager|lead|tech" in r.stderr and "(--role)" in r.stderr
    assert pm.json("staff", "list") == before


def test_duplicate_code_refused_in_a_site_allowed_in_another(pm, site):
    r = pm("staff", "add", "S1", "--name", "另一个", "--role", "tech", ok=False)
    assert r.exit_code == 1
    assert "error: staff S1 already exists at CH" in r.stderr
    assert pm.json("staff", "show", "S1")["name"] == "张伟"
    pm("site", "add", "BJ", "--name", "北京")
    rec = pm.json("--site", "BJ", "staff", "add", "S1", "--name", "北京张伟", "--role", "tech")
    assert rec["name"] == "北京张伟"
    assert pm.json("staff", "show", "S1")["name"] == "张伟"
    assert [s["code"] for s in pm.json("--site", "BJ", "staff", "list")] == ["S1"]


def test_edit_changes_only_what_is_given(pm, site):
    pm("staff", "edit", "S1", "--phone", "13900000000", "--team", "白班")
    rec = pm.json("staff", "edit", "S1", "--role", "技术员", "--name", "张 伟")
    assert rec == {
        "code": "S1",
        "name": "张 伟",
        "role": "tech",
        "phone": "13900000000",
        "team": "白班",
    }
    rec = pm.json("staff", "edit", "S1", "--phone", "", "--team", "", "--code", "S01")
    assert rec == {"code": "S01", "name": "张 伟", "role": "tech", "phone": None, "team": None}
    assert pm("staff", "show", "S1", ok=False).exit_code == 3


def test_edit_refusals_leave_staff_unchanged(pm, site):
    before = pm.json("staff", "list")
    r = pm("staff", "edit", "S1", "--code", "S2", ok=False)
    assert r.exit_code == 1 and "error: staff S2 already exists at CH" in r.stderr
    r = pm("staff", "edit", "S1", "--role", "boss", ok=False)
    assert r.exit_code == 1 and "admin|manager|lead|tech" in r.stderr
    r = pm("staff", "edit", "NOPE", "--name", "x", ok=False)
    assert r.exit_code == 3 and "error: no staff member NOPE" in r.stderr
    assert pm.json("staff", "list") == before


def test_unknown_staff_is_not_found_with_a_hint(pm, site):
    for args in (("staff", "show", "NOPE"), ("staff", "remove", "NOPE"), ("staff", "use", "NOPE")):
        r = pm(*args, ok=False)
        assert r.exit_code == 3, args
        assert "error: no staff member NOPE (CH)" in r.stderr
        assert "hint: " in r.stderr and "pm staff list" in r.stderr


def test_staff_of_another_site_is_not_found_here(pm, site):
    pm("site", "add", "BJ", "--name", "北京")
    pm("--site", "BJ", "staff", "add", "B1", "--name", "北京人", "--role", "tech")
    assert pm("staff", "show", "B1", ok=False).exit_code == 3


def test_remove_refused_while_owning_grids_then_allowed(pm, site):
    pm("grid", "add", "A", "--name", "A栋", "--owner", "S1")
    pm("grid", "add", "B", "--name", "B栋", "--owner", "S1")
    r = pm("staff", "remove", "S1", ok=False)
    assert r.exit_code == 1
    assert "error: staff S1 still owns 2 grid(s): A, B" in r.stderr
    assert "hint: " in r.stderr and "pm grid assign" in r.stderr
    assert pm.json("staff", "show", "S1")["name"] == "张伟"
    assert pm.json("grid", "show", "A")["owner"] == "S1"
    pm("grid", "assign", "A", "S2")
    pm("grid", "edit", "B", "--owner", "")
    removed = pm.json("staff", "remove", "S1")
    assert removed["code"] == "S1"
    assert [s["code"] for s in pm.json("staff", "list")] == ["S2"]
    assert pm("staff", "show", "S1", ok=False).exit_code == 3
    # a removed member cannot be made an owner
    r = pm("grid", "assign", "A", "S1", ok=False)
    assert r.exit_code == 1 and "owner S1 is not staff of site CH" in r.stderr
    # and the code is free again
    pm("staff", "add", "S1", "--name", "新张伟", "--role", "tech")
    assert pm.json("staff", "show", "S1")["name"] == "新张伟"


def test_use_sets_me_in_the_config_file(pm, site, tmp_path: Path, monkeypatch):
    from pm_cli import config

    r = pm("staff", "use", "S2")
    assert "S2" in r.stderr and "李娜" in r.stderr
    data = tomllib.loads((tmp_path / "config.toml").read_text(encoding="utf-8"))
    assert data == {"site": "CH", "me": "S2"}  # the current site is kept
    assert config.current_staff_code() == "S2"
    monkeypatch.setenv("PM_STAFF", "S1")
    assert config.current_staff_code() == "S1"


def test_use_json_prints_the_member(pm, site):
    assert pm.json("staff", "use", "S1")["name"] == "张伟"


def test_use_of_unknown_staff_does_not_change_me(pm, site, tmp_path: Path):
    pm("staff", "use", "S1")
    before = (tmp_path / "config.toml").read_bytes()
    assert pm("staff", "use", "S404", ok=False).exit_code == 3
    assert (tmp_path / "config.toml").read_bytes() == before


def test_json_add_is_one_document(pm, site):
    r = pm("staff", "add", "S3", "--name", "赵六", "--role", "admin", "--json")
    assert json.loads(r.stdout)["role"] == "admin"
    assert r.stderr == ""


def test_staff_show_defaults_to_me(pm, site, monkeypatch):
    r = pm("staff", "show", ok=False)
    assert r.exit_code == 3 and "pm staff use" in r.stderr
    pm("staff", "use", "S2")
    assert pm.json("staff", "show")["code"] == "S2"
    monkeypatch.setenv("PM_STAFF", "NOBODY")
    r = pm("staff", "show", ok=False)
    assert r.exit_code == 3 and "NOBODY" in r.stderr
