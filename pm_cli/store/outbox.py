"""The outbox's query conditions and the SQL that logs rows as they are stored, apart from
its model so that `pm sync` (Core tables only) does not build it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

UNSENT = "state != 'acked'"  # the partial index's condition, as queries must spell it

CHANGE_COLUMNS = (
    "change_id, local_no, site_id, entity, record_id, op, fields, base, hlc, "
    "device_id, schema, state"
)


def json_of(col: sa.Column[Any]) -> str:
    """The SQL for a column's value inside json_object(), as the writer's JSON has it."""
    if isinstance(col.type, sa.JSON):
        return f"json({col.name})"
    if isinstance(col.type, sa.Boolean):
        return (
            f"CASE WHEN {col.name} IS NULL THEN NULL WHEN {col.name} THEN json('true') "
            f"ELSE json('false') END"
        )
    return col.name


def json_object(columns: Iterable[sa.Column[Any]]) -> str:
    """SQLite's json_object() of these columns of a row: a change's `fields` made in SQL."""
    return "json_object(" + ", ".join(f"'{c.name}', {json_of(c)}" for c in columns) + ")"
