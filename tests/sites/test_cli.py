"""pm site …: add, list, show, edit, use; the current site from --site / PM_SITE / config."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

SITE_KEYS = ["code", "name", "tz", "address"]


@pytest.fixture
def db(pm):
    pm("init")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"  # PM_CONFIG (conftest)


def test_add_list_show_round_trip_chinese(pm, db):
    added = pm.json(
        "site",
        "add",
        "CH",
        "--name",
        "翠湖花园 [B栋]",
        "--tz",
        "Asia/Shanghai",
        "--address",
        "杭州市西湖区 文三路 1号",
    )
    assert added == {
        "code": "CH",
        "name": "翠湖花园 [B栋]",
        "tz": "Asia/Shanghai",
        "address": "杭州市西湖区 文三路 1号",
    }
    pm("site", "add", "滨江", "--name", "滨江壹号")
    rows = pm.json("site", "list")
    assert isinstance(rows, list)
    assert [list(r) for r in rows] == [SITE_KEYS, SITE_KEYS]
    assert {r["code"]: r["name"] for r in rows} == {"CH": "翠湖花园 [B栋]", "滨江": "滨江壹号"}
    assert pm.json("site", "show", "滨江") == {
        "code": "滨江",
        "name": "滨江壹号",
        "tz": None,
        "address": None,
    }


def test_global_json_flag_and_people_output(pm, db):
    pm("site", "add", "CH", "--name", "翠湖花园 [B栋]")
    r = pm("--json", "site", "list")
    assert json.loads(r.stdout)[0]["code"] == "CH"
    r = pm("site", "list")
    assert "[B栋]" in r.stdout  # printed as typed, not eaten as markup
    assert not r.stdout.lstrip().startswith("[")  # a table, not JSON


def test_json_add_prints_one_document_and_nothing_else(pm, db):
    r = pm("site", "add", "CH", "--name", "翠湖", "--json")
    assert json.loads(r.stdout)["code"] == "CH"
    assert r.stderr == ""


def test_duplicate_site_code_refused(pm, db):
    pm("site", "add", "CH", "--name", "翠湖")
    r = pm("site", "add", "CH", "--name", "别的", ok=False)
    assert r.exit_code == 1
    assert "error: site CH already exists" in r.stderr
    assert [s["name"] for s in pm.json("site", "list")] == ["翠湖"]


@pytest.mark.parametrize("tz", ["Mars/Olympus", "Asia/Shangai", "Asia", "Asia/"])
def test_bad_time_zone_refused_with_a_hint(pm, db, tz):
    r = pm("site", "add", "CH", "--name", "翠湖", "--tz", tz, ok=False)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: unknown time zone")
    assert "Asia/Shanghai" in r.stderr and "(--tz)" in r.stderr
    assert pm.json("site", "list") == []


def test_bad_site_code_refused(pm, db):
    for code in ("", "C H", "A;B", "A/B", "x" * 65):
        r = pm("site", "add", code, "--name", "翠湖", ok=False)
        assert r.exit_code == 1, code
        assert "error: " in r.stderr and "code" in r.stderr, code
    assert pm.json("site", "list") == []


def test_edit_changes_only_what_is_given(pm, db):
    pm("site", "add", "CH", "--name", "翠湖", "--tz", "Asia/Shanghai", "--address", "文三路")
    rec = pm.json("site", "edit", "CH", "--name", "翠湖花园")
    assert rec == {"code": "CH", "name": "翠湖花园", "tz": "Asia/Shanghai", "address": "文三路"}
    rec = pm.json("site", "edit", "CH", "--tz", "", "--address", "", "--code", "CH2")
    assert rec == {"code": "CH2", "name": "翠湖花园", "tz": None, "address": None}
    assert pm.json("site", "show", "CH2") == rec
    assert pm("site", "show", "CH", ok=False).exit_code == 3


def test_edit_refusals_leave_the_site_unchanged(pm, db):
    pm("site", "add", "CH", "--name", "翠湖", "--tz", "Asia/Shanghai")
    pm("site", "add", "BJ", "--name", "北京")
    before = pm.json("site", "list")
    r = pm("site", "edit", "CH", "--code", "BJ", ok=False)
    assert r.exit_code == 1 and "error: site BJ already exists" in r.stderr
    r = pm("site", "edit", "CH", "--tz", "Nowhere/Town", ok=False)
    assert r.exit_code == 1 and "error: unknown time zone" in r.stderr
    r = pm("site", "edit", "CH", "--name", "   ", ok=False)
    assert r.exit_code == 1 and "name" in r.stderr
    assert pm.json("site", "list") == before


def test_unknown_site_is_not_found(pm, db):
    pm("site", "add", "CH", "--name", "翠湖")
    for args in (
        ("site", "show", "NOPE"),
        ("site", "edit", "NOPE", "--name", "x"),
        ("site", "use", "NOPE"),
    ):
        r = pm(*args, ok=False)
        assert r.exit_code == 3, args
        assert "error: no site NOPE" in r.stderr
        assert "hint: " in r.stderr


def test_use_persists_in_the_config_file(pm, db, config_file):
    pm("site", "add", "CH", "--name", "翠湖")
    pm("site", "add", "BJ", "--name", "北京")
    r = pm("site", "use", "BJ")
    assert "BJ" in r.stderr
    assert tomllib.loads(config_file.read_text(encoding="utf-8"))["site"] == "BJ"
    assert pm.json("site", "show")["code"] == "BJ"
    pm("site", "use", "CH")
    assert tomllib.loads(config_file.read_text(encoding="utf-8"))["site"] == "CH"
    assert pm.json("site", "show")["code"] == "CH"


def test_use_of_an_unknown_site_leaves_the_config_alone(pm, db, config_file):
    pm("site", "add", "CH", "--name", "翠湖")
    pm("site", "use", "CH")
    before = config_file.read_bytes()
    assert pm("site", "use", "NOPE", ok=False).exit_code == 3
    assert config_file.read_bytes() == before


def test_chinese_site_code_survives_the_config_file(pm, db, config_file):
    pm("site", "add", '滨江"1', "--name", "滨江")
    pm("site", "add", "CH", "--name", "翠湖")
    pm("site", "use", '滨江"1')
    assert pm.json("site", "show")["code"] == '滨江"1'
    assert tomllib.loads(config_file.read_text(encoding="utf-8"))["site"] == '滨江"1'


def test_env_and_option_override_the_chosen_site(pm, db, monkeypatch):
    for code in ("CH", "BJ", "SH"):
        pm("site", "add", code, "--name", code)
    pm("site", "use", "CH")
    pm("staff", "add", "C1", "--name", "翠湖的人", "--role", "lead")
    pm("--site", "BJ", "staff", "add", "B1", "--name", "北京的人", "--role", "tech")
    monkeypatch.setenv("PM_SITE", "BJ")
    assert [s["code"] for s in pm.json("staff", "list")] == ["B1"]
    assert pm.json("site", "show")["code"] == "BJ"
    # --site beats PM_SITE
    assert pm.json("--site", "CH", "staff", "list")[0]["code"] == "C1"
    assert pm.json("--site", "SH", "staff", "list") == []
    monkeypatch.delenv("PM_SITE")
    assert [s["code"] for s in pm.json("staff", "list")] == ["C1"]


def test_unknown_site_in_env_is_not_found(pm, db, monkeypatch):
    pm("site", "add", "CH", "--name", "翠湖")
    monkeypatch.setenv("PM_SITE", "GONE")
    r = pm("staff", "list", ok=False)
    assert r.exit_code == 3
    assert "error: no site GONE" in r.stderr and "hint: " in r.stderr


def test_one_site_is_current_without_choosing(pm, db):
    pm("site", "add", "CH", "--name", "翠湖")
    pm("staff", "add", "S1", "--name", "张伟", "--role", "lead")
    assert pm.json("site", "show")["code"] == "CH"


def test_two_sites_and_none_chosen_asks_which(pm, db):
    pm("site", "add", "CH", "--name", "翠湖")
    pm("site", "add", "BJ", "--name", "北京")
    for args in (("staff", "list"), ("grid", "add", "A", "--name", "A"), ("site", "show")):
        r = pm(*args, ok=False)
        assert r.exit_code == 1, args
        assert "error: which site? there are 2" in r.stderr
        assert "hint: " in r.stderr and "pm site use" in r.stderr and "--site" in r.stderr
    pm("site", "use", "BJ")
    assert pm.json("grid", "list") == []


def test_no_site_yet_hints_how_to_add_one(pm, db):
    r = pm("staff", "list", ok=False)
    assert r.exit_code == 3
    assert "error: no site yet" in r.stderr and "pm site add" in r.stderr
