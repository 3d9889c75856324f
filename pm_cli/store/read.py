"""Reads in SQLAlchemy Core on `store.tables`, for the commands that only read: they build no
model class and load no pydantic (`store.query` holds the ORM reads of the commands that
write). Rows come back as `sa.Row`, read by attribute like a model."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.errors import ConflictError, NotFoundError


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
    return ConflictError(f"code {code} is ambiguous ({n} {noun}s at {where})",
                         hint="pm sync conflicts; rename or remove one of them")


def find_by_code(conn: sa.Connection, table: sa.Table, code: str, *, site_id: str | None,
                 noun: str, where: str) -> sa.Row[Any] | None:
    """The one live row with this code, None if there is none; two is an ambiguity error."""
    rows = conn.execute(live(table, site_id).where(table.c.code == code)).all()
    if len(rows) > 1:
        raise ambiguous(code, len(rows), noun, where)
    return rows[0] if rows else None


def get_by_code(conn: sa.Connection, table: sa.Table, code: str, *, site_id: str | None,
                noun: str, where: str, hint: str | None = None) -> sa.Row[Any]:
    row = find_by_code(conn, table, code, site_id=site_id, noun=noun, where=where)
    if row is None:
        raise NotFoundError(f"no {noun} {code}", where=where, hint=hint)
    return row
