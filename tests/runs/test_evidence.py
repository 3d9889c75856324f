"""The evidence store by content address, and migration 0010 turning the absolute paths an
older pm recorded into addresses."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from pm_cli.runs import evidence
from pm_cli.store.engine import SCHEMA_VERSION
from tests.db.test_cli import downgrade_to, sql, user_version

SHA = "ab" + "0" * 62


def test_a_photo_is_filed_by_the_hash_of_the_bytes_stored(tmp_path):
    src = tmp_path / "大堂 Lobby.JPG"
    src.write_bytes(b"\xff\xd8\xff\xe0 photo bytes")
    root = tmp_path / "evidence"
    addr, sha = evidence.store(src, root)
    assert sha == hashlib.sha256(src.read_bytes()).hexdigest()
    assert addr == f"{sha}.jpg"  # a name, not a path: the same on every machine
    stored = root / sha[:2] / addr
    assert stored.read_bytes() == src.read_bytes()
    assert evidence.path_of(root, addr) == stored
    assert [p.name for p in root.rglob("*") if p.is_file()] == [addr]  # no temp file left
    assert evidence.store(src, root) == (addr, sha)  # again: the same address, one file
    assert len([p for p in root.rglob("*") if p.is_file()]) == 1


def test_a_damaged_copy_in_the_store_is_replaced_by_good_bytes(tmp_path):
    src = tmp_path / "p.png"
    src.write_bytes(b"good bytes")
    root = tmp_path / "evidence"
    addr, _ = evidence.store(src, root)
    evidence.path_of(root, addr).write_bytes(b"bit rot")
    evidence.store(src, root)
    assert evidence.path_of(root, addr).read_bytes() == b"good bytes"


def test_the_size_cap_is_what_the_server_takes(tmp_path):
    from pm_cli.errors import PmError
    from pm_cli.server import evidence as server_evidence

    assert evidence.MAX_BYTES == server_evidence.MAX_BYTES
    big = tmp_path / "big.jpg"
    with big.open("wb") as f:
        f.truncate(evidence.MAX_BYTES + 1)
    with pytest.raises(PmError, match="larger than 20 MiB"):
        evidence.store(big, tmp_path / "evidence")
    with pytest.raises(evidence.TooLarge):
        evidence.write_stream(
            iter([b"x" * 10, b"y" * 10]), tmp_path / "evidence", ".jpg", max_bytes=15
        )
    assert not [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        (f"{SHA}.jpg", f"{SHA}.jpg"),
        (f"/home/张伟/.local/share/pm/evidence/ab/{SHA}.jpg", f"{SHA}.jpg"),
        (f"C:\\Users\\张伟\\AppData\\Local\\pm\\evidence\\ab\\{SHA}.JPG", f"{SHA}.jpg"),
        (f"/x/{SHA}", SHA),
        ("/x/photo.not-a-suffix", SHA),
        ("../../etc/passwd", SHA),  # pulled text names nothing outside the store
        ("c" * 64 + ".jpg", None),  # an address of other bytes than its sha256
    ],
)
def test_addresses_from_what_a_step_result_holds(recorded, expected):
    assert evidence.address_of(recorded, SHA) == expected
    assert evidence.address_of(recorded, "not-a-sha") is None


# ---- migration 0010 ----------------------------------------------------------------------


def _record(pm, run: str, step: str, photo: Path, *args: str) -> str:
    return pm.json("run", "record", run, step, *args, "--photo", str(photo))["evidence_sha256"]


def test_migration_turns_absolute_paths_into_addresses(pm, started, write_file, isolated, tmp_path):
    run = started["short"]
    root = isolated.parent / "evidence"
    a = write_file("a.jpg", b"\xff\xd8 first photo")
    b = write_file("b.JPEG", b"\xff\xd8 second photo")
    c = write_file("c.jpg", b"\xff\xd8 third photo")
    sha_a = _record(pm, run, "chlorine", a, "--value", "0.3")
    sha_b = _record(pm, run, "access", b, "fail")
    sha_c = _record(pm, run, "chlorine", c, "--value", "0.4")
    pm("run", "record", run, "turbidity", "--value", "0.2")  # no photo
    downgrade_to(isolated, "0009")  # back to absolute paths, as an older pm wrote them
    assert user_version(isolated) == 9
    rows = dict(
        sql(
            isolated,
            "SELECT evidence_sha256, evidence_path FROM step_result "
            "WHERE evidence_sha256 IS NOT NULL",
        )
    )
    assert all(Path(p).is_absolute() for p in rows.values())
    # the old store's race: the file's bytes are not what its recorded sha256 says
    old_b = Path(rows[sha_b])
    old_b.write_bytes(b"\xff\xd8 second photo, as it was really copied")
    true_b = hashlib.sha256(old_b.read_bytes()).hexdigest()
    # a photo file lost from the store
    Path(rows[sha_c]).unlink()
    # a photo kept outside the store (PM_EVIDENCE moved since)
    outside = tmp_path / "elsewhere" / "old.jpg"
    outside.parent.mkdir()
    outside.write_bytes(b"\xff\xd8 kept elsewhere")
    sha_out = hashlib.sha256(outside.read_bytes()).hexdigest()
    rid_a = sql(isolated, "SELECT id FROM step_result WHERE evidence_sha256 = ?", (sha_a,))[0][0]
    sql(
        isolated,
        "UPDATE step_result SET evidence_path = ?, evidence_sha256 = ? WHERE id = ?",
        (str(outside), sha_out, rid_a),
    )
    sql(
        isolated,
        "UPDATE change SET fields = json_set(fields, '$.evidence_path', ?, "
        "'$.evidence_sha256', ?) WHERE record_id = ?",
        (str(outside), sha_out, rid_a),
    )

    r = pm("db", "migrate")
    assert r.exit_code == 0
    assert user_version(isolated) == SCHEMA_VERSION
    got = sql(
        isolated,
        "SELECT id, evidence_path, evidence_sha256 FROM step_result "
        "WHERE evidence_sha256 IS NOT NULL ORDER BY created_at",
    )
    by_sha = {sha: path for _id, path, sha in got}
    assert by_sha == {
        sha_out: f"{sha_out}.jpg",
        true_b: f"{true_b}.jpeg",
        sha_c: f"{sha_c}.jpg",
    }  # the missing file keeps its recorded sha256
    assert (root / sha_out[:2] / f"{sha_out}.jpg").read_bytes() == outside.read_bytes()
    assert outside.exists()  # copied in, not taken from where the user keeps it
    assert not old_b.exists()  # moved to its true name inside the store
    assert hashlib.sha256((root / true_b[:2] / f"{true_b}.jpeg").read_bytes()).hexdigest() == true_b
    # the change log pushes addresses, never a path of this laptop
    for (fields,) in sql(isolated, "SELECT fields FROM change WHERE entity = 'step_result'"):
        f = json.loads(fields)
        assert f["evidence_path"] is None or evidence.is_address(f["evidence_path"]), f
    assert not [
        v
        for (v,) in sql(isolated, "SELECT fields FROM change")
        if str(root) in v or str(tmp_path) in v
    ]
    shown = {r["step"]: r["evidence"] for r in pm.json("run", "show", run)["results"]}
    assert shown["chlorine"]["sha256"] == sha_c and shown["chlorine"]["path"] is None
    assert shown["chlorine"]["status"] == "not downloaded"  # never a broken path
    assert shown["access"]["path"] == str(root / true_b[:2] / f"{true_b}.jpeg")
    assert pm("db", "migrate").exit_code == 0  # again: nothing left to do


def test_migration_on_a_database_without_photos(pm, started, isolated):
    pm("run", "record", started["short"], "turbidity", "--value", "0.2")
    downgrade_to(isolated, "0009")
    pm("db", "migrate")
    con = sqlite3.connect(isolated)
    try:
        assert con.execute("SELECT count(*) FROM evidence_copy").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM step_result").fetchone() == (1,)
    finally:
        con.close()
