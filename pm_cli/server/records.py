"""The server's records and change log: locking the records a push touches, the change rows
and the gap-free sequence (sync.md §3.1), conflicts as server-made changes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import merge as m
from pm_cli.server import db
from pm_cli.server.auth import ServerClock
from pm_cli.store.engine import SYNC_SCHEMA
from pm_cli.store.hlc import parse
from pm_cli.store.ids import new_id


def log_changes(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Number the rows with the counter (its lock held to COMMIT) and insert them; the last
    seq. Called last in a transaction: seq order is commit order."""
    last = conn.execute(db.sync_seq.update().where(db.sync_seq.c.id == 1)
                        .values(last=db.sync_seq.c.last + len(rows))
                        .returning(db.sync_seq.c.last)).scalar_one()
    first = last - len(rows) + 1
    for n, row in enumerate(rows):
        row["seq"] = first + n
    conn.execute(db.sync_change.insert(), rows)
    return int(last)


def code_of(entity: str, state: m.State) -> str | None:
    """The indexed lookup key of a record: its code, an item's number, an event's item, a
    playbook's id@version."""
    if entity == "playbook":
        f = state.fields
        return f"{f.get('playbook_id')}@{f.get('version')}" if f.get("playbook_id") else None
    name = {"pdca": "no", "pdca_event": "pdca_id"}.get(entity, "code")
    value = state.fields.get(name)
    return None if value is None else str(value)


def lock_records(conn: sa.Connection, keys: set[tuple[str, str]]
                  ) -> dict[tuple[str, str], Any]:
    """The stored records a batch touches, locked FOR UPDATE in (entity, id) order, so two
    pushes touching the same records cannot deadlock."""
    by_entity: dict[str, list[str]] = {}
    for ent, rid in sorted(keys):
        by_entity.setdefault(ent, []).append(rid)
    out: dict[tuple[str, str], Any] = {}
    r = db.sync_record.c
    for ent, ids in by_entity.items():
        for i in range(0, len(ids), 500):
            for row in conn.execute(sa.select(db.sync_record).where(
                    r.entity == ent, r.record_id.in_(ids[i:i + 500]))
                    .order_by(r.record_id).with_for_update()):
                out[(ent, row.record_id)] = row
    return out


def change_row(ch: dict[str, Any], received: str, token_id: str | None,
                schema: int) -> dict[str, Any]:
    return {"change_id": ch["change_id"], "site_id": ch["site_id"], "entity": ch["entity"],
            "record_id": ch["record_id"], "op": ch["op"], "fields": ch["fields"],
            "base": ch.get("base") or {}, "hlc": ch["hlc"],
            "device_id": parse(ch["hlc"]).device, "schema": schema, "token_id": token_id,
            "received_at": received}


def state_of(row: Any) -> m.State:
    """A stored record as the merge sees it."""
    return m.State(dict(row.fields), dict(row.field_hlc))


def record_state(conn: sa.Connection, states: dict[tuple[str, str], m.State | None],
                  key: tuple[str, str]) -> m.State | None:
    """A record as this batch leaves it: the batch's merge, else the stored row."""
    if key in states:
        return states[key]
    r = db.sync_record.c
    row = conn.execute(sa.select(r.fields, r.field_hlc).where(
        r.entity == key[0], r.record_id == key[1])).one_or_none()
    states[key] = None if row is None else state_of(row)
    return states[key]


def conflict_change(ch: dict[str, Any], c: m.Conflict, clock: ServerClock,
                     received: str, about: tuple[str, str] | None = None) -> dict[str, Any]:
    """A conflict the server found, as a change every laptop of the site pulls; about the
    change's own record unless `about` names another (entity, id): a child the change
    orphaned, the item of a transition."""
    hlc = clock.now()
    entity, record_id = about or (ch["entity"], ch["record_id"])
    fields = {"created_at": received, "entity": entity, "record_id": record_id,
              "field": c.field, "kind": c.kind, "winner_value": c.winner_value,
              "loser_value": c.loser_value, "winner_hlc": c.winner_hlc,
              "loser_hlc": c.loser_hlc,
              "winner_change": None if c.loser_is_change else ch["change_id"],
              "loser_change": ch["change_id"] if c.loser_is_change else None}
    return {"change_id": new_id(), "site_id": ch["site_id"], "entity": "conflict",
            "record_id": new_id(), "op": "upsert", "fields": fields, "base": {}, "hlc": hlc,
            "device_id": parse(hlc).device, "schema": SYNC_SCHEMA, "token_id": None,
            "received_at": received, "status": "server"}
