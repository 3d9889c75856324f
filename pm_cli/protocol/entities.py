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


@dataclass(frozen=True)
class Entity:
    name: str
    kind: str  # mutable | append
    fields: frozenset[str]  # what a change may set
    json_fields: frozenset[str]
    table: Any  # the SQLAlchemy Table (client side)


@cache
def registry() -> dict[str, Entity]:
    from sqlalchemy import JSON

    from pm_cli.schema import metadata

    out = {}
    for name, table in metadata.tables.items():
        cols = set(table.c.keys())
        if name in LOCAL_ONLY or "site_id" not in cols:
            continue
        if "field_hlc" in cols:
            kind = "mutable"
        elif "hlc" in cols:
            kind = "append"
        else:
            continue
        out[name] = Entity(name, kind, frozenset(cols - BOOKKEEPING),
                           frozenset(c.name for c in table.c if isinstance(c.type, JSON)
                                     and c.name not in BOOKKEEPING), table)
    return out


def may_write(role: str, entity: str) -> bool:
    return role in ("manager", "admin") or entity not in SETUP
