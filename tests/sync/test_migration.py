"""A server database made by the generic store (records as JSON field maps, before server
migration 0005) upgrades in place into the typed tables (issue: sync v2, 1 and 8): every
record arrives column for column with its stamps, the ones that break the field rules are
quarantined with their reasons and never served, and laptops sync on as before."""

from __future__ import annotations

import json
import sqlite3
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.sync.conftest import SYNCED, Laptop, _in_process, admin, snapshot


def _at(url: str, rev: str) -> None:
    from pm_cli.server import db

    engine = db.make_engine(url)
    try:
        db.migrate(engine, rev)
    finally:
        engine.dispose()


def _legacy(url: str, changes: list[dict[str, Any]], site: tuple[str, str]) -> None:
    """What the generic store held after these pushes: the change log, and each record's
    merged fields and stamps as JSON (the merge is the same one)."""
    from pm_cli.protocol import merge as m
    from pm_cli.protocol.entities import registry
    from pm_cli.store.hlc import parse

    md = sa.MetaData()
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn, warnings.catch_warnings():
            # 0004's expression index on sync_record is not reflected (nor needed here)
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            record = sa.Table("sync_record", md, autoload_with=conn)
            log = sa.Table("sync_change", md, autoload_with=conn)
            site_t = sa.Table("server_site", md, autoload_with=conn)
            seq_t = sa.Table("sync_seq", md, autoload_with=conn)
            conn.execute(
                site_t.insert().values(
                    site_id=site[0],
                    code=site[1],
                    name=site[1],
                    created_at="2026-11-01T00:00:00.000Z",
                )
            )
            states: dict[tuple[str, str], tuple[str, m.State]] = {}
            for ch in changes:
                key = (ch["entity"], ch["record_id"])
                kind = (
                    registry()[ch["entity"]].kind
                    if ch["entity"] in registry()
                    else ("append" if ch["op"] == "append" else "mutable")
                )
                old = states.get(key)
                states[key] = (ch["site_id"], m.merge(kind, old and old[1], ch).state)
            conn.execute(
                log.insert(),
                [
                    {
                        **ch,
                        "seq": n,
                        "device_id": parse(ch["hlc"]).device,
                        "schema": 8,
                        "status": "applied",
                        "token_id": None,
                        "received_at": "2026-11-01T00:00:00.000Z",
                    }
                    for n, ch in enumerate(changes, 1)
                ],
            )
            conn.execute(seq_t.update().values(last=len(changes)))
            conn.execute(
                record.insert(),
                [
                    {
                        "entity": e,
                        "record_id": r,
                        "site_id": s,
                        "fields": st.fields,
                        "field_hlc": st.stamps,
                        "updated_hlc": st.updated_hlc,
                        "code": str(st.fields.get("no" if e == "pdca" else "code")),
                    }
                    for (e, r), (s, st) in states.items()
                ],
            )
    finally:
        engine.dispose()


def _poison(site_id: str, device: str) -> list[dict[str, Any]]:
    """What laptops could push before the server checked anything."""
    from tests.sync.test_security import stamp

    def change(entity: str, fields: dict[str, Any], op: str = "upsert") -> dict[str, Any]:
        return {
            "change_id": str(uuid.uuid4()),
            "site_id": site_id,
            "entity": entity,
            "record_id": str(uuid.uuid4()),
            "op": op,
            "fields": fields,
            "base": {},
            "hlc": stamp(device),
        }

    return [
        change(
            "grid",
            {
                "code": "BAD",
                "name": {"zh": "对象"},
                "risk_level": "minor",
                "created_at": "2026-11-25T00:00:00.000Z",
            },
        ),
        change(
            "pdca",
            {
                "title": "huge",
                "description": "长" * 5_000_000,
                "created_at": "2026-11-25T00:00:00.000Z",
            },
        ),
        change("gizmo", {"whatever": 1}),
    ]


def _log_backlog(path: Path) -> None:
    from pm_cli.store.engine import connection_scope, make_engine
    from pm_cli.sync import backlog

    engine = make_engine(path)
    try:
        with connection_scope(engine, path, write=True) as conn:
            backlog.log_appends(conn)
    finally:
        engine.dispose()


def test_a_generic_store_with_a_demo_site_upgrades_in_place(database_url, tmp_path, monkeypatch):
    from pm_cli.server import db

    src = Laptop("src", tmp_path)
    src("init")
    src("demo")
    [(site_id, code)] = src.rows("site", "id", "code")
    [(device,)] = src.rows("sync_state", "device_id")
    _log_backlog(src.db)  # the whole log, as the laptop's first sync would push it
    con = sqlite3.connect(src.db)
    try:
        mine = [
            {
                "change_id": c,
                "site_id": s,
                "entity": e,
                "record_id": r,
                "op": o,
                "fields": json.loads(f),
                "base": json.loads(b),
                "hlc": h,
            }
            for c, s, e, r, o, f, b, h in con.execute(
                "SELECT change_id, site_id, entity, record_id, op, fields, base, hlc "
                "FROM change ORDER BY local_no"
            )
        ]
    finally:
        con.close()
    poison = _poison(site_id, device)
    _at(database_url, "0004")
    _legacy(database_url, mine + poison, (site_id, code))

    out = admin(database_url, "migrate").output
    assert f"0004 → {db.HEAD}" in out and "3 record(s)" in out and "record_quarantine" in out, out

    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            held = {
                name: {r["id"]: r for r in conn.execute(sa.select(t)).mappings()}
                for name, t in db.records.items()
            }
            quarantined = {
                r.record_id: r.reasons for r in conn.execute(sa.select(db.record_quarantine))
            }
            withheld = set(
                conn.execute(
                    sa.select(db.sync_change.c.change_id).where(
                        db.sync_change.c.status == "withheld"
                    )
                ).scalars()
            )
            assert not sa.inspect(conn).has_table("sync_record")
    finally:
        engine.dispose()
    # every record of the laptop, column for column with its stamps
    for table, cols in SYNCED.items():
        local = {row[0]: row for row in src.rows(table, *cols)}
        assert set(held[table]) == set(local), table
        for rid, row in local.items():
            for col, value in zip(cols, row, strict=True):
                got = held[table][rid][col]
                if col in ("field_hlc", "tags"):
                    value = json.loads(value)
                elif col == "deleted":
                    got, value = bool(got), bool(value)
                assert got == value, (table, rid, col)
    # the poison is kept aside with its reasons, and its changes are never served
    assert set(quarantined) == {p["record_id"] for p in poison}
    reasons = [" ".join(quarantined[p["record_id"]]) for p in poison]
    assert "name" in reasons[0] and "description" in reasons[1] and "gizmo" in reasons[2]
    assert withheld == {p["change_id"] for p in poison}

    # laptops sync on: a new one takes the server's copy; the one that made it all is in step
    admin(database_url, "user", "add", "alice", "--sites", code, "--role", "manager")
    gen = _in_process(database_url, monkeypatch)
    server = next(gen)
    try:
        fresh = Laptop("fresh", tmp_path)
        fresh("init")
        fresh("sync", "login", server.url, "--token", server.token("alice", "fresh"))
        fresh("sync")
        src("sync", "login", server.url, "--token", server.token("alice", "src"))
        src("sync")
        assert snapshot(fresh) == snapshot(src)
        assert not fresh.rows("grid", "id", "code") or "BAD" not in {
            c for _i, c in fresh.rows("grid", "id", "code")
        }
        for args in (("grid", "list"), ("pdca", "list"), ("today",), ("grid", "heatmap")):
            fresh(*args)
    finally:
        with pytest.raises(StopIteration):
            next(gen)


def test_the_migrated_schema_matches_the_models(database_url):
    """The server's migrations build exactly the tables the models declare (the typed record
    tables, column for column, and the server's own): a synced field added to a model
    without its server migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from pm_cli.server import db

    admin(database_url, "migrate")
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
    finally:
        engine.dispose()
    # the expression index of 0004 left with sync_record; nothing else may differ
    assert diff == [], diff
