"""A record's merge state as a row of its typed table, and back: the one mapping the laptop's
apply and the server's store share, so both write the same columns and `field_hlc` (or `hlc`)
for the same state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol.entities import Entity
from pm_cli.protocol.merge import State


def blank(col: sa.Column[Any]) -> Any:
    """A value for a NOT NULL column a partial record does not carry yet (never stamped, so
    never served as a value: a later change's field takes it)."""
    if col.nullable:
        return None
    t = col.type
    if isinstance(t, sa.JSON):
        return {}
    if isinstance(t, sa.Boolean):
        return False
    if isinstance(t, sa.Integer | sa.Float | sa.Numeric):
        return 0
    return ""


_BLANKS: dict[sa.Table, tuple[dict[str, Any], tuple[str, ...]]] = {}


def blanks(table: sa.Table) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Each column's blank (worked out once per table), and the columns whose blank is a
    JSON object (to be made anew for each row that keeps it)."""
    got = _BLANKS.get(table)
    if got is None:
        values = {c.name: blank(c) for c in table.c}
        got = _BLANKS[table] = (values, tuple(k for k, v in values.items() if v == {}))
    return got


def row_of(
    ent: Entity, table: sa.Table, rid: str, site: str | None, state: State
) -> dict[str, Any]:
    """The whole row of a record: the state's values, blanks for the NOT NULL columns it
    lacks, the id, the site and the stamps."""
    base, objects = blanks(table)
    values = dict(base)
    for k in objects:
        values[k] = {}
    values.update({k: v for k, v in state.fields.items() if k in values})
    values["id"], values["site_id"] = rid, site
    if ent.kind == "append":
        values["hlc"] = state.stamps.get("hlc", "")
    else:
        values["field_hlc"], values["updated_hlc"] = state.stamps, state.updated_hlc
    return values


def changed_of(ent: Entity, state: State) -> dict[str, Any]:
    """What an update of a mutable record writes: the state's values and stamps (a column
    the state does not hold keeps what it has)."""
    return {
        **{k: v for k, v in state.fields.items() if k in ent.fields},
        "field_hlc": state.stamps,
        "updated_hlc": state.updated_hlc,
    }


def state_of(ent: Entity, row: Mapping[Any, Any]) -> State:
    """A stored row as the merge sees it. A mutable record holds the fields it has stamps for
    (a blank no change set is not a value); an append-only row holds all of its fields."""
    if ent.kind == "append":
        return State({k: row[k] for k in ent.fields if k in row}, {"hlc": row["hlc"]})
    stamps = dict(row["field_hlc"] or {})
    return State({k: row[k] for k in stamps if k in ent.fields and k in row}, stamps)
