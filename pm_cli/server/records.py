"""The server's records and change log: the typed record tables read and written as merge
states (`protocol.rows`, the laptop's mapping too), the records a push touches locked, the
change rows and the gap-free sequence (sync.md §3.1), conflicts as server-made changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import merge as m
from pm_cli.protocol import rows
from pm_cli.protocol.entities import registry
from pm_cli.protocol.shapes import SYNC_SCHEMA
from pm_cli.server import db
from pm_cli.server.auth import ServerClock
from pm_cli.store.hlc import parse
from pm_cli.store.ids import new_id

CHUNK = 500  # ids per IN (…) list


def log_changes(conn: sa.Connection, logged: list[dict[str, Any]]) -> int:
    """Number the rows with the counter (its lock held to COMMIT) and insert them; the last
    seq. Called last in a transaction: seq order is commit order."""
    insert = db.prepare_insert(conn, db.sync_change, logged, numbered="seq")
    last = conn.execute(
        db.sync_seq.update()
        .where(db.sync_seq.c.id == 1)
        .values(last=db.sync_seq.c.last + len(logged))
        .returning(db.sync_seq.c.last)
    ).scalar_one()
    insert(last - len(logged) + 1)
    return int(last)


Key = tuple[str, str]  # (entity, record id)


@dataclass(frozen=True)
class Stored:
    """A record as the server holds it: its site and its merge state."""

    site_id: str
    state: m.State


def table(entity: str) -> sa.Table:
    return db.records[entity]


def load(
    conn: sa.Connection, entity: str, ids: Iterable[str], *, lock: bool = False
) -> dict[str, Stored]:
    """The stored records of one entity by id (500 ids a query); `lock`: FOR UPDATE, in id
    order, so two pushes touching the same records cannot deadlock."""
    ent, t = registry()[entity], table(entity)
    todo = sorted(set(ids))
    out: dict[str, Stored] = {}
    for i in range(0, len(todo), CHUNK):
        stmt = sa.select(t).where(db.among(conn, t.c.id, todo[i : i + CHUNK]))
        if lock:
            stmt = stmt.order_by(t.c.id).with_for_update()
        for row in conn.execute(stmt).mappings():
            out[row["id"]] = Stored(row["site_id"], rows.state_of(ent, row))
    return out


def lock_records(conn: sa.Connection, keys: set[Key]) -> dict[Key, Stored]:
    """The stored records a batch touches, locked FOR UPDATE in (entity, id) order. An
    unknown entity holds nothing (its change is refused)."""
    by_entity: dict[str, list[str]] = {}
    for ent, rid in sorted(keys):
        if ent in db.records:
            by_entity.setdefault(ent, []).append(rid)
    return {
        (ent, rid): st
        for ent, ids in by_entity.items()
        for rid, st in load(conn, ent, ids, lock=True).items()
    }


def record_state(
    conn: sa.Connection, states: dict[Key, m.State | None], key: Key
) -> m.State | None:
    """A record as this batch leaves it: the batch's merge, else the stored row."""
    if key not in states:
        got = load(conn, key[0], [key[1]]).get(key[1]) if key[0] in db.records else None
        states[key] = None if got is None else got.state
    return states[key]


def save(
    conn: sa.Connection,
    states: dict[Key, m.State | None],
    site_of: dict[Key, str],
    stored: Iterable[Key],
) -> None:
    """Write what a batch merged: new records inserted whole, changed mutable records'
    values and stamps updated (one executemany per entity and shape); an append-only row
    already stored never changes."""
    held = set(stored)
    reg = registry()
    inserts: dict[str, list[dict[str, Any]]] = {}
    updates: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for key, state in states.items():
        if state is None or key not in site_of:
            continue
        ent = reg[key[0]]
        if key not in held:
            inserts.setdefault(key[0], []).append(
                rows.row_of(ent, table(key[0]), key[1], site_of[key], state)
            )
        elif ent.kind == "mutable":
            values = rows.changed_of(ent, state)
            updates.setdefault((key[0], tuple(sorted(values))), []).append(
                {**{f"v_{k}": v for k, v in values.items()}, "v__id": key[1]}
            )
    for name, batch in inserts.items():
        db.insert_many(conn, table(name), batch)
    for (name, cols), batch in updates.items():
        t = table(name)
        conn.execute(
            t.update()
            .where(t.c.id == sa.bindparam("v__id"))
            .values({c: sa.bindparam(f"v_{c}") for c in cols}),
            batch,
        )


def change_row(
    ch: dict[str, Any], received: str, token_id: str | None, schema: int
) -> dict[str, Any]:
    return {
        "change_id": ch["change_id"],
        "site_id": ch["site_id"],
        "entity": ch["entity"],
        "record_id": ch["record_id"],
        "op": ch["op"],
        "fields": ch["fields"],
        "base": ch.get("base") or {},
        "hlc": ch["hlc"],
        "device_id": parse(ch["hlc"]).device,
        "schema": schema,
        "token_id": token_id,
        "received_at": received,
    }


def conflict_change(
    ch: dict[str, Any],
    c: m.Conflict,
    clock: ServerClock,
    received: str,
    about: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A conflict the server found, as a change every laptop of the site pulls; about the
    change's own record unless `about` names another (entity, id): a child the change
    orphaned, the item of a transition."""
    hlc = clock.now()
    entity, record_id = about or (ch["entity"], ch["record_id"])
    fields = {
        "created_at": received,
        "entity": entity,
        "record_id": record_id,
        "field": c.field,
        "kind": c.kind,
        "winner_value": c.winner_value,
        "loser_value": c.loser_value,
        "winner_hlc": c.winner_hlc,
        "loser_hlc": c.loser_hlc,
        "winner_change": None if c.loser_is_change else ch["change_id"],
        "loser_change": ch["change_id"] if c.loser_is_change else None,
    }
    return {
        "change_id": new_id(),
        "site_id": ch["site_id"],
        "entity": "conflict",
        "record_id": new_id(),
        "op": "upsert",
        "fields": fields,
        "base": {},
        "hlc": hlc,
        "device_id": parse(hlc).device,
        "schema": SYNC_SCHEMA,
        "token_id": None,
        "received_at": received,
        "status": "server",
    }
