"""Laptops syncing through a real server on loopback, over SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat

import httpx

from tests.sync.conftest import snapshot


def setup_site(a) -> None:  # type: ignore[no-untyped-def]
    a("site", "add", "CH", "--name", "翠湖花园", "--tz", "Asia/Shanghai")
    a("staff", "add", "S1", "--name", "张伟", "--role", "lead")
    a("staff", "add", "S2", "--name", "李娜", "--role", "manager")
    a("grid", "add", "A", "--name", "A区 Zone A", "--owner", "S1")
    a("grid", "add", "A-1", "--name", "1号楼 Block 1", "--parent", "A")


def test_a_site_made_on_one_laptop_reaches_another_and_edits_flow_both_ways(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    r = a("sync")
    assert "pushed" in r.output
    b("sync")
    assert [g["code"] for g in b.json("grid", "list")] == ["A", "A-1"]
    assert b.json("grid", "show", "A")["owner"] == "S1"
    # different fields of one grid edited on both laptops before either syncs: both kept
    a("grid", "edit", "A", "--name", "A区 North zone")
    b("grid", "edit", "A", "--owner", "S2")
    for lp in (a, b, a, b):
        lp("sync")
    for lp in (a, b):
        g = lp.json("grid", "show", "A")
        assert (g["name"], g["owner"]) == ("A区 North zone", "S2")
    assert snapshot(a) == snapshot(b)
    assert b.json("sync", "conflicts") == []  # nobody's typed value was lost


def test_the_same_field_edited_on_two_laptops_converges_and_keeps_the_loser(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "edit", "A-1", "--name", "1号楼 (A's)")
    b("grid", "edit", "A-1", "--name", "1号楼 (B's)")  # stamped later: wins
    for lp in (a, b, a, b):
        lp("sync")
    assert a.json("grid", "show", "A-1")["name"] == b.json("grid", "show", "A-1")["name"] == \
        "1号楼 (B's)"
    for lp in (a, b):
        rows = lp.json("sync", "conflicts")
        assert [(c["entity"], c["field"], c["kept"], c["lost"]) for c in rows] == [
            ("grid", "name", "1号楼 (B's)", "1号楼 (A's)")]
    assert snapshot(a) == snapshot(b)


def test_a_delete_beats_an_older_edit(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    b("grid", "edit", "A-1", "--name", "older edit")
    a("grid", "remove", "A-1")  # later than b's edit
    for lp in (b, a, b, a):
        lp("sync")
    for lp in (a, b):
        assert [g["code"] for g in lp.json("grid", "list")] == ["A"]
    assert snapshot(a) == snapshot(b)


def test_checklist_runs_and_items_recorded_offline_arrive_whole(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    run = b.json("run", "start", "water.daily", "--grid", "A", "--by", "S1")
    b("run", "record", run["short"], "access", "pass")
    b("pdca", "add", "北门门禁失灵", "--severity", "major", "--grid", "A")
    b("sync")
    a("sync")
    assert a.json("run", "show", run["short"])["answered"] == 1
    assert [i["title"] for i in a.json("pdca", "list")] == ["北门门禁失灵"]
    assert snapshot(a) == snapshot(b)


def test_a_resent_batch_changes_nothing(laptop, server):
    a = laptop("a", "alice")
    setup_site(a)
    a("sync")
    import sqlite3

    con = sqlite3.connect(a.db)
    rows = con.execute("SELECT change_id, site_id, entity, record_id, op, fields, base, hlc "
                       "FROM change WHERE entity != 'playbook' ORDER BY local_no").fetchall()
    device = con.execute("SELECT device_id FROM sync_state").fetchone()[0]
    con.close()
    import json

    batch = [{"change_id": r[0], "site_id": r[1], "entity": r[2], "record_id": r[3],
              "op": r[4], "fields": json.loads(r[5]), "base": json.loads(r[6]), "hlc": r[7]}
             for r in rows]
    token = a.config.read_text().split('token = "')[1].split('"')[0]
    h = {"Authorization": f"Bearer {token}", "Pm-Protocol": "1", "Pm-Schema": "8"}
    httpx.post(server.url + "/sync/hello", json={"device_id": device}, headers=h)
    again = httpx.post(server.url + "/sync/push", json={"changes": batch[::-1]}, headers=h)
    assert again.status_code == 200
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    pulled = httpx.get(server.url + "/sync/pull", params={"cursor": 0}, headers=h)
    lines = [json.loads(x) for x in pulled.text.splitlines()]
    ids = [x["change_id"] for x in lines if x["type"] == "change"]
    assert len(ids) == len(set(ids))  # each change stored once
    seqs = [x["seq"] for x in lines if x["type"] == "change"]
    assert seqs == list(range(1, len(seqs) + 1))  # 1..head, no gap


def test_login_keeps_the_token_in_a_private_file_and_status_reports(laptop):
    a = laptop("a", "alice")
    mode = stat.S_IMODE(os.stat(a.config).st_mode)
    assert mode == 0o600
    setup_site(a)
    st = a.json("sync", "status")
    assert st["pending"] > 0 and st["cursor"] == 0
    a("sync")
    st = a.json("sync", "status")
    assert st["pending"] == 0 and st["cursor"] > 0 and st["last_sync"]


def test_sync_without_login_says_how(tmp_path):
    from tests.sync.conftest import Laptop

    lp = Laptop("z", tmp_path)
    lp("init")
    r = lp("sync", ok=False)
    assert r.exit_code != 0 and "pm sync login" in r.output
