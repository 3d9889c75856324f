"""Evidence photos travel with sync (sync.md §4a), against the real server app over SQLite
and PostgreSQL: uploaded after the push, fetched on demand, refused when forged.

Each laptop here has a directory of its own, so its evidence store (beside its database) is
its own: a photo seen on laptop B came over the wire."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import Laptop, free_port
from tests.sync.test_security import creds, site_id_of

FIXTURE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "playbooks" / "test.water-daily.yaml"
)
PHOTO = b"\xff\xd8\xff\xe0" + "余氯 0.3 mg/L 末端龙头".encode() + bytes(range(256)) * 40


@pytest.fixture
def machine(tmp_path: Path, server):  # type: ignore[no-untyped-def]
    """machine("a", "alice"): a laptop in a directory of its own, logged in."""

    def make(name: str, user: str) -> Laptop:
        root = tmp_path / name
        root.mkdir()
        lp = Laptop(name, root)
        lp("init")
        lp("sync", "login", server.url, "--token", server.token(user, name))
        return lp

    return make


def record_run(a: Laptop, photo: Path) -> dict[str, Any]:
    """Site CH set up on `a`, and a water run whose chlorine reading has a photo."""
    a("site", "add", "CH", "--name", "翠湖花园", "--tz", "Asia/Shanghai")
    a("staff", "add", "S1", "--name", "张伟", "--role", "lead")
    a("grid", "add", "W", "--name", "水泵房 Pump room", "--owner", "S1")
    a("playbook", "import", str(FIXTURE))
    run = a.json("run", "start", "test.water-daily", "--grid", "W", "--by", "S1")
    a("run", "record", run["short"], "chlorine", "--value", "0.3", "--photo", str(photo))
    return run


def blobs(server) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from pm_cli.server import db

    engine = db.make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return {
                r.sha256: bytes(r.data)
                for r in conn.execute(sa.select(db.evidence_blob.c.sha256, db.evidence_blob.c.data))
            }
    finally:
        engine.dispose()


def evidence_of(lp: Laptop, run: str, *args: str) -> dict[str, Any]:
    rec = lp.json("run", "show", run, *args)
    return {r["step"]: r["evidence"] for r in rec["results"]}["chlorine"]


def test_a_photo_recorded_on_a_reaches_b(machine, server, tmp_path):
    photo = tmp_path / "余氯 chlorine.JPG"
    photo.write_bytes(PHOTO)
    sha = hashlib.sha256(PHOTO).hexdigest()
    a = machine("a", "alice")
    run = record_run(a, photo)
    ev = evidence_of(a, run["short"])
    assert ev["file"] == f"{sha}.jpg" and ev["status"] == "not yet uploaded"
    assert Path(ev["path"]).read_bytes() == PHOTO
    rec = a.json("sync")
    assert rec["photos"]["waiting_upload"] == 0 and rec["warnings"] == []
    assert blobs(server) == {sha: PHOTO}
    assert evidence_of(a, run["short"])["status"] == "uploaded"
    assert a.json("sync")["photos"]["waiting_upload"] == 0  # sent once
    assert blobs(server) == {sha: PHOTO}

    b = machine("b", "bob")
    b("sync")
    ev = evidence_of(b, run["short"])
    assert ev == {
        "file": f"{sha}.jpg",
        "sha256": sha,
        "path": None,
        "status": "not downloaded",
    }  # never a path that is not there
    shown = b("run", "show", run["short"]).stdout
    assert f"not downloaded: pm run show {run['short']} --photos" in shown
    assert str(b.db.parent) not in shown
    ev = evidence_of(b, run["short"], "--photos")
    assert ev["status"] == "uploaded" and Path(ev["path"]).read_bytes() == PHOTO
    assert Path(ev["path"]).is_relative_to(b.db.parent / "evidence")
    assert Path(ev["path"]).name == f"{sha}.jpg"
    shown = b("run", "show", run["short"]).stdout.replace("\n", "")
    assert "not downloaded" not in shown
    # what B's database holds names no path of A's laptop
    assert b.rows("step_result", "evidence_path") == [(f"{sha}.jpg",)]


def test_sync_photos_downloads_every_missing_photo_and_says_what_is_not_uploaded(
    machine, server, tmp_path
):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(PHOTO)
    a = machine("a", "alice")
    run = record_run(a, photo)
    second = tmp_path / "turbidity.png"
    second.write_bytes(b"\x89PNG second photo")
    a("run", "record", run["short"], "access", "fail", "--photo", str(second))
    a("sync", "--push")
    b = machine("b", "bob")
    rec = b.json("sync", "--photos")
    assert rec["photos"]["downloaded"] == 2
    store = b.db.parent / "evidence"
    assert sorted(p.read_bytes() for p in store.rglob("*") if p.is_file()) == sorted(
        [PHOTO, second.read_bytes()]
    )
    assert b.json("sync", "--photos")["photos"]["downloaded"] == 0  # all here now

    # a photo whose step result is on the server before its bytes
    third = tmp_path / "third.jpg"
    third.write_bytes(b"\xff\xd8 third")
    r2 = a.json("run", "start", "test.water-daily", "--grid", "W", "--by", "S1")
    a("run", "record", r2["short"], "chlorine", "--value", "0.5", "--photo", str(third))
    sha3 = hashlib.sha256(third.read_bytes()).hexdigest()
    # pushed by hand without its photo: the step result reaches the server, the bytes not
    h, _device = creds(a)
    import sqlite3

    con = sqlite3.connect(a.db)
    pending = [
        dict(
            zip(
                ("change_id", "site_id", "entity", "record_id", "op", "fields", "base", "hlc"),
                row,
                strict=True,
            )
        )
        for row in con.execute(
            "SELECT change_id, site_id, entity, record_id, op, fields, base, hlc FROM change "
            "WHERE state = 'pending' ORDER BY local_no"
        )
    ]
    con.close()
    for c in pending:
        c["fields"], c["base"] = json.loads(c["fields"]), json.loads(c["base"])
    r = server.http.post(server.url + "/sync/push", json={"changes": pending}, headers=h)
    assert r.status_code == 200, r.text
    rec = b.json("sync", "--photos")
    assert rec["photos"]["not_uploaded"] == 1
    ev = evidence_of(b, r2["short"])
    assert ev["status"] == "not yet uploaded" and ev["path"] is None
    assert "not yet uploaded" in b("run", "show", r2["short"]).stdout
    a("sync")  # its own changes come back answered duplicate; the photo goes now
    assert sha3 in blobs(server)
    assert evidence_of(b, r2["short"], "--photos")["status"] == "uploaded"


def test_a_photo_missing_from_the_store_is_a_warning_and_sync_goes_on(machine, server, tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(PHOTO)
    a = machine("a", "alice")
    run = record_run(a, photo)
    Path(evidence_of(a, run["short"])["path"]).unlink()
    r = a("sync")
    assert "warning: 1 photo(s) pushed from here are missing from the evidence store" in r.stderr
    assert "chlorine of run " + run["short"] in r.stderr
    assert "1 photo(s) of this laptop not yet uploaded" in r.stderr
    assert blobs(server) == {}
    b = machine("b", "bob")
    b("sync")
    assert [r["status"] for r in b.json("run", "list")] == ["open"]  # the rest came across
    ev = evidence_of(b, run["short"], "--photos")
    assert ev["status"] == "not yet uploaded" and ev["path"] is None


def test_forged_uploads_are_refused_and_nothing_is_stored(machine, server, tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(PHOTO)
    a = machine("a", "alice")
    record_run(a, photo)
    a("sync", "--push")  # the step result is on the server; its photo uploaded
    sha = hashlib.sha256(PHOTO).hexdigest()
    h, _ = creds(a)

    def put(name: str, body: bytes, headers: dict[str, str] = h) -> Any:
        return server.http.put(f"{server.url}/evidence/{name}", content=body, headers=headers)

    blobs_now = blobs(server)
    assert set(blobs_now) == {sha}
    # forged: the bytes do not hash to the name
    fake = hashlib.sha256(b"what the name says").hexdigest()
    r = put(sha, b"other bytes than the name")
    assert r.status_code == 422 and r.json()["error"] == "sha256_mismatch"
    assert set(r.json()) == {"error", "message", "where", "hint"}
    # too big: over the photo limit, declared or not
    from pm_cli.server.evidence import MAX_BYTES

    big = b"\xff" * (MAX_BYTES + 1)
    big_sha = hashlib.sha256(big).hexdigest()
    r = put(big_sha, big)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    # a sha256 no step result names (the right bytes for it): 403
    r = put(fake, b"what the name says")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    # not a sha256 at all
    assert put("../../etc/passwd", b"x").status_code in (404, 422)
    assert put("A" * 64, b"x").status_code == 422
    # another site's user: neither upload nor download
    x = machine("x", "xavier")
    hx, _ = creds(x)
    x("sync")  # binds the token to its device
    r = put(sha, PHOTO, headers=hx)
    assert r.status_code == 403
    assert server.http.get(f"{server.url}/evidence/{sha}", headers=hx).status_code == 403
    # no token
    versions = {"Pm-Protocol": "1", "Pm-Schema": "8"}
    assert server.http.get(f"{server.url}/evidence/{sha}", headers=versions).status_code == 401
    assert put(sha, PHOTO, headers=versions).status_code == 401
    assert blobs(server) == blobs_now  # nothing stored by any of them
    # the rightful upload again: idempotent
    r = put(sha, PHOTO)
    assert r.status_code == 200 and r.json()["stored"] is False
    assert blobs(server) == blobs_now
    # reading: 200 for granted, 404 for unknown
    r = server.http.get(f"{server.url}/evidence/{sha}", headers=h)
    assert r.status_code == 200 and r.content == PHOTO
    assert server.http.get(f"{server.url}/evidence/{fake}", headers=h).status_code == 404


def test_a_lead_of_the_site_may_upload_and_the_lookup_is_indexed(machine, server, tmp_path):
    from pm_cli.server import db

    photo = tmp_path / "p.jpg"
    photo.write_bytes(PHOTO)
    a = machine("a", "alice")
    record_run(a, photo)
    a("sync", "--push")
    b = machine("b", "bob")  # a lead of CH
    b("sync")
    sha = hashlib.sha256(PHOTO).hexdigest()
    hb, _ = creds(b)
    r = server.http.put(f"{server.url}/evidence/{sha}", content=PHOTO, headers=hb)
    assert r.status_code == 200, r.text  # already there: idempotent for any writer of runs
    engine = db.make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = "\n".join(
                    conn.exec_driver_sql(
                        "EXPLAIN SELECT site_id FROM step_result WHERE evidence_sha256 = 'x'"
                    ).scalars()
                )
            else:
                plan = "\n".join(
                    str(r[-1])
                    for r in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN SELECT site_id FROM step_result WHERE "
                        "evidence_sha256 = 'x'"
                    )
                )
            assert "ix_step_result_evidence" in plan, plan
            # and the query the server sends is that one
            from pm_cli.server.evidence import _named_by

            assert _named_by(conn, sha) == {site_id_of(a)}
    finally:
        engine.dispose()


def test_run_show_photos_offline_says_so(tmp_path):
    """Not logged in, and logged in to a server that does not answer: the run is shown with
    what this laptop has, and a line says why no photo came."""
    lp = Laptop("solo", tmp_path)
    lp("init")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(PHOTO)
    run = record_run(lp, photo)
    Path(evidence_of(lp, run["short"])["path"]).unlink()
    r = lp("run", "show", run["short"], "--photos")
    assert "offline: photos not downloaded: this laptop is not logged in" in r.stderr
    assert "not downloaded" in r.stdout
    lp.config.write_text(
        f'server = "http://127.0.0.1:{free_port()}"\ntoken = "pmt_x"\n', encoding="utf-8"
    )
    r = lp("run", "show", run["short"], "--photos")
    assert "offline: photos not downloaded: cannot reach the sync server" in r.stderr
    assert (
        json.loads(lp("run", "show", run["short"], "--photos", "--json").stdout)["id"] == run["id"]
    )
