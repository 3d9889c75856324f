"""The write helpers, through a real SQLite file made by `pm init`: every write stamps its
fields and appends to the change log in the same transaction (DESIGN §3, sync.md §1)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from pm_cli.store.hlc import is_stamp, parse


@pytest.fixture
def db(pm, isolated: Path) -> Path:
    """A fresh database whose change log starts empty: `pm init` logs the bundled playbooks it
    installs, which these store tests set aside so local_no counts their own writes."""
    pm("init")
    con = sqlite3.connect(isolated)
    try:
        con.execute("DELETE FROM change")
        con.execute("DELETE FROM playbook")
        con.commit()
    finally:
        con.close()
    return isolated


@pytest.fixture
def engine(db: Path):
    from pm_cli.store.engine import make_engine

    e = make_engine(db)
    yield e
    e.dispose()


@pytest.fixture
def scope(engine, db: Path):
    from pm_cli.store.engine import session_scope

    def open_(write: bool = True):
        return session_scope(engine, db, write=write)

    return open_


def changes(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT * FROM change ORDER BY local_no").fetchall()
    finally:
        con.close()
    out = []
    for r in rows:
        d = dict(r)
        d["fields"], d["base"] = json.loads(d["fields"]), json.loads(d["base"])
        out.append(d)
    return out


def raw_row(db: Path, table: str, row_id: str) -> dict | None:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        r = con.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
    finally:
        con.close()
    if r is None:
        return None
    d = dict(r)
    d["field_hlc"] = json.loads(d["field_hlc"])
    return d


def sync_state(db: Path) -> tuple[str, str]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT device_id, last_hlc FROM sync_state WHERE id = 1").fetchone()
    finally:
        con.close()


def new_site(s, code: str = "CH", name: str = "翠湖花园", **extra):
    from pm_cli.sites.models import Site
    from pm_cli.store import write
    from pm_cli.store.ids import new_id

    sid = new_id()
    values = {"tz": None, "address": None, **extra}
    return write.create(s, Site, site_id=sid, id=sid, code=code, name=name, **values)


def test_create_stamps_every_field_and_logs_one_change(db, scope):
    with scope() as s:
        site = new_site(s, tz="Asia/Shanghai")
        site_id = site.id
    row = raw_row(db, "site", site_id)
    assert row is not None and row["name"] == "翠湖花园" and not row["deleted"]
    assert set(row["field_hlc"]) == {"created_at", "code", "name", "tz", "address"}
    (h,) = set(row["field_hlc"].values())
    assert is_stamp(h) and row["updated_hlc"] == h
    (c,) = changes(db)
    device, last = sync_state(db)
    assert c["local_no"] == 1
    assert (c["entity"], c["record_id"], c["site_id"], c["op"]) == (
        "site",
        site_id,
        site_id,
        "upsert",
    )
    assert c["fields"] == {
        "created_at": row["created_at"],
        "code": "CH",
        "name": "翠湖花园",
        "tz": "Asia/Shanghai",
        "address": None,
    }
    assert c["base"] == {}
    assert c["hlc"] == h and c["device_id"] == device and parse(h).device == device
    assert c["state"] == "pending"
    assert last == h  # the clock is saved in the same transaction


def test_update_logs_only_the_changed_fields_with_their_previous_stamps(db, scope):
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
    created = raw_row(db, "site", site.id)
    with scope() as s:
        from pm_cli.sites.models import Site

        row = s.get(Site, site.id)
        assert write.update(s, row, name="翠湖花园二期", tz="Asia/Shanghai", code="CH") is True
    after = raw_row(db, "site", site.id)
    first, second = changes(db)
    assert second["local_no"] == 2 and second["op"] == "upsert"
    assert second["fields"] == {"name": "翠湖花园二期", "tz": "Asia/Shanghai"}
    assert second["base"] == {
        "name": created["field_hlc"]["name"],
        "tz": created["field_hlc"]["tz"],
    }
    assert second["hlc"] > first["hlc"]
    # only the edited fields carry the new stamp; the rest keep theirs
    assert after["field_hlc"]["name"] == after["field_hlc"]["tz"] == second["hlc"]
    assert after["field_hlc"]["code"] == created["field_hlc"]["code"]
    assert after["updated_hlc"] == second["hlc"]
    assert (after["name"], after["tz"]) == ("翠湖花园二期", "Asia/Shanghai")


def test_update_with_identical_values_writes_nothing(db, scope):
    from pm_cli.sites.models import Site
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
    before, state_before = raw_row(db, "site", site.id), sync_state(db)
    with scope() as s:
        row = s.get(Site, site.id)
        assert write.update(s, row, name="翠湖花园", tz=None) is False
    assert len(changes(db)) == 1
    assert raw_row(db, "site", site.id) == before
    assert sync_state(db) == state_before


def test_delete_is_a_tombstone_and_restore_brings_it_back(db, scope):
    from pm_cli.sites.models import Site
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
    with scope() as s:
        assert write.delete(s, s.get(Site, site.id)) is True
    gone = raw_row(db, "site", site.id)
    assert gone is not None and gone["deleted"]  # never physically deleted
    with scope() as s:
        assert write.delete(s, s.get(Site, site.id)) is False  # already gone: no change
    with scope() as s:
        assert write.restore(s, s.get(Site, site.id)) is True
    back = raw_row(db, "site", site.id)
    create, delete, restore = changes(db)
    assert delete["op"] == "delete" and delete["fields"] == {"deleted": True}
    assert delete["base"] == {}
    assert restore["op"] == "restore" and restore["fields"] == {"deleted": False}
    assert restore["base"] == {"deleted": delete["hlc"]}
    assert not back["deleted"] and back["field_hlc"]["deleted"] == restore["hlc"]
    assert create["hlc"] < delete["hlc"] < restore["hlc"]


def test_update_refuses_fields_the_store_owns(db, scope):
    from pm_cli.sites.models import Site
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
    with pytest.raises(ValueError, match="not an editable field"), scope() as s:
        write.update(s, s.get(Site, site.id), updated_hlc="x")
    assert len(changes(db)) == 1


def test_local_no_is_contiguous_and_hlc_rises_across_transactions(db, scope):
    from pm_cli.sites.models import Site
    from pm_cli.store import write

    ids = []
    with scope() as s:
        for i in range(5):
            ids.append(new_site(s, code=f"S{i}", name=f"站点{i}").id)
    with scope() as s:
        for i, sid in enumerate(ids):
            write.update(s, s.get(Site, sid), name=f"站点{i}号")
    with scope() as s:
        write.delete(s, s.get(Site, ids[0]))
    log = changes(db)
    assert [c["local_no"] for c in log] == list(range(1, 12))
    stamps = [c["hlc"] for c in log]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert len({c["change_id"] for c in log}) == 11
    assert sync_state(db)[1] == stamps[-1]


def test_a_failed_transaction_leaves_neither_row_nor_change(db, scope):
    state_before = sync_state(db)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), scope() as s:
        site = new_site(s)
        s.flush()  # the row reached SQLite inside the transaction
        raise Boom
    assert raw_row(db, "site", site.id) is None
    assert changes(db) == []
    assert sync_state(db) == state_before
    # the next write still numbers from 1
    with scope() as s:
        new_site(s, code="OK")
    assert [c["local_no"] for c in changes(db)] == [1]


def test_a_read_session_does_not_commit_writes(db, scope):
    with scope(write=False) as s:
        new_site(s)
    assert changes(db) == []


def test_stamps_rise_across_sessions_when_the_clock_steps_back(db, scope, monkeypatch):
    from pm_cli.sites.models import Site
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
    old = changes(db)[-1]["hlc"]
    assert sync_state(db)[1] == old
    real = time.time_ns()
    # the laptop's clock is set back a day (Clock's default reads time.time_ns)
    monkeypatch.setattr("pm_cli.store.hlc.time.time_ns", lambda: real - 86_400 * 10**9)
    with scope() as s:
        write.update(s, s.get(Site, site.id), name="新名字")
        new_site(s, code="B")
    log = changes(db)
    assert [c["local_no"] for c in log] == [1, 2, 3]
    assert old < log[1]["hlc"] < log[2]["hlc"]
    assert parse(log[1]["hlc"]).wall >= parse(old).wall
    assert sync_state(db)[1] == log[2]["hlc"]


def test_stamps_follow_the_wall_clock_when_it_moves_forward(db, scope, monkeypatch):
    with scope() as s:
        new_site(s)
    old = parse(changes(db)[-1]["hlc"])
    later = (old.wall + 3_600_000) * 1_000_000
    monkeypatch.setattr("pm_cli.store.hlc.time.time_ns", lambda: later)
    with scope() as s:
        new_site(s, code="B")
    new = parse(changes(db)[-1]["hlc"])
    assert (new.wall, new.counter) == (old.wall + 3_600_000, 0)


def test_clock_offset_in_sync_state_is_applied(db, scope, monkeypatch):
    con = sqlite3.connect(db)
    con.execute("UPDATE sync_state SET clock_offset_ms = 7200000")
    con.commit()
    con.close()
    now_ms = parse(sync_state(db)[1]).wall + 10
    monkeypatch.setattr("pm_cli.store.hlc.time.time_ns", lambda: now_ms * 1_000_000)
    with scope() as s:
        new_site(s)
    assert parse(changes(db)[-1]["hlc"]).wall == now_ms + 7_200_000


def test_bulk_create_stamps_every_row_and_logs_one_change_each(db, scope):
    from pm_cli.grids.models import Grid
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
        n = write.bulk_create(
            s,
            Grid,
            site_id=site.id,
            rows=[
                {"code": f"G{i}", "name": f"网格{i}", "risk_level": "major", "tags": ["消防"]}
                for i in range(3)
            ],
        )
        assert n == 3
    log = changes(db)
    assert [c["local_no"] for c in log] == [1, 2, 3, 4]
    assert [c["entity"] for c in log] == ["site", "grid", "grid", "grid"]
    stamps = [c["hlc"] for c in log]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert sync_state(db)[1] == stamps[-1]
    for i, c in enumerate(log[1:]):
        row = raw_row(db, "grid", c["record_id"])
        assert (row["code"], row["name"], row["site_id"]) == (f"G{i}", f"网格{i}", site.id)
        assert json.loads(row["tags"]) == ["消防"]
        assert c["op"] == "upsert" and c["base"] == {}
        assert {k: c["fields"][k] for k in ("code", "name", "risk_level", "tags")} == {
            "code": f"G{i}",
            "name": f"网格{i}",
            "risk_level": "major",
            "tags": ["消防"],
        }
        # every stored field carries this row's own stamp
        assert set(row["field_hlc"].values()) == {c["hlc"]}, row["field_hlc"]
        assert {"created_at", "code", "name"} <= set(row["field_hlc"])
        assert row["updated_hlc"] == c["hlc"]


def test_bulk_create_logs_each_chunk_in_order_after_earlier_rows_and_writes(db, scope):
    """The change rows are made from the rows just inserted: across chunk boundaries, after
    rows already in the table and after a one-row write in the same transaction, each row has
    exactly one change, numbered on from the log, with the row's values as JSON."""
    from pm_cli.grids.models import Grid
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
        write.bulk_create(s, Grid, site_id=site.id, rows=[{"code": "A", "name": "甲"}])
    n = write.CHUNK + 2
    with scope() as s:
        from pm_cli.sites.models import Site

        site = s.get(Site, site.id)
        write.update(s, site, name="翠湖花园二期")  # logged first, in this transaction
        write.bulk_create(
            s,
            Grid,
            site_id=site.id,
            rows=(
                {
                    "code": f"G{i}",
                    "name": f"网格 {i}",
                    "tags": ["消防", f"t{i % 3}"],
                    "parent_id": None if i % 2 else "p",
                }
                for i in range(n)
            ),
        )
    log = changes(db)
    assert [c["local_no"] for c in log] == list(range(1, n + 4))
    grids = [c for c in log if c["entity"] == "grid"]
    assert [c["fields"]["code"] for c in grids] == ["A", *[f"G{i}" for i in range(n)]]
    assert log[2]["entity"] == "site" and log[2]["fields"] == {"name": "翠湖花园二期"}
    con = sqlite3.connect(db)
    try:
        stored = {
            r[0]: r[1:] for r in con.execute("SELECT id, code, updated_hlc, created_at FROM grid")
        }
    finally:
        con.close()
    assert len(stored) == n + 1 == len(grids)
    for c in grids:
        code, hlc, created_at = stored[c["record_id"]]
        assert c["change_id"] == c["record_id"]  # a creation's change has the record's id
        assert (c["fields"]["code"], c["hlc"], c["fields"]["created_at"]) == (code, hlc, created_at)
        assert c["state"] == "pending" and c["op"] == "upsert"
    last = grids[-1]["fields"]
    i = n - 1
    assert last["tags"] == ["消防", f"t{i % 3}"]  # a list, not the text of one
    assert last["parent_id"] == (None if i % 2 else "p")
    assert last["risk_level"] == "minor" and last["owner_id"] is None


def test_bulk_update_logs_only_rows_and_fields_that_changed(db, scope):
    from sqlmodel import select

    from pm_cli.grids.models import Grid
    from pm_cli.store import write

    with scope() as s:
        site = new_site(s)
        for i in range(3):
            write.create(
                s,
                Grid,
                site_id=site.id,
                code=f"G{i}",
                name=f"网格{i}",
                risk_level="minor",
                tags=["消防"],
            )
    with scope() as s:
        grids = list(s.exec(select(Grid).order_by(Grid.code)))
        edits = [
            (grids[0], {"name": "改名"}),
            (grids[1], {"name": "网格1"}),
            (grids[2], {"risk_level": "critical", "tags": ["消防", "电梯"]}),
        ]
        assert write.bulk_update(s, Grid, edits) == 2
        assert grids[0].name == "改名"  # loaded rows see the new values
        ids = [g.id for g in grids]
    log = changes(db)
    assert [c["local_no"] for c in log] == [1, 2, 3, 4, 5, 6]
    made = {c["record_id"]: c["hlc"] for c in log[1:4]}
    upd0, upd2 = log[4], log[5]
    assert upd0["record_id"] == ids[0] and upd2["record_id"] == ids[2]
    assert upd0["fields"] == {"name": "改名"}
    assert upd0["base"] == {"name": made[ids[0]]}
    assert upd2["fields"] == {"risk_level": "critical", "tags": ["消防", "电梯"]}
    assert upd2["base"] == dict.fromkeys(("risk_level", "tags"), made[ids[2]])
    g0 = raw_row(db, "grid", ids[0])
    assert g0["name"] == "改名" and g0["field_hlc"]["name"] == upd0["hlc"]
    assert g0["field_hlc"]["code"] == made[ids[0]] and g0["updated_hlc"] == upd0["hlc"]
    g1 = raw_row(db, "grid", ids[1])
    assert g1["updated_hlc"] == made[ids[1]]
    stamps = [c["hlc"] for c in log]
    assert stamps == sorted(stamps) and len(set(stamps)) == 6


def test_writing_without_pm_init_state_is_refused(tmp_path):
    """A file with the schema but no sync_state row cannot stamp: the user is told to init."""
    from pm_cli.db import service
    from pm_cli.errors import StoreError
    from pm_cli.store.engine import make_engine, session_scope

    path = tmp_path / "bare.db"
    service.init_db(path)
    con = sqlite3.connect(path)
    con.execute("DELETE FROM sync_state")
    con.commit()
    con.close()
    e = make_engine(path)
    try:
        with pytest.raises(StoreError, match="device id"), session_scope(e, path, write=True) as s:
            new_site(s)
    finally:
        e.dispose()


def synced(db: Path) -> None:
    """Mark the database as one that has synced: from then on appends are logged as made."""
    con = sqlite3.connect(db)
    try:
        con.execute("UPDATE sync_state SET appends_logged = 1")
        con.commit()
    finally:
        con.close()


def test_bulk_append_logs_each_row_whole_as_append_does_and_refuses_a_bad_value(db, scope):
    from pm_cli.errors import UsageError
    from pm_cli.pdca.models import PdcaEvent
    from pm_cli.store import write

    synced(db)
    with scope() as s:
        site_id = new_site(s).id
        one = write.append(
            s,
            PdcaEvent,
            site_id=site_id,
            pdca_id="item-1",
            kind="comment",
            note="单条 one by one",
            created_at="2026-03-01T08:00:00.000Z",
        )
        one_id = one.id
        n = write.bulk_append(
            s,
            PdcaEvent,
            site_id=site_id,
            rows=[
                {
                    "pdca_id": "item-1",
                    "kind": "comment",
                    "note": f"批量 bulk {i}",
                    "created_at": f"2026-03-0{i + 2}T08:00:00.000Z",
                }
                for i in range(3)
            ],
        )
    assert n == 3
    logged = [c for c in changes(db) if c["entity"] == "pdca_event"]
    assert [c["op"] for c in logged] == ["append"] * 4
    assert [c["local_no"] for c in logged] == sorted(c["local_no"] for c in logged)
    stamps = [c["hlc"] for c in logged]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    single, *bulk = logged
    assert single["record_id"] == one_id
    for c in logged:  # the row as stored is the change's payload, stamp included
        row = raw_row_plain(db, "pdca_event", c["record_id"])
        assert row["hlc"] == c["hlc"] and row["created_at"] == c["fields"]["created_at"]
        assert row["note"] == c["fields"]["note"] and c["fields"]["pdca_id"] == "item-1"
    assert [c["fields"]["created_at"][:10] for c in bulk] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]  # backdated as given
    before = len(changes(db))
    with pytest.raises(UsageError, match="kind"), scope() as s:
        write.bulk_append(
            s,
            PdcaEvent,
            site_id=site_id,
            rows=[
                {"pdca_id": "item-1", "kind": "comment"},
                {"pdca_id": "item-1", "kind": "gossip"},
            ],
        )
    assert len(changes(db)) == before  # nothing of the refused batch was written


def raw_row_plain(db: Path, table: str, row_id: str) -> dict:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return dict(con.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone())
    finally:
        con.close()


def test_before_the_first_sync_appends_are_logged_at_once_in_stamp_order(db, scope, engine):
    """A database that never synced keeps append-only rows out of the log; the first sync's
    backlog logs each as `append` with the whole row, interleaved with the other changes
    by stamp, and from then on appends are logged as they are made."""
    from pm_cli.pdca.models import PdcaEvent
    from pm_cli.store import write
    from pm_cli.store.engine import connection_scope
    from pm_cli.sync import backlog

    with scope() as s:
        site_id = new_site(s).id
        one = write.append(
            s, PdcaEvent, site_id=site_id, pdca_id="item-1", kind="comment", note="单条 one by one"
        )
        write.bulk_append(
            s,
            PdcaEvent,
            site_id=site_id,
            rows=[{"pdca_id": "item-1", "kind": "comment", "note": f"批量 {i}"} for i in range(3)],
        )
        new_site(s, code="XY", name="second")
    assert [c["entity"] for c in changes(db)] == ["site", "site"]  # no pdca_event yet
    with connection_scope(engine, db, write=True) as conn:
        assert backlog.pending_rows(conn) == 4
        assert backlog.log_appends(conn) == 4
    with connection_scope(engine, db, write=True) as conn:
        assert backlog.log_appends(conn) == 0 and backlog.pending_rows(conn) == 0
    logged = changes(db)
    assert [c["entity"] for c in logged] == ["site"] + ["pdca_event"] * 4 + ["site"]
    assert [c["local_no"] for c in logged] == list(range(1, 7))
    assert [c["hlc"] for c in logged] == sorted(c["hlc"] for c in logged)
    events = logged[1:5]
    assert events[0]["record_id"] == one.id
    for c in events:
        row = raw_row_plain(db, "pdca_event", c["record_id"])
        assert c["op"] == "append" and c["change_id"] == row["id"] and c["hlc"] == row["hlc"]
        assert c["site_id"] == site_id and c["state"] == "pending" and c["base"] == {}
        assert c["fields"]["note"] == row["note"] and c["fields"]["pdca_id"] == "item-1"
        assert c["fields"]["created_at"] == row["created_at"]
        assert c["fields"]["data"] == json.loads(row["data"])  # JSON stays JSON
        assert "id" not in c["fields"] and "hlc" not in c["fields"]
    with scope() as s:  # logged as made from now on
        later = write.append(
            s, PdcaEvent, site_id=site_id, pdca_id="item-1", kind="comment", note="after"
        )
    assert changes(db)[-1]["record_id"] == later.id and changes(db)[-1]["local_no"] == 7
