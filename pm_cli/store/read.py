"""Reads in SQLAlchemy Core on `store.tables`, for the commands that only read: they build no
model class and load no pydantic (`store.query` holds the ORM reads of the commands that
write). Rows come back as `sa.Row`, read by attribute like a model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

from pm_cli.errors import ConflictError, NotFoundError, PmError

IN_CHUNK = 500  # values per IN list, well within SQLite's limit on bound parameters


def connection(db: Any) -> sa.Connection:
    """The connection given, or a session's (its transaction), its pending writes flushed
    first: a Core read does not autoflush as the session's own queries do."""
    if isinstance(db, sa.Connection):
        return db
    db.flush()
    return db.connection()


def live(table: sa.Table, site_id: str | None = None) -> sa.Select[Any]:
    stmt = sa.select(table).where(table.c.deleted == sa.false())
    if site_id is not None:
        stmt = stmt.where(table.c.site_id == site_id)
    return stmt


def ambiguous(code: str, n: int, noun: str, where: str) -> ConflictError:
    """Two live rows holding one code (made on two laptops offline, then synced)."""
    return ConflictError(
        f"code {code} is ambiguous ({n} {noun}s at {where})",
        hint="pm sync conflicts; rename or remove one of them",
    )


def find_by_code(
    conn: sa.Connection, table: sa.Table, code: str, *, site_id: str | None, noun: str, where: str
) -> sa.Row[Any] | None:
    """The one live row with this code, None if there is none; two is an ambiguity error."""
    rows = conn.execute(live(table, site_id).where(table.c.code == code)).all()
    if len(rows) > 1:
        raise ambiguous(code, len(rows), noun, where)
    return rows[0] if rows else None


def get_by_code(
    conn: sa.Connection,
    table: sa.Table,
    code: str,
    *,
    site_id: str | None,
    noun: str,
    where: str,
    hint: str | None = None,
) -> sa.Row[Any]:
    row = find_by_code(conn, table, code, site_id=site_id, noun=noun, where=where)
    if row is None:
        raise NotFoundError(f"no {noun} {code}", where=where, hint=hint)
    return row


def get_by_tail(
    conn: sa.Connection,
    table: sa.Table,
    ref: str,
    *,
    site_id: str,
    noun: str,
    where: str,
    hint: str,
) -> sa.Row[Any]:
    """A row by its id or the tail of it (≥ 6 characters: a UUIDv7's random end, since its
    start is the same for everything made in one minute)."""
    key = ref.strip().lower()
    if len(key) < 6:
        raise PmError(
            f"{noun} {ref!r} is too short to find",
            where=noun.upper().replace(" ", "_"),
            hint="give the id, or its last 8 characters as lists show them",
        )
    stmt = live(table, site_id)
    stmt = stmt.where(table.c.id == key) if len(key) == 36 else stmt.where(table.c.id.endswith(key))
    rows = conn.execute(stmt.limit(3)).all()
    if not rows:
        raise NotFoundError(f"no {noun} {ref} at {where}", hint=hint)
    if len(rows) > 1:
        raise PmError(f"{noun} {ref} is ambiguous at {where}", hint="give more of the id")
    return rows[0]


def chunks(values: Iterable[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    """The distinct values in sorted runs of `size`, one IN list each."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def children(
    conn: sa.Connection, table: sa.Table, parent: str, ids: Iterable[str], chunk: int = IN_CHUNK
) -> dict[str, list[sa.Row[Any]]]:
    """Append-only rows of many parents (events, step results) grouped by parent id, each
    list in stamp order; queried in chunks so the IN list stays within SQLite's limits."""
    key = table.c[parent]
    out: dict[str, list[sa.Row[Any]]] = {}
    for part in chunks(ids, chunk):
        for row in conn.execute(sa.select(table).where(key.in_(part)).order_by(table.c.hlc)):
            out.setdefault(getattr(row, parent), []).append(row)
    return out


def id_codes(conn: sa.Connection, site_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """Grid and staff codes by id (deleted rows too, so history still names them)."""
    from pm_cli.store import tables

    g, st = tables.grid, tables.staff
    grids = dict(conn.execute(sa.select(g.c.id, g.c.code).where(g.c.site_id == site_id)).all())
    staff = dict(conn.execute(sa.select(st.c.id, st.c.code).where(st.c.site_id == site_id)).all())
    return grids, staff


def codes_by_id(
    conn: sa.Connection, table: sa.Table, ids: Iterable[str], chunk: int = IN_CHUNK
) -> dict[str, str]:
    """id → code of the rows with these ids (deleted ones too: history still names them),
    in chunks so the IN list stays within SQLite's limits."""
    out: dict[str, str] = {}
    for part in chunks(ids, chunk):
        for row in conn.execute(sa.select(table.c.id, table.c.code).where(table.c.id.in_(part))):
            out[row.id] = row.code
    return out
