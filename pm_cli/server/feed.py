"""Pull and snapshot (sync.md §3.3, §3.4): what a laptop reads, only of its granted sites,
each page from one snapshot of the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import rows
from pm_cli.protocol.entities import may_write, registry
from pm_cli.protocol.shapes import (
    PULL_DEFAULT,
    PULL_MAX,
    SNAPSHOT_PAGE,
    ApiError,
)
from pm_cli.server import db
from pm_cli.server.auth import Auth, ServerClock


@contextmanager
def read_snapshot(engine: sa.Engine) -> Iterator[tuple[sa.Connection, Any]]:
    """A read-only transaction that sees one snapshot (REPEATABLE READ on PostgreSQL; a
    SQLite read transaction is one), and the sequence row as of it."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    try:
        with conn.begin():
            yield conn, conn.execute(sa.select(db.sync_seq).where(db.sync_seq.c.id == 1)).one()
    finally:
        conn.close()


def pull(
    engine: sa.Engine, auth: Auth, clock: ServerClock, cursor: int, limit: int
) -> Iterator[dict[str, Any]]:
    """A page of changes after `cursor` for the granted sites (and company-wide playbooks),
    from one snapshot: header, changes, end line with the next cursor."""
    if cursor < 0:
        raise ApiError(422, "invalid_cursor", "the cursor is a seq ≥ 0", where=["cursor"])
    limit = max(1, min(limit or PULL_DEFAULT, PULL_MAX))
    sites = [*auth.sites, ""]
    with read_snapshot(engine) as (conn, seq):
        if cursor and cursor < seq.min_retained:
            raise ApiError(
                410,
                "resync_required",
                "the server no longer holds changes this far back",
                hint="pm sync again: it takes a snapshot",
            )
        yield {
            "type": "page",
            "server_epoch": seq.epoch,
            "server_hlc": clock.now(),
            "cursor": cursor,
        }
        c = db.sync_change.c
        stmt = (
            sa.select(
                c.seq, c.change_id, c.site_id, c.entity, c.record_id, c.op, c.fields, c.base, c.hlc
            )
            .where(c.seq > cursor, c.site_id.in_(sites), c.status != "withheld")
            .order_by(c.seq)
            .limit(limit)
        )
        if not may_write(auth.role, "playbook"):  # company-wide conflicts: not a lead's
            stmt = stmt.where(sa.or_(c.site_id != "", c.entity != "conflict"))
        n, last = 0, cursor
        for row in conn.execution_options(yield_per=500).execute(stmt):
            n, last = n + 1, row.seq
            yield {"type": "change", **row._asdict()}
        has_more = n == limit
        yield {
            "type": "end",
            "next_cursor": last if has_more else max(last, seq.last),
            "has_more": has_more,
        }


def snapshot(
    engine: sa.Engine,
    auth: Auth,
    clock: ServerClock,
    *,
    after: str | None,
    sites: list[str] | None,
    limit: int = SNAPSHOT_PAGE,
) -> Iterator[dict[str, Any]]:
    """One keyset page of current records of the granted sites (and company-wide playbooks),
    with their field stamps, from one snapshot whose sequence head is the cursor to pull
    from afterwards (sync.md §3.4)."""
    granted = [*auth.sites, ""]
    if sites:
        codes = {v: k for k, v in auth.sites.items()}
        unknown = [s for s in sites if s not in codes]
        if unknown:
            raise ApiError(
                403,
                "forbidden",
                f"site(s) {', '.join(unknown)} not granted to {auth.user}",
                where=["site"],
            )
        granted = [codes[s] for s in sites] + [""]
    start: tuple[str, str, str] | None = None
    if after:
        parts = after.split("/")
        if len(parts) != 3 or parts[0] not in db.records:
            raise ApiError(
                422,
                "invalid_after",
                "after is ENTITY/SITE_ID/RECORD_ID, as the previous page's end line gave it",
                where=["after"],
                hint="pm sync again: the snapshot starts over",
            )
        start = (parts[0], parts[1], parts[2])
    limit = max(1, min(limit, SNAPSHOT_PAGE))
    reg = registry()
    with read_snapshot(engine) as (conn, seq):
        yield {
            "type": "page",
            "server_epoch": seq.epoch,
            "server_hlc": clock.now(),
            "cursor": seq.last,
        }
        n, last = 0, None
        for name in sorted(db.records):  # entity by entity, each by (site, id)
            if n == limit or (start and name < start[0]):
                continue
            t = db.records[name]
            stmt = sa.select(t).where(t.c.site_id.in_(granted))
            if name == "conflict" and not may_write(auth.role, "playbook"):
                stmt = stmt.where(t.c.site_id != "")  # company-wide conflicts: not a lead's
            if start and name == start[0]:
                stmt = stmt.where(
                    sa.tuple_(t.c.site_id, t.c.id)
                    > sa.tuple_(sa.literal(start[1]), sa.literal(start[2]))
                )
            stmt = stmt.order_by(t.c.site_id, t.c.id).limit(limit - n)
            for row in conn.execution_options(yield_per=1000).execute(stmt).mappings():
                n += 1
                last = f"{name}/{row['site_id']}/{row['id']}"
                state = rows.state_of(reg[name], row)
                yield {
                    "type": "record",
                    "site_id": row["site_id"],
                    "entity": name,
                    "record_id": row["id"],
                    "fields": state.fields,
                    "field_hlc": state.stamps,
                }
        yield {"type": "end", "after": last, "has_more": n == limit, "cursor": seq.last}
