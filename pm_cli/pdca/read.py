"""Improvement items read with Core (`store.tables`): `pm pdca list|overdue|show` build no
model class. The service passes its session (its transaction) after a write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pm_cli import validate as v
from pm_cli.errors import ConflictError, NotFoundError, PmError
from pm_cli.pdca.rules import PHASES, closed_in_sql, record, state_of
from pm_cli.store import read, tables


def get_item(db: Any, *, site: Any, no: str | int) -> sa.Row[Any]:
    """An item by its number (`17`, `#17`) or, until the server numbers it, `~` and the
    tail of its id."""
    conn, t = read.connection(db), tables.pdca
    text = str(no).strip().lstrip("#")
    if text.startswith("~"):  # not numbered yet: its id's tail
        return read.get_by_tail(
            conn,
            t,
            text[1:],
            site_id=site.id,
            noun="item",
            where=site.code,
            hint="`pm pdca list` shows them",
        )
    if not text.isdigit() or len(text) > 10:  # 10 digits: every number an INTEGER holds
        raise PmError(
            f"not an item number: {str(no)[:20]!r}", where="N", hint="e.g. 17, #17 or ~a1b2c3d4"
        )
    rows = conn.execute(read.live(t, site.id).where(t.c.no == int(text))).all()
    if not rows:
        raise NotFoundError(f"no item #{text} at {site.code}", hint="`pm pdca list` shows them")
    if len(rows) > 1:
        raise ConflictError(f"item #{text} is ambiguous at {site.code}", hint="pm sync conflicts")
    return rows[0]


def show(db: Any, *, site: Any, no: str | int) -> dict[str, Any]:
    conn, e = read.connection(db), tables.pdca_event
    item = get_item(conn, site=site, no=no)
    events = conn.execute(sa.select(e).where(e.c.pdca_id == item.id).order_by(e.c.hlc)).all()
    return record(item, state_of(list(events)), read.id_codes(conn, site.id), history=True)


def list_items(
    db: Any,
    *,
    site: Any,
    phase: str | None = None,
    severity: str | None = None,
    grid: str | None = None,
    owner: str | None = None,
    include_closed: bool = False,
    overdue_only: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    if phase and phase not in (*PHASES, "withdrawn"):
        raise PmError(
            f"unknown phase {phase!r}", where="--phase", hint="|".join((*PHASES, "withdrawn"))
        )
    sev = v.check(v.risk_level, severity, field="--severity") if severity else None
    conn, t = read.connection(db), tables.pdca
    stmt = read.live(t, site.id).order_by(t.c.no)
    if not include_closed and phase not in ("closed", "withdrawn"):
        stmt = stmt.where(~closed_in_sql(t, tables.pdca_event))  # a year's closed: never read
    if sev:
        stmt = stmt.where(t.c.severity == sev)
    items = conn.execute(stmt).all()
    events = read.children(conn, tables.pdca_event, "pdca_id", [i.id for i in items])
    codes = read.id_codes(conn, site.id)
    out = []
    for item in items:
        st = state_of(events.get(item.id, []))
        rec = record(item, st, codes, now)
        if phase and rec["phase"] != phase:
            continue
        if not phase and not include_closed and st.status != "open":
            continue
        if grid and rec["grid"] != grid:
            continue
        if owner and rec["owner"] != owner:
            continue
        if overdue_only and not rec["overdue"]:
            continue
        out.append(rec)
    return out
