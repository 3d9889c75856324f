"""Faults: the connection cut mid-push and mid-pull, the server SIGKILLed and restarted. The
next sync finishes with no duplicate and no lost change."""

from __future__ import annotations

import json

import pytest

from tests.sync.conftest import snapshot
from tests.sync.proxy import Proxy
from tests.sync.test_sync import setup_site


@pytest.fixture
def proxy(server):  # type: ignore[no-untyped-def]
    p = Proxy(int(server.url.rsplit(":", 1)[1]))
    yield p
    p.close()


def via(lp, url: str) -> None:  # type: ignore[no-untyped-def]
    """Point a laptop at another URL (the proxy) with the token it has."""
    text = lp.config.read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("server =")]
    lp.config.write_text("\n".join([*lines, f'server = "{url}"']) + "\n")


def server_changes(server) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from pm_cli.server import db

    engine = db.make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.select(db.sync_change.c.change_id, db.sync_change.c.seq).order_by(
                        db.sync_change.c.seq
                    )
                )
            ]
    finally:
        engine.dispose()


def assert_log_clean(server) -> None:  # type: ignore[no-untyped-def]
    rows = server_changes(server)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids))
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))


@pytest.mark.live
def test_a_push_whose_answer_is_lost_is_resent_and_answered_duplicate(laptop, server, proxy):
    a = laptop("a", "alice")
    setup_site(a)
    via(a, proxy.url)
    a("sync")  # hello through the proxy first
    for i in range(30):
        a("grid", "add", f"B-{i}", "--name", f"楼 {i}")
    # the server commits the push, then the connection drops before the answer arrives
    proxy.cut(down=20, path="/sync/push")
    r = a("sync")
    assert proxy.cut_count == 1
    assert "already there" in r.output  # the resent batch was recognised
    assert a.json("sync", "status")["pending"] == 0
    assert_log_clean(server)
    b = laptop("b", "bob")
    b("sync")
    assert snapshot(a) == snapshot(b)


@pytest.mark.live
def test_a_pull_cut_midway_resumes_at_the_saved_cursor(laptop, server, proxy):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")  # b's first sync (a snapshot); what follows comes by pull
    # more than one commit of the pull (every 1,000 changes)
    a("import", str(_grid_file(a, 1500)), "--kind", "grids")
    a("sync")
    via(b, proxy.url)
    before = b.json("sync", "status")["cursor"]
    proxy.cut(down=250_000, path="/sync/pull")  # the pull dies after ~250 kB
    r = b("sync", ok=False)
    assert r.exit_code != 0 and "cut during the pull" in r.output
    assert b.json("sync", "status")["cursor"] > before  # what arrived is kept, with its cursor
    b("sync")
    assert snapshot(a) == snapshot(b)
    assert_log_clean(server)


@pytest.mark.live
def test_a_first_sync_cut_midway_starts_again_and_converges(laptop, server, proxy):
    a = laptop("a", "alice")
    setup_site(a)
    a("import", str(_grid_file(a, 1500)), "--kind", "grids")
    a("sync")
    b = laptop("b", "bob")
    via(b, proxy.url)
    proxy.cut(down=150_000, path="/sync/snapshot")
    r = b("sync", ok=False)
    assert r.exit_code != 0 and "cut during the first sync" in r.output
    b("sync")
    assert snapshot(a) == snapshot(b)


def _grid_file(lp, n: int):  # type: ignore[no-untyped-def]
    path = lp.db.parent / "grids.csv"
    path.write_text(
        "code,name,parent\n" + "".join(f"I-{i:05d},导入 {i},A\n" for i in range(n)),
        encoding="utf-8",
    )
    return path


@pytest.mark.live
def test_the_server_killed_and_restarted_loses_nothing(laptop, server):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    server.stop()  # SIGKILL
    a("grid", "edit", "A", "--name", "离线编辑 offline edit")
    r = a("sync", ok=False)
    assert r.exit_code != 0 and "cannot reach the sync server" in r.output
    assert "nothing is lost" in r.output
    assert a.json("sync", "status")["pending"] == 1
    server.start()
    a("sync")
    b("sync")
    assert b.json("grid", "show", "A")["name"] == "离线编辑 offline edit"
    assert_log_clean(server)


def test_pull_lines_are_ndjson_with_a_header_and_an_end(laptop, server):
    a = laptop("a", "alice")
    setup_site(a)
    a("sync")
    token = a.config.read_text().split('token = "')[1].split('"')[0]
    r = server.http.get(
        server.url + "/sync/pull",
        params={"cursor": 0, "limit": 3},
        headers={"Authorization": f"Bearer {token}", "Pm-Protocol": "1", "Pm-Schema": "8"},
    )
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert [x["type"] for x in lines] == ["page", "change", "change", "change", "end"]
    assert lines[-1] == {"type": "end", "next_cursor": 3, "has_more": True}


def test_a_cursor_below_what_the_server_keeps_takes_a_fresh_snapshot(laptop, server):

    from pm_cli.server import db

    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    a("grid", "edit", "A", "--name", "压缩后 after compaction")
    a("sync")
    engine = db.make_engine(server.database_url)
    with engine.begin() as conn:  # as if the log had been compacted past b's cursor
        conn.execute(db.sync_seq.update().values(min_retained=db.sync_seq.c.last))
    engine.dispose()
    r = b("sync")
    assert "fresh start" in r.output
    assert b.json("grid", "show", "A")["name"] == "压缩后 after compaction"
    assert snapshot(a) == snapshot(b)


def test_a_restored_server_gets_the_laptops_changes_again(laptop, server):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    a("sync")
    b("sync")
    from pm_cli.server import db

    engine = db.make_engine(server.database_url)
    with engine.begin() as conn:  # a new epoch: as after a restore from a backup
        conn.execute(db.sync_seq.update().values(epoch="restored-epoch"))
    engine.dispose()
    r = a("sync")
    assert "new or restored" in r.output and "already there" in r.output
    assert a.json("sync", "status")["pending"] == 0
    b("sync")
    assert snapshot(a) == snapshot(b)
    assert_log_clean(server)


def test_a_copied_database_must_become_its_own_device(laptop, server, tmp_path):
    import shutil

    from tests.sync.conftest import Laptop

    a = laptop("a", "alice")
    setup_site(a)
    a("sync")
    c = Laptop("c", tmp_path)
    shutil.copy(a.db, c.db)  # a copy of a's file, on another laptop
    c("grid", "add", "COPY-1", "--name", "副本 copy")
    r = c("sync", "login", server.url, "--token", server.token("alice", "c"), ok=False)
    assert r.exit_code != 0 and "copied database" in r.output
    assert "pm sync reset-device" in r.output
    c("sync", "reset-device")
    c("sync", "login", server.url, "--token", server.token("alice", "c2"))
    c("sync")
    a("sync")
    assert a.json("grid", "show", "COPY-1")["name"] == "副本 copy"
    assert snapshot(a) == snapshot(c)
