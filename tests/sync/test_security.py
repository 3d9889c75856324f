"""Every refusal of sync.md §6 against the real server: 401, 403 (nothing applied), 409,
413, 422, 426; grants filter the pull; tokens are stored only as hashes."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from tests.sync.conftest import admin
from tests.sync.test_sync import setup_site

H = {"Pm-Protocol": "1", "Pm-Schema": "8"}


def creds(lp) -> tuple[dict[str, str], str]:  # type: ignore[no-untyped-def]
    token = lp.config.read_text().split('token = "')[1].split('"')[0]
    con = sqlite3.connect(lp.db)
    device = con.execute("SELECT device_id FROM sync_state").fetchone()[0]
    con.close()
    return {**H, "Authorization": f"Bearer {token}"}, device


def stamp(device: str, hours_ahead: float = 0) -> str:
    import time

    ms = int((time.time() + hours_ahead * 3600) * 1000)
    return f"{ms:012x}-0000-{device}"


def change(site_id: str, device: str, **kw: Any) -> dict[str, Any]:
    import uuid

    c = {
        "change_id": str(uuid.uuid4()),
        "site_id": site_id,
        "entity": "grid",
        "record_id": str(uuid.uuid4()),
        "op": "upsert",
        "fields": {"code": "X-1", "name": "x", "created_at": "2026-11-25T00:00:00.000Z"},
        "base": {},
        "hlc": stamp(device),
    }
    c.update(kw)
    return c


def site_id_of(lp, code: str = "CH") -> str:  # type: ignore[no-untyped-def]
    return {c: i for i, c in lp.rows("site", "id", "code")}[code]


def count(server) -> int:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from pm_cli.server import db

    engine = db.make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(db.sync_change)).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture
def synced(laptop):  # type: ignore[no-untyped-def]
    a = laptop("a", "alice")
    setup_site(a)
    a("sync")
    return a


def test_no_wrong_or_malformed_token_is_401(server):
    for h in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer pmt_unknown"},
        {"Authorization": "Basic abc"},
    ):
        for method, path, body in (
            ("POST", "/sync/hello", {"device_id": "0" * 16}),
            ("POST", "/sync/push", {"changes": []}),
            ("GET", "/sync/pull", None),
        ):
            r = server.http.request(method, server.url + path, json=body, headers={**H, **h})
            assert r.status_code == 401, (h, path, r.text)
            assert set(r.json()) == {"error", "message", "where", "hint"}


def test_a_revoked_token_fails_at_once(synced, server):
    admin(server.database_url, "token", "revoke", "alice")
    r = synced("sync", ok=False)
    assert r.exit_code != 0 and "revoked" in r.output and "401" in r.output


def test_changes_for_a_site_not_granted_are_each_refused(synced, laptop, server):
    x = laptop("x", "xavier")  # manager of XY only
    h, device = creds(x)
    server.http.post(server.url + "/sync/hello", json={"device_id": device}, headers=h)
    before = count(server)
    ok = change(site_id_of(synced), device)
    r = server.http.post(
        server.url + "/sync/push",
        json={"changes": [ok, ok | {"change_id": "c2", "record_id": "r2"}]},
        headers=h,
    )
    assert r.status_code == 403
    assert r.json()["where"][0].startswith("changes[0].site_id: site CH is not granted to xavier")
    assert r.json()["where"][1].startswith("changes[1].site_id: site CH is not granted")
    assert [x.get("record", "not shown") for x in r.json()["rejected"]] == ["not shown"] * 2
    assert count(server) == before  # nothing applied
    # on the laptop: a site of its own named CH is refused as not granted, and set aside
    x("site", "add", "CH", "--name", "冒名 Impostor")
    out = x("sync", ok=False)
    assert out.exit_code == 1 and "refused" in out.output and "not granted" in out.output
    assert x.json("sync", "status")["rejected"] >= 1


def test_a_second_site_with_a_taken_code_is_409_site_exists(synced, laptop, server):
    b = laptop("b", "bob")
    admin(server.database_url, "user", "add", "carol", "--sites", "CH", "--role", "admin")
    c = laptop("c", "carol")
    c("site", "add", "CH", "--name", "另一个 Another")
    r = c("sync", ok=False)
    assert r.exit_code != 0 and "already has a site CH" in r.output
    assert "pm site edit CH --code NEW" in r.output
    b("sync")
    assert b.json("site", "show", "CH")["name"] == "翠湖花园"
    c("site", "edit", "CH", "--code", "CH2")  # the fix the hint names
    r = c("sync", ok=False)
    assert r.exit_code == 1
    assert "not granted" in r.output  # CH2 is a new site code: carol needs it granted
    assert c.json("sync", "status")["rejected"] > 0
    admin(server.database_url, "user", "grant", "carol", "--sites", "CH2")
    r = c("sync", "--retry")
    assert "2 rejected change(s) queued again" in r.output and "warning" not in r.output
    assert c.json("sync", "status")["pending"] == c.json("sync", "status")["rejected"] == 0
    b("sync")
    assert [s["code"] for s in b.json("site", "list")] == ["CH"]  # bob has CH only
    admin(server.database_url, "user", "grant", "bob", "--sites", "CH2")
    b("sync")
    assert [s["code"] for s in b.json("site", "list")] == ["CH", "CH2"]


def test_pull_returns_only_granted_sites(synced, laptop, server):
    x = laptop("x", "xavier")
    x("site", "add", "XY", "--name", "西园 West park")
    x("--site", "XY", "grid", "add", "W", "--name", "西门")
    x("sync")
    synced("sync")
    assert [s["code"] for s in synced.json("site", "list")] == ["CH"]
    assert [s["code"] for s in x.json("site", "list")] == ["XY"]
    h, _ = creds(synced)
    lines = [
        json.loads(x)
        for x in server.http.get(server.url + "/sync/pull", headers=h).text.splitlines()
    ]
    xy = site_id_of(x, "XY")
    assert all(li.get("site_id") != xy for li in lines)


def test_a_withdrawn_site_leaves_the_laptop_after_its_changes_are_refused(synced, laptop, server):
    b = laptop("b", "bob")
    b("sync")
    b("site", "add", "ZZ", "--name", "本机的 only here")  # never on the server: it stays
    b("--site", "ZZ", "grid", "add", "Z1", "--name", "Z区")
    b("grid", "edit", "A", "--name", "离线改的 edited offline")
    b("--site", "CH", "report", "score", "--from", "-3")  # rollups of CH's days on the laptop
    with sqlite3.connect(b.db) as con:
        assert con.execute("SELECT count(*) FROM kpi_day_done").fetchone()[0] >= 3
    con.close()
    admin(server.database_url, "user", "grant", "bob", "--revoke", "CH")
    r = b("sync", ok=False)
    assert r.exit_code == 1  # its changes of CH were refused
    assert "site CH is no longer granted to you" in r.output
    assert [x["code"] for x in b.json("site", "list")] == ["ZZ"]
    assert [g["code"] for g in b.json("--site", "ZZ", "grid", "list")] == ["Z1"]
    con = sqlite3.connect(b.db)
    ch = site_id_of(synced)
    assert con.execute("SELECT count(*) FROM grid WHERE site_id = ?", (ch,)).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM number_block WHERE site_id = ?", (ch,)).fetchone() == (
        0,
    )
    for derived in ("kpi_day_done", "kpi_day", "rollup_dirty"):  # nothing derived stays
        assert con.execute(
            f"SELECT count(*) FROM {derived} WHERE site_id = ?", (ch,)
        ).fetchone() == (0,), derived
    con.close()
    assert b.json("sync", "status")["rejected"] >= 1  # the refused edit is kept
    synced("sync")
    assert synced.json("grid", "show", "A")["name"] == "A区 Zone A"  # nothing of it applied
    b("sync")  # a second sync has nothing more to say
    # the grant comes back: a snapshot brings the site back, --retry sends the kept edit
    admin(server.database_url, "user", "grant", "bob", "--sites", "CH")
    r = b("sync", "--retry", ok=False)  # bob, a lead, still may not bring site ZZ
    assert r.exit_code == 1 and "a lead may not write site" in r.output
    assert sorted(x["code"] for x in b.json("site", "list")) == ["CH", "ZZ"]
    assert b.json("grid", "show", "A")["name"] == "离线改的 edited offline"
    synced("sync")
    assert synced.json("grid", "show", "A")["name"] == "离线改的 edited offline"


def test_invalid_changes_are_422_with_their_paths_and_nothing_written(synced, server):
    h, device = creds(synced)
    sid = site_id_of(synced)
    before = count(server)
    cases = [
        (
            change(sid, device, fields={"colour": "red"}),
            "fields.colour: unknown field colour of grid",
        ),
        (change(sid, device, hlc="yesterday"), "changes.0.hlc"),
        (change(sid, device, entity="no_such"), "unknown entity"),
        (change(sid, device, op="append"), "grid takes upsert|delete|restore"),
    ]
    for bad, text in cases:
        r = server.http.post(server.url + "/sync/push", json={"changes": [bad]}, headers=h)
        assert r.status_code == 422, r.text
        assert any(text in w for w in r.json()["where"]), r.json()
    r = server.http.post(
        server.url + "/sync/push",
        json={"changes": [change(sid, device, hlc=stamp(device, hours_ahead=26))]},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"] == "clock_ahead"
    assert "26 h ahead" in r.json()["message"]
    assert count(server) == before


def test_size_limits_are_413(synced, server):
    h, device = creds(synced)
    sid = site_id_of(synced)
    many = [change(sid, device) for _ in range(501)]
    assert (
        server.http.post(server.url + "/sync/push", json={"changes": many}, headers=h).status_code
        == 413
    )
    big = change(sid, device, fields={"name": "x" * (5 * 1024 * 1024)})
    assert (
        server.http.post(server.url + "/sync/push", json={"changes": [big]}, headers=h).status_code
        == 413
    )


def test_versions_too_old_or_too_new_are_426_with_the_fix(synced, server):
    h, device = creds(synced)
    old = server.http.post(
        server.url + "/sync/hello", json={"device_id": device}, headers={**h, "Pm-Schema": "3"}
    )
    assert old.status_code == 426 and "upgrade pm" in old.json()["message"]
    new = server.http.post(
        server.url + "/sync/hello", json={"device_id": device}, headers={**h, "Pm-Schema": "99"}
    )
    assert new.status_code == 426 and new.json()["error"] == "upgrade_server"


def test_another_device_with_the_same_token_is_refused(synced, server):
    h, _ = creds(synced)
    r = server.http.post(server.url + "/sync/hello", json={"device_id": "f" * 16}, headers=h)
    assert r.status_code == 403 and r.json()["error"] == "wrong_device"


def test_sql_looking_text_is_stored_verbatim(synced, laptop):
    nasty = "'); DROP TABLE grid; -- 门"
    synced("grid", "add", "Z", "--name", nasty)
    synced("sync")
    b = laptop("b", "bob")
    b("sync")
    assert b.json("grid", "show", "Z")["name"] == nasty


def test_tokens_are_stored_only_as_hashes_and_health_and_openapi_answer(synced, server):
    import sqlalchemy as sa

    from pm_cli.server import db

    token = synced.config.read_text().split('token = "')[1].split('"')[0]
    engine = db.make_engine(server.database_url)
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.select(db.token))]
    engine.dispose()
    assert stored and not any(token in str(v) for row in stored for v in row)
    assert server.http.get(server.url + "/health").json()["status"] == "ok"
    spec = server.http.get(server.url + "/openapi.json").json()
    assert {"/sync/hello", "/sync/push", "/sync/pull", "/health"} <= set(spec["paths"])


@pytest.mark.live  # a chunked upload needs a real HTTP server reading a socket
def test_a_chunked_body_over_the_limit_is_413_too(synced, server):
    h, device = creds(synced)
    sid = site_id_of(synced)
    big = json.dumps({"changes": [change(sid, device, fields={"name": "门" * 2_000_000})]})

    def chunks():  # no Content-Length: the server must count as it reads
        data = big.encode()
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    r = server.http.post(
        server.url + "/sync/push",
        content=chunks(),
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_a_lead_pushes_the_bundled_playbooks_but_not_a_custom_one(synced, laptop):
    from pathlib import Path

    b = laptop("b", "bob")  # a lead
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"
    b("playbook", "import", str(fixture / "test.gate-check.yaml"))
    r = b("sync", ok=False)
    assert r.exit_code == 1 and "refused: 1 playbook change" in r.output
    assert "a lead may not write playbook" in r.output
    st = b.json("sync", "status")
    assert st["rejected"] == 1 and st["pending"] == 0  # the 56 bundled ones went through
    synced("sync")
    ids = {p["id"] for p in synced.json("playbook", "list")}
    assert "test.gate-check" not in ids
