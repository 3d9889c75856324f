"""Laptops syncing through a real server on loopback, over SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat

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
    assert (
        a.json("grid", "show", "A-1")["name"]
        == b.json("grid", "show", "A-1")["name"]
        == "1号楼 (B's)"
    )
    for lp in (a, b):
        rows = lp.json("sync", "conflicts")
        assert [(c["entity"], c["field"], c["kept"], c["lost"]) for c in rows] == [
            ("grid", "name", "1号楼 (B's)", "1号楼 (A's)")
        ]
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
    rows = con.execute(
        "SELECT change_id, site_id, entity, record_id, op, fields, base, hlc "
        "FROM change WHERE entity != 'playbook' ORDER BY local_no"
    ).fetchall()
    device = con.execute("SELECT device_id FROM sync_state").fetchone()[0]
    con.close()
    import json

    batch = [
        {
            "change_id": r[0],
            "site_id": r[1],
            "entity": r[2],
            "record_id": r[3],
            "op": r[4],
            "fields": json.loads(r[5]),
            "base": json.loads(r[6]),
            "hlc": r[7],
        }
        for r in rows
    ]
    token = a.config.read_text().split('token = "')[1].split('"')[0]
    h = {"Authorization": f"Bearer {token}", "Pm-Protocol": "1", "Pm-Schema": "8"}
    server.http.post(server.url + "/sync/hello", json={"device_id": device}, headers=h)
    again = server.http.post(server.url + "/sync/push", json={"changes": batch[::-1]}, headers=h)
    assert again.status_code == 200
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    pulled = server.http.get(server.url + "/sync/pull", params={"cursor": 0}, headers=h)
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


def test_login_takes_the_token_from_pm_token_or_stdin_never_only_argv(server, tmp_path):
    from pm_cli.app import app
    from tests.sync.conftest import Laptop

    def login(lp: Laptop, *extra: str, env: dict[str, str] | None = None, stdin: str | None = None):  # type: ignore[no-untyped-def]
        base = {"PM_CONFIG": str(lp.config), "PM_DB": str(lp.db)}
        return lp.runner.invoke(
            app, ["sync", "login", server.url, *extra], env={**base, **(env or {})}, input=stdin
        )

    by_env, by_stdin, by_dash, none = (Laptop(n, tmp_path) for n in ("e", "s", "d", "n"))
    for lp in (by_env, by_stdin, by_dash, none):
        lp("init")
    r = login(by_env, env={"PM_TOKEN": server.token("alice", "e")})
    assert r.exit_code == 0, r.output
    r = login(by_stdin, stdin=server.token("alice", "s") + "\n")
    assert r.exit_code == 0, r.output
    r = login(by_dash, "--token", "-", stdin=server.token("bob", "d") + "\n")
    assert r.exit_code == 0, r.output
    for lp in (by_env, by_stdin, by_dash):
        assert 'token = "pmt_' in lp.config.read_text(), lp.name
        lp("sync")  # the kept token works
    r = login(none, stdin="")
    assert r.exit_code == 2 and "error: no token given (--token)" in r.stderr
    assert not none.config.exists()  # nothing half-kept


def test_plain_http_to_another_machine_is_warned_about(server, tmp_path):
    from pm_cli.app import app
    from pm_cli.sync.client import plain_http_to_another_host as bare
    from tests.sync.conftest import Laptop

    assert bare("http://pm.example.com") and bare("http://10.0.0.5:8765")
    assert not any(
        map(
            bare,
            (
                "https://pm.example.com",
                "http://127.0.0.1:8765",
                "http://localhost:8765",
                "http://[::1]:8765",
            ),
        )
    )
    lp = Laptop("w", tmp_path)
    lp("init")
    # the in-process server answers every URL: nothing leaves this machine
    token = server.token("alice", "w")
    env = {"PM_CONFIG": str(lp.config), "PM_DB": str(lp.db)}
    quiet = lp.runner.invoke(
        app, ["sync", "login", "https://pm.example.com", "--token", token], env=env
    )
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr, quiet.output
    r = lp.runner.invoke(app, ["sync", "login", "http://pm.example.com", "--token", token], env=env)
    assert r.exit_code == 0, r.output
    assert "warning: http://pm.example.com is plain http to another machine" in r.stderr


def test_sync_without_login_says_how(tmp_path):
    from tests.sync.conftest import Laptop

    lp = Laptop("z", tmp_path)
    lp("init")
    r = lp("sync", ok=False)
    assert r.exit_code != 0 and "pm sync login" in r.output


def test_a_laptop_clock_a_day_ahead_is_refused_then_restamped_and_converges(laptop):
    import sqlite3

    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    con = sqlite3.connect(a.db)  # a's clock runs 25 h fast: what it stamps is a day ahead
    con.execute("UPDATE sync_state SET clock_offset_ms = ?", (25 * 3600 * 1000,))
    con.commit()
    con.close()
    a("grid", "edit", "A", "--name", "快钟 fast clock")
    r = a("sync")
    assert "25 h ahead" in r.output and "re-stamped" in r.output
    b("sync")
    assert b.json("grid", "show", "A")["name"] == "快钟 fast clock"
    b("grid", "edit", "A", "--name", "后来 later")  # a's stamp no longer outranks a day
    b("sync")
    a("sync")
    assert a.json("grid", "show", "A")["name"] == "后来 later"
    assert snapshot(a) == snapshot(b)


def test_resolving_a_conflict_keeps_my_value_everywhere(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "edit", "A-1", "--name", "甲的 A's")
    b("grid", "edit", "A-1", "--name", "乙的 B's")  # later: wins
    for lp in (a, b, a):
        lp("sync")
    [c] = a.json("sync", "conflicts")
    r = a("sync", "resolve", c["id"], ok=False)
    assert r.exit_code != 0 and "--keep" in r.output
    rec = a.json("sync", "resolve", c["id"], "--keep", "mine")
    assert rec["resolution"] == "kept the loser"
    assert a.json("grid", "show", "A-1")["name"] == "甲的 A's"
    for lp in (a, b):
        lp("sync")
    assert b.json("grid", "show", "A-1")["name"] == "甲的 A's"
    assert a.json("sync", "conflicts") == b.json("sync", "conflicts") == []
    r = b("sync", "resolve", c["id"], "--keep", "theirs", ok=False)
    assert r.exit_code != 0 and "already resolved" in r.output
    assert snapshot(a) == snapshot(b)


def test_one_code_made_on_two_laptops_keeps_both_and_names_the_clash(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "add", "G-12", "--name", "甲建的 made on A")
    b("grid", "add", "G-12", "--name", "乙建的 made on B")
    for lp in (a, b, a):
        lp("sync")
    for lp in (a, b):
        rows = lp.json("sync", "conflicts")
        assert [(c["kind"], c["field"], c["kept"]) for c in rows] == [
            ("duplicate_code", "code", "G-12")
        ]
        r = lp("grid", "show", "G-12", ok=False)
        assert r.exit_code != 0 and "ambiguous" in r.output and "pm sync conflicts" in r.output
    assert snapshot(a) == snapshot(b)


def test_pdca_phase_only_moves_forward_whatever_the_delivery_order(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("pdca", "add", "北门门禁失灵 Door fails", "--severity", "major", "--grid", "A")
    a("sync")
    b("sync")
    # a moves the item on to check; b, offline, only starts it (plan → do) afterwards
    a("pdca", "advance", "1", "--to", "do", "--plan", "换读卡器 replace the reader")
    a("pdca", "advance", "1", "--to", "check", "--note", "已更换 replaced")
    b("pdca", "advance", "1", "--to", "do", "--plan", "先查线路 check the wiring")
    for lp in (a, b, a, b):
        lp("sync")
    for lp in (a, b):
        item = lp.json("pdca", "show", "1")
        assert item["phase"] == "check"  # b's later plan → do does not pull it back
        assert [h["to"] for h in item["history"] if h["kind"] == "transition"].count("do") == 2
    assert snapshot(a) == snapshot(b)


def test_items_made_offline_on_two_laptops_get_different_numbers(laptop):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("pdca", "add", "一 first", "--severity", "minor")  # never synced: a numbers it, #1
    a("sync")
    b("sync")
    a("sync")  # now a holds a block of numbers too
    ra = a.json("pdca", "add", "甲 offline on A", "--severity", "minor")
    rb = b.json("pdca", "add", "乙 offline on B", "--severity", "minor")
    assert ra["no"] != rb["no"] and ra["no"] > 1 and rb["no"] > 1
    for lp in (a, b, a):
        lp("sync")
    nos = sorted(i["no"] for i in a.json("pdca", "list"))
    assert nos == sorted({1, ra["no"], rb["no"]})
    assert a.json("sync", "conflicts") == []
    assert snapshot(a) == snapshot(b)


def test_the_site_maker_out_of_numbers_after_its_log_is_pruned_still_leaves_it_unnumbered(laptop):
    """A site made on this laptop and synced: once its acked changes are pruned (90 days
    on), the used-up number blocks still say the server numbers this site, so an item made
    offline is not given max + 1 (which another laptop's block may hold)."""
    import sqlite3

    a = laptop("a", "alice")
    setup_site(a)
    a("pdca", "add", "一 first", "--severity", "minor")
    a("sync")
    a("sync")  # the hello after the first push hands out a block
    con = sqlite3.connect(a.db)
    assert con.execute("SELECT count(*) FROM number_block").fetchone()[0] >= 1
    con.execute("DELETE FROM change WHERE state = 'acked'")  # what pruning leaves
    con.execute("UPDATE number_block SET next_no = last + 1")
    con.commit()
    con.close()
    rec = a.json("pdca", "add", "没号了 no numbers left", "--severity", "major")
    assert rec["no"] is None and rec["label"].startswith("#~")


def test_a_laptop_out_of_numbers_saves_the_item_unnumbered_and_the_server_numbers_it(laptop):
    import sqlite3

    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    con = sqlite3.connect(b.db)  # b used up its numbers offline
    con.execute("UPDATE number_block SET next_no = last + 1")
    con.commit()
    con.close()
    rec = b.json("pdca", "add", "没号了 no numbers left", "--severity", "major")
    assert rec["no"] is None and rec["label"].startswith("#~")
    assert b.json("pdca", "show", rec["ref"])["title"] == "没号了 no numbers left"
    b("sync")
    numbered = b.json("pdca", "show", rec["ref"])
    assert isinstance(numbered["no"], int)
    a("sync")
    assert a.json("pdca", "show", str(numbered["no"]))["title"] == "没号了 no numbers left"


def test_acked_changes_older_than_90_days_are_forgotten_and_the_rest_kept(laptop):
    import sqlite3
    import time

    a = laptop("a", "alice")
    setup_site(a)
    a("sync")
    con = sqlite3.connect(a.db)
    acked = con.execute(
        "SELECT change_id, hlc FROM change WHERE state = 'acked' ORDER BY local_no"
    ).fetchall()
    assert len(acked) >= 5
    old = int((time.time() - 91 * 86400) * 1000)
    con.execute(
        "UPDATE change SET hlc = ? WHERE change_id = ?",
        (f"{old:012x}" + acked[0][1][12:], acked[0][0]),
    )
    con.commit()
    a("grid", "edit", "A", "--name", "新名字 renamed")
    a("sync")
    left = {r[0]: r[1] for r in con.execute("SELECT change_id, state FROM change")}
    con.close()
    assert acked[0][0] not in left  # 91 days old and acked: forgotten
    assert all(left[cid] == "acked" for cid, _ in acked[1:])  # the rest stay
    assert a.json("sync", "status")["pending"] == 0
