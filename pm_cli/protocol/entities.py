"""The synced entities, read from the models: a table with `site_id` and either `field_hlc`
(mutable) or `hlc` (append-only). Field names for SQL come from here, never from a request."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

LOCAL_ONLY = frozenset({"change", "sync_state", "sync_parked", "number_block"})
BOOKKEEPING = frozenset({"id", "site_id", "field_hlc", "updated_hlc", "hlc"})
# who may write what (sync.md §6): a lead runs the site's work, not its set-up
SETUP = frozenset({"site", "staff", "playbook"})
ROLES = ("lead", "manager", "admin")
# a field naming another record by its id → that record's entity ("" = the record's own
# entity): the one map, for the server's checks on a push (`rules.references`) and for
# `pm db check` (`reference_columns`)
REFS: dict[str, str] = {
    "owner_id": "staff",
    "by_id": "staff",
    "grid_id": "grid",
    "parent_id": "",
    "pdca_id": "pdca",
    "run_id": "run",
    "checkpoint_id": "checkpoint",
    "route_id": "route",
    "drill_id": "drill",
    "drill_run_id": "drill_run",
    "risk_id": "risk",
    "walk_id": "route_walk",
    "from_id": "staff",
    "to_id": "staff",
}
# `*_id` fields REFS does not map: a step of the run's playbook (`step_id`); a playbook's own
# key, which a run names with its version (`playbook_id`, `playbook_version`); a conflict's
# record, of the entity its `entity` field names (`record_id`). `pm db check` checks the
# last two its own way.
NOT_REFS = frozenset({"step_id", "playbook_id", "record_id"})


@dataclass(frozen=True)
class Entity:
    name: str
    kind: str  # mutable | append
    fields: frozenset[str]  # what a change may set
    json_fields: frozenset[str]
    table: Any  # its SQLAlchemy Core Table (store.tables), for queries


@cache
def registry() -> dict[str, Entity]:
    from sqlalchemy import JSON

    from pm_cli.store import tables  # Core copies of the models' tables

    out = {}
    for name, table in tables.every().items():
        cols = set(table.c.keys())
        if name in LOCAL_ONLY or "site_id" not in cols:
            continue
        if "field_hlc" in cols:
            kind = "mutable"
        elif "hlc" in cols:
            kind = "append"
        else:
            continue
        out[name] = Entity(
            name,
            kind,
            frozenset(cols - BOOKKEEPING),
            frozenset(
                c.name for c in table.c if isinstance(c.type, JSON) and c.name not in BOOKKEEPING
            ),
            table,
        )
    return out


def may_write(role: str, entity: str) -> bool:
    return role in ("manager", "admin") or entity not in SETUP


def reference_columns() -> list[tuple[str, str, str]]:
    """(table, column, target table) for every column of a synced table that names another
    record by id: its `site_id` and each field of `REFS`, read from the models."""
    out = []
    for name, ent in sorted(registry().items()):
        cols = set(ent.table.c.keys())
        out.append((name, "site_id", "site"))
        out += [(name, col, REFS[col] or name) for col in sorted(cols & REFS.keys())]
    return out
