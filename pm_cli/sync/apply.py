"""Applying pulled changes to the laptop's SQLite file: the same merge as the server, plain
Core statements (no ORM object per row), never logged (they are not this laptop's writes)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.store.changes import Change, SyncParked
from pm_cli.sync import merge as m
from pm_cli.sync.entities import Entity, registry


def _blank(col: sa.Column) -> Any:  # type: ignore[type-arg]
    """A value for a NOT NULL column a partial record does not carry yet."""
    if col.server_default is not None or col.nullable:
        return None
    t = col.type
    if isinstance(t, sa.JSON):
        return {}
    if isinstance(t, sa.Boolean):
        return False
    if isinstance(t, sa.Integer | sa.Float | sa.Numeric):
        return 0
    return ""


class Applier:
    """Applies one pulled change at a time on a connection inside the caller's transaction."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.reg = registry()
        self.applied = self.skipped = self.parked = 0

    def own(self, change_ids: list[str]) -> set[str]:
        t = Change.__table__  # type: ignore[attr-defined]
        return set(self.conn.execute(sa.select(t.c.change_id).where(
            t.c.change_id.in_(change_ids))).scalars())

    def park(self, ch: dict[str, Any], reason: str) -> None:
        t = SyncParked.__table__  # type: ignore[attr-defined]
        if not self.conn.execute(sa.select(t.c.seq).where(t.c.seq == ch["seq"])).first():
            self.conn.execute(t.insert().values(seq=ch["seq"], change=ch, reason=reason))
        self.parked += 1

    def apply(self, ch: dict[str, Any]) -> None:
        ent = self.reg.get(ch["entity"])
        if ent is None:
            self.park(ch, f"unknown entity {ch['entity']} (a newer pm wrote it)")
            return
        unknown = set(ch["fields"]) - ent.fields
        if unknown:
            self.park(ch, f"unknown field(s) {', '.join(sorted(unknown))} of {ent.name}")
            return
        if ent.kind == "append":
            self._append(ent, ch)
        else:
            self._mutable(ent, ch)

    def _append(self, ent: Entity, ch: dict[str, Any]) -> None:
        t = ent.table
        if self.conn.execute(sa.select(t.c.id).where(t.c.id == ch["record_id"])).first():
            self.skipped += 1
            return
        row = {c.name: _blank(c) for c in t.c if c.name not in ("id",)}
        row = {k: v for k, v in row.items() if v is not None}
        row.update(ch["fields"])
        row.update(id=ch["record_id"], site_id=ch["site_id"] or None, hlc=ch["hlc"])
        self.conn.execute(t.insert().values(**row))
        self.applied += 1

    def _mutable(self, ent: Entity, ch: dict[str, Any]) -> None:
        t = ent.table
        row = self.conn.execute(sa.select(t).where(t.c.id == ch["record_id"])).first()
        state = None
        if row is not None:
            data = row._asdict()
            state = m.State({k: data[k] for k in ent.fields}, dict(data["field_hlc"] or {}))
        merged = m.merge("mutable", state, ch)
        if merged.outcome != "applied":
            self.skipped += 1
            return
        new = merged.state
        if row is None:
            values = {c.name: _blank(c) for c in t.c}
            values = {k: v for k, v in values.items() if v is not None}
            values.update({k: v for k, v in new.fields.items() if k in ent.fields})
            values.update(id=ch["record_id"], site_id=ch["site_id"] or None,
                          field_hlc=new.stamps, updated_hlc=new.updated_hlc)
            self.conn.execute(t.insert().values(**values))
        else:
            changed = {k: new.fields[k] for k in ch["fields"]
                       if new.stamps.get(k) == ch["hlc"]}
            self.conn.execute(t.update().where(t.c.id == ch["record_id"]).values(
                **changed, field_hlc=new.stamps, updated_hlc=new.updated_hlc))
        self.applied += 1
