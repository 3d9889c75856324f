"""The server validates every change by itself (issue: sync v2, 2 and 4): forged pushes with a
valid lead token are refused one by one, never stored or served, and no other laptop breaks;
a laptop whose change is refused rolls its record back to the server's copy."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

import pytest

from tests.sync.conftest import snapshot
from tests.sync.test_security import change, count, creds, site_id_of, stamp
from tests.sync.test_sync import setup_site


def _ids(lp, table: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {code: i for i, code in lp.rows(table, "id", "code")}


def _push(server, h, changes) -> Any:  # type: ignore[no-untyped-def]
    return server.http.post(server.url + "/sync/push", json={"changes": changes}, headers=h)


def _item(site: str, device: str, **fields: Any) -> dict[str, Any]:
    return change(
        site,
        device,
        entity="pdca",
        fields={
            "created_at": "2026-11-25T00:00:00.000Z",
            "title": "漏水 leak",
            "respond_by": "2026-11-25T01:00:00.000Z",
            "resolve_by": "2026-11-26T00:00:00.000Z",
            **fields,
        },
    )


def _event(site: str, device: str, item: str, **fields: Any) -> dict[str, Any]:
    return change(
        site,
        device,
        entity="pdca_event",
        op="append",
        fields={
            "created_at": "2026-11-25T00:00:00.000Z",
            "pdca_id": item,
            "kind": "transition",
            **fields,
        },
    )


@pytest.fixture
def site(laptop):  # type: ignore[no-untyped-def]
    """alice (manager) set CH up and synced; bob (a lead) synced it; carol is on XY."""
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("pdca", "add", "门禁坏了 Gate broken", "--severity", "major")
    a("sync")
    b("sync")
    return a, b


def test_forged_changes_from_a_lead_are_refused_one_by_one_and_no_laptop_breaks(
    site, laptop, server
):
    a, b = site
    h, device = creds(b)
    ch = site_id_of(a)
    grids = _ids(a, "grid")
    # another site with staff of its own (xavier manages XY)
    x = laptop("x", "xavier")
    x("site", "add", "XY", "--name", "西苑 West")
    x("--site", "XY", "staff", "add", "X1", "--name", "外人 Outsider", "--role", "lead")
    x("sync")
    outsider = _ids(x, "staff")["X1"]
    [item_id] = [i for (i,) in a.rows("pdca", "id")]
    bad = [
        change(ch, device, record_id=grids["A"], base={}, fields={"name": {"zh": "对象"}}),
        change(
            ch,
            device,
            fields={
                "code": "T-1",
                "name": "x",
                "created_at": "2026-11-25",
                "risk_level": "catastrophic",
            },
        ),
        change(
            ch,
            device,
            fields={"code": "T-2", "name": "x" * 201, "created_at": "2026-11-25T00:00:00.000Z"},
        ),
        _item(ch, device, description="长" * 20_001),
        _item(ch, device, respond_by="next tuesday"),
        change(ch, device, record_id=grids["A-1"], fields={"owner_id": outsider}),
        change(ch, device, record_id=grids["A-1"], fields={"parent_id": str(uuid.uuid4())}),
        _event(ch, device, item_id, from_phase="plan", to_phase="closed", cycle=1, note="done"),
        _event(ch, device, item_id, from_phase="plan", to_phase="finished", cycle=1),
        _item(ch, device, no=9999),
        change(
            ch,
            device,
            entity="conflict",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "entity": "grid",
                "record_id": grids["A"],
                "kind": "field",
            },
        ),
        change(
            "",
            device,
            entity="conflict",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "entity": "grid",
                "record_id": grids["A"],
                "kind": "field",
            },
        ),
        change(
            ch,
            device,
            entity="staff",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "code": "Z9",
                "name": "z",
                "role": "admin",
            },
        ),
        change(ch, device, record_id=grids["A"], fields={"tags": "not-a-list"}),
        change(ch, device, record_id=grids["A"], fields={"name": None}),
    ]
    held = {i: json.loads(f) for i, f in a.rows("grid", "id", "field_hlc")}[grids["A"]]
    good = change(
        ch, device, record_id=grids["A"], base={"name": held["name"]}, fields={"name": "A区 改名"}
    )
    before = count(server)
    r = _push(server, h, [*bad, good])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * len(bad) + ["applied"]
    why = {i: " ".join(x["where"]) for i, x in enumerate(results[:-1])}
    expected = [
        "fields.name: must be text",
        "fields.risk_level: must be one of minor, major or critical",
        "fields.name: at most 200 characters",
        "fields.description: at most 20,000 characters",
        "fields.respond_by: not an ISO date and time",
        "fields.owner_id: staff",
        "fields.parent_id: no grid",
        "plan → closed is not a step of PDCA",
        "fields.to_phase: must be one of",
        "fields.no: #9999 is not among the numbers",
        "only the server records conflicts",
        "only the server records conflicts",
        "a lead may not write staff",
        "fields.tags: must be a list",
        "fields.name: must be text",
    ]
    for i, text in enumerate(expected):
        assert f"changes[{i}]." in why[i] and text in why[i], (i, why[i])
    assert "belongs to another site" in why[5]
    assert {x["code"] for x in results[:-1]} == {403, 422}
    assert count(server) == before + 1  # only the good change is stored
    # every laptop still syncs and reads its site
    for lp in (a, b):
        lp("sync")
        assert lp.json("grid", "show", "A")["name"] == "A区 改名"
        for cmd in (("today",), ("pdca", "overdue"), ("grid", "heatmap"), ("export", "items")):
            lp(*cmd)
    assert snapshot(a) == snapshot(b)
    fresh = laptop("c", "bob")
    fresh("sync")
    assert snapshot(fresh)["grid"] == snapshot(a)["grid"]


def test_a_batch_of_only_bad_changes_is_the_error_itself_with_each_change_named(site, server):
    a, b = site
    h, device = creds(b)
    ch = site_id_of(a)
    before = count(server)
    r = _push(
        server,
        h,
        [change(ch, device, fields={"code": 5}), change(ch, device, fields={"name": ["x"]})],
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_change"
    assert {w.split(".")[0] for w in body["where"]} == {"changes[0]", "changes[1]"}
    assert [x["index"] for x in body["rejected"]] == [0, 1]
    assert [x["record"] for x in body["rejected"]] == [None, None]  # the server holds none
    assert count(server) == before


def test_malformed_requests_are_4xx_never_500(site, server):
    a, b = site
    h, device = creds(b)
    ch = site_id_of(a)
    for body in (
        {"changes": "x"},
        {"changes": [{"change_id": "a"}]},
        {"changes": [1]},
        {"changes": [change(ch, device, fields=[1, 2])]},
        {"changes": [change(ch, device, base={"name": 5})]},
        {
            "changes": [
                change(
                    ch,
                    device,
                    entity="pdca_event",
                    op="append",
                    fields={"kind": "transition", "cycle": "x"},
                )
            ]
        },
    ):
        r = _push(server, h, body)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
    r = server.http.post(
        server.url + "/sync/push",
        content=b"{not json",
        headers={**h, "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500


def test_a_refused_edit_rolls_back_to_the_servers_value_and_sync_status_lists_it(site):
    a, b = site
    b("staff", "edit", "S1", "--name", "王五 renamed by a lead")  # set-up: a lead may not
    r = b("sync", ok=False)
    assert r.exit_code == 1
    assert "a lead may not write staff" in r.output and "1 refused" in r.output
    assert "hint:" in r.output
    # rolled back: what everyone else sees, not what only this laptop would have kept
    assert b.json("staff", "show", "S1")["name"] == "张伟"
    st = b.json("sync", "status")
    assert (
        st["rejected"] == 1 and "a lead may not write staff" in st["rejected_changes"][0]["reason"]
    )
    b("sync")  # nothing pending: a clean sync again
    assert snapshot(a)["staff"] == snapshot(b)["staff"]


def test_a_refused_new_record_is_hidden_and_its_event_removed(site, server):
    a, b = site
    h, device = creds(b)
    b("staff", "add", "S9", "--name", "新人 Newcomer", "--role", "tech")
    r = b("sync", ok=False)
    assert r.exit_code == 1 and "may not write staff" in r.output
    assert "S9" not in [s["code"] for s in b.json("staff", "list")]
    assert snapshot(a)["staff"] == [row for row in snapshot(b)["staff"] if "新人" not in str(row)]


def test_text_caps_are_enforced_on_the_laptop_at_entry(site):
    a, _b = site
    r = a("grid", "add", "Z", "--name", "名" * 201, ok=False)
    assert r.exit_code != 0 and "200" in r.output
    r = a("pdca", "add", "x", "--severity", "minor", "--description", "d" * 20_001, ok=False)
    assert r.exit_code != 0 and "at most 20,000 characters" in r.output
    assert "Z" not in [g["code"] for g in a.json("grid", "list")]


def test_an_oversized_change_from_an_older_pm_is_set_aside_not_blocking_the_queue(site):
    a, _b = site
    con = sqlite3.connect(a.db)  # what an older pm (no cap) left in the outbox
    cid = str(uuid.uuid4())
    grid = _ids(a, "grid")["A"]
    dev = con.execute("SELECT device_id FROM sync_state").fetchone()[0]
    top = con.execute("SELECT max(local_no) FROM change").fetchone()[0]
    con.execute(
        "INSERT INTO change (change_id, local_no, site_id, entity, record_id, op, "
        "fields, base, hlc, device_id, schema, state) VALUES (?, ?, ?, 'grid', ?, "
        "'upsert', ?, '{}', ?, ?, 8, 'pending')",
        (
            cid,
            top + 1,
            site_id_of(a),
            grid,
            '{"name": "' + "x" * (5 * 1024 * 1024) + '"}',
            stamp(dev),
            dev,
        ),
    )
    con.commit()
    con.close()
    a("grid", "edit", "A-1", "--name", "后来的 later edit")
    r = a("sync", ok=False)
    assert r.exit_code == 1 and "size limit" in r.output
    assert a.json("sync", "status")["pending"] == 0
    r = a("sync")  # the next sync is clean: the later edit went through
    assert a.json("grid", "show", "A-1")["name"] == "后来的 later edit"


def _both_edit(
    a,
    b,
    option: str,
    mine: str,
    theirs: str,  # type: ignore[no-untyped-def]
    rounds: str = "abab",
) -> None:
    """Grid A-1's `option` set to `mine` on laptop a, to `theirs` on b, then a sync of
    each laptop in `rounds` order."""
    a("grid", "edit", "A-1", option, mine)
    b("grid", "edit", "A-1", option, theirs)
    for name in rounds:
        {"a": a, "b": b}[name]("sync")


def test_conflicts_are_records_a_laptop_joining_later_sees(site, laptop):
    a, b = site
    _both_edit(a, b, "--name", "A's name", "B's name", rounds="aba")
    assert [c["kind"] for c in a.json("sync", "conflicts")] == ["field"]
    late = laptop("late", "alice")  # first sync by snapshot
    late("sync")
    [c] = late.json("sync", "conflicts")
    assert c["kind"] == "field" and {c["kept"], c["lost"]} == {"A's name", "B's name"}


def test_an_edit_after_a_delete_is_a_conflict_whichever_arrives_first(site):
    a, b = site
    # b edits (later stamp) but a's delete reaches the server second
    a("grid", "remove", "A-1")
    b("grid", "edit", "A-1", "--name", "edited after the delete")
    b("sync")
    a("sync")
    b("sync")
    kinds = [c["kind"] for c in b.json("sync", "conflicts")]
    assert kinds == ["edit_after_delete"]
    assert [c["kind"] for c in a.json("sync", "conflicts")] == kinds


def test_two_people_settling_one_conflict_converge_without_a_new_conflict(site):
    a, b = site
    _both_edit(a, b, "--name", "A's", "B's")
    [ca] = a.json("sync", "conflicts")
    [cb] = b.json("sync", "conflicts")
    a("sync", "resolve", ca["id"], "--keep", "winner")
    b("sync", "resolve", cb["id"], "--keep", "winner")
    for lp in (a, b, a, b):
        lp("sync")
    assert a.json("sync", "conflicts") == b.json("sync", "conflicts") == []
    assert snapshot(a)["conflict"] == snapshot(b)["conflict"]


def test_conflicts_name_their_record_and_keep_value_takes_the_fields_type(site):
    a, b = site
    _both_edit(a, b, "--tags", "东;west", "北;north")
    [c] = b.json("sync", "conflicts")
    assert c["record"] == "A-1" and c["field"] == "tags"
    assert "edited on two laptops at once" in c["note"]
    r = b.json("sync", "resolve", c["id"], "--keep", "南;south")
    assert r["resolution"] == "set to ['南', 'south']"
    for lp in (b, a):
        lp("sync")
    assert a.json("grid", "show", "A-1")["tags"] == ["南", "south"]
    r = b("sync", "resolve", c["id"], "--keep", "x", ok=False)
    assert r.exit_code != 0 and "already resolved" in r.output


def test_an_admin_without_grants_is_shown_reaching_all_sites_and_login_names_grants(
    server, tmp_path
):
    from tests.sync.conftest import Laptop, admin

    admin(server.database_url, "user", "add", "root", "--role", "admin")
    users = {
        u["user"]: u
        for u in json.loads(admin(server.database_url, "user", "list", "--json").stdout)
    }
    assert users["root"]["sites"] == ["all sites"] and users["bob"]["sites"] == ["CH"]
    lp = Laptop("n", tmp_path)
    lp("init")
    r = lp("sync", "login", server.url, "--token", server.token("bob", "n"))
    assert "granted: CH" in r.output  # CH is not on the server yet, but granted


def test_a_lead_does_not_pull_company_wide_conflicts(laptop, server, tmp_path):
    from pathlib import Path

    from tests.sync.conftest import admin

    admin(server.database_url, "user", "add", "carol", "--sites", "CH", "--role", "manager")
    a, c, b = laptop("a", "alice"), laptop("c", "carol"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    src = (Path(__file__).parents[1] / "fixtures" / "playbooks" / "test.gate-check.yaml").read_text(
        encoding="utf-8"
    )
    mine, theirs = tmp_path / "a.yaml", tmp_path / "c.yaml"
    mine.write_text(src, encoding="utf-8")
    theirs.write_text(src.replace("检查门禁", "检查门禁和摄像头"), encoding="utf-8")
    a("playbook", "import", str(mine))
    c("playbook", "import", str(theirs))
    for lp in (a, c, a):
        lp("sync")
    assert [x["kind"] for x in a.json("sync", "conflicts")] == ["version_clash"]
    b("sync")  # first sync: snapshot
    b("sync")  # and a pull
    assert b.json("sync", "conflicts") == []
    assert "test.gate-check" in {p["id"] for p in b.json("playbook", "list")}
