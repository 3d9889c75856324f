"""Applying pulled changes (and snapshot rows) to the laptop's SQLite file: the same merge as
the server, a page at a time — one SELECT per entity for the rows a page touches, the merge in
memory, then one executemany per entity for new rows and one for changed rows. No ORM object
per row, nothing logged (these are not this laptop's writes)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import merge as m
from pm_cli.protocol import rows
from pm_cli.protocol.entities import Entity, registry
from pm_cli.store import tables
from pm_cli.store.engine import json_text

CHUNK = 500  # ids per IN (…) list


class Applier:
    """Applies pages of pulled changes on a connection inside the caller's transaction."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.reg = registry()
        self.applied = self.skipped = self.parked = 0

    # ---- reading ------------------------------------------------------------------------

    def own(self, change_ids: list[str]) -> set[str]:
        t = tables.change
        out: set[str] = set()
        for i in range(0, len(change_ids), CHUNK):
            out |= set(
                self.conn.execute(
                    sa.select(t.c.change_id).where(t.c.change_id.in_(change_ids[i : i + CHUNK]))
                ).scalars()
            )
        return out

    def _load(self, ent: Entity, ids: list[str]) -> dict[str, m.State]:
        t = ent.table
        out: dict[str, m.State] = {}
        for i in range(0, len(ids), CHUNK):
            for row in self.conn.execute(sa.select(t).where(t.c.id.in_(ids[i : i + CHUNK]))):
                data = row._asdict()
                stamps = (
                    {"hlc": data["hlc"]} if ent.kind == "append" else dict(data["field_hlc"] or {})
                )
                out[data["id"]] = m.State({k: data[k] for k in ent.fields}, stamps)
        return out

    def park(self, item: dict[str, Any], reason: str) -> None:
        """Keep what this pm cannot apply (a change by its seq; a snapshot row below 0)."""
        t = tables.sync_parked
        seq = item.get("seq")
        if seq is None:
            low = self.conn.execute(sa.select(sa.func.min(t.c.seq))).scalar()
            seq = min(low or 0, 0) - 1
        if not self.conn.execute(sa.select(t.c.seq).where(t.c.seq == seq)).first():
            self.conn.execute(t.insert().values(seq=seq, change=item, reason=reason))
        self.parked += 1

    def _known(
        self, item: dict[str, Any], *stamp_maps: str
    ) -> tuple[Entity, dict[str, Any]] | None:
        """The entity and what of the item this pm knows. An unknown entity is parked whole;
        unknown fields park the whole item too, and the known ones apply now (sync.md §5):
        a replay after the upgrade merges the rest, the stamps making the repeat a no-op."""
        ent = self.reg.get(item["entity"])
        if ent is None:
            self.park(item, f"unknown entity {item['entity']} (a newer pm wrote it)")
            return None
        if ent.fields.issuperset(item["fields"]):
            return ent, item
        unknown = set(item["fields"]) - ent.fields
        self.park(item, f"unknown field(s) {', '.join(sorted(unknown))} of {ent.name}")
        known = {**item, "fields": {k: v for k, v in item["fields"].items() if k in ent.fields}}
        for name in stamp_maps:
            known[name] = {k: v for k, v in (item.get(name) or {}).items() if k not in unknown}
        return ent, known

    # ---- applying -----------------------------------------------------------------------

    def apply_changes(self, changes: list[dict[str, Any]]) -> None:
        """A page of pulled changes, in seq order (this laptop's own are no-ops)."""
        own = self.own([c["change_id"] for c in changes])
        self.skipped += len(own)
        todo = [
            hit
            for c in changes
            if c["change_id"] not in own and (hit := self._known(c, "base")) is not None
        ]
        self._fold(
            [(ent, c["record_id"], c["site_id"], c) for ent, c in todo],
            lambda ent, state, c: m.merge(ent.kind, state, c),
        )

    def replay_parked(self) -> int:
        """Apply the parked changes and snapshot rows this pm now knows whole (an upgrade
        added their entity or field), in seq order; the rest stay parked."""
        t = tables.sync_parked
        rows = self.conn.execute(sa.select(t.c.seq, t.c.change).order_by(t.c.seq)).all()
        ready = [
            (seq, item)
            for seq, item in rows
            if (ent := self.reg.get(item.get("entity"))) is not None
            and not set(item.get("fields") or {}) - ent.fields
        ]
        if not ready:
            return 0
        before = self.parked
        for i in range(0, len(ready), CHUNK):
            page = [item for _seq, item in ready[i : i + CHUNK]]
            self.apply_records([x for x in page if "change_id" not in x])
            self.apply_changes([x for x in page if "change_id" in x])
            self.conn.execute(t.delete().where(t.c.seq.in_([q for q, _ in ready[i : i + CHUNK]])))
        assert self.parked == before  # all known: nothing parked again
        return len(ready)

    def apply_records(self, records: list[dict[str, Any]]) -> None:
        """A page of snapshot rows: whole records with their per-field stamps."""
        todo = []
        for r in records:
            hit = self._known(r, "field_hlc")
            if hit is not None:
                todo.append((hit[0], r["record_id"], r["site_id"], hit[1]))

        def fold(ent: Entity, state: m.State | None, r: dict[str, Any]) -> m.Merged:
            remote = m.State(r["fields"], r["field_hlc"])
            new = m.merge_state(ent.kind, state, remote)
            return m.Merged(
                new,
                "superseded" if state is not None and (new.stamps == state.stamps) else "applied",
                [],
            )

        self._fold(todo, fold)

    def _fold(self, items: list[tuple[Entity, str, str, dict[str, Any]]], fold: Any) -> None:
        by_ent: dict[str, list[str]] = defaultdict(list)
        ents: dict[str, Entity] = {}
        for ent, rid, _site, _x in items:
            by_ent[ent.name].append(rid)
            ents[ent.name] = ent
        stored = {name: self._load(ents[name], ids) for name, ids in by_ent.items()}
        states: dict[tuple[str, str], m.State] = {}
        sites: dict[tuple[str, str], str] = {}
        dirty: set[tuple[str, str]] = set()
        for ent, rid, site, item in items:
            key = (ent.name, rid)
            state = states.get(key) or stored[ent.name].get(rid)
            merged = fold(ent, state, item)
            if merged.outcome != "applied":
                self.skipped += 1
                continue
            states[key], sites[key] = merged.state, site
            dirty.add(key)
            self.applied += 1
        inserts: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        updates: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for key in dirty:
            name, rid = key
            ent, state = ents[name], states[key]
            plan = _plan(ent)
            if rid in stored[name]:
                if ent.kind == "mutable":
                    updates[name].append(plan.update_row(rid, state))
            else:
                inserts[name].append(plan.insert_row(rid, sites[key], state))
        # plain DBAPI executemany with the JSON already text: no per-row SQLAlchemy work
        for name, batch in inserts.items():
            self.conn.exec_driver_sql(_plan(ents[name]).insert_sql, batch)
        for name, batch in updates.items():
            self.conn.exec_driver_sql(_plan(ents[name]).update_sql, batch)


class _Plan:
    """How rows of one entity are written: column order, blanks, JSON columns."""

    def __init__(self, ent: Entity):
        t = self.table = ent.table
        self.ent = ent
        self.cols = [c.name for c in t.c]
        self.blank = rows.blanks(t)[0]  # read only: its JSON blank is encoded at once
        self.json = {c.name for c in t.c if isinstance(c.type, sa.JSON)}
        self.json_at = [i for i, c in enumerate(self.cols) if c in self.json]
        self.fields = [c for c in self.cols if c in ent.fields]
        self.insert_sql = (
            f"INSERT INTO {t.name} ({', '.join(self.cols)}) "
            f"VALUES ({', '.join('?' * len(self.cols))})"
        )
        self.upd = [*self.fields, "field_hlc", "updated_hlc"]
        self.update_sql = (
            f"UPDATE {t.name} SET {', '.join(f'{c} = ?' for c in self.upd)} WHERE id = ?"
        )

    def _cell(self, col: str, value: Any) -> Any:
        if col in self.json:
            return None if value is None else json_text(value)
        return value

    def insert_row(self, rid: str, site: str, state: m.State) -> tuple[Any, ...]:
        # a company-wide row (a playbook) has site_id '' on the wire, NULL here
        values = rows.row_of(self.ent, self.table, rid, site or None, state)
        row = [values[c] for c in self.cols]
        for i in self.json_at:
            if row[i] is not None:
                row[i] = json_text(row[i])
        return tuple(row)

    def update_row(self, rid: str, state: m.State) -> tuple[Any, ...]:
        f = state.fields
        return (
            *(self._cell(c, f.get(c, self.blank[c])) for c in self.fields),
            self._cell("field_hlc", state.stamps),
            state.updated_hlc,
            rid,
        )


_PLANS: dict[str, _Plan] = {}


def _plan(ent: Entity) -> _Plan:
    plan = _PLANS.get(ent.name)
    if plan is None:
        plan = _PLANS[ent.name] = _Plan(ent)
    return plan
