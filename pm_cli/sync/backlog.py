"""The first sync's backlog: a database that has never synced keeps its append-only rows
(answers, visits, PDCA, drill and risk events) out of the change log, the rows being the
only copy of what to send (sync.md §1). Before its first push, every such row is logged as
the `append` its writer would have logged, and every change is renumbered in stamp order
(one device, one clock: the order the writes were made), in one transaction; from then on
writers log appends as they go (`sync_state.appends_logged`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.store import tables
from pm_cli.store.engine import SYNC_SCHEMA
from pm_cli.store.outbox import CHANGE_COLUMNS, json_object

LEFT_OUT = ("id", "site_id", "deleted", "hlc")  # the change's own keys, not its fields


def pending_rows(conn: sa.Connection) -> int:
    """How many append-only rows wait to be logged (0 once the database has synced)."""
    if _logged(conn):
        return 0
    return sum(
        int(conn.execute(sa.select(sa.func.count()).select_from(ent.table)).scalar_one())
        for ent in _appends()
    )


def log_appends(conn: sa.Connection) -> int:
    """Log every append-only row of a database that has not synced yet, renumber the log in
    stamp order and mark the database as logging appends; how many were logged (0 if it
    had synced). In the caller's write transaction."""
    if _logged(conn):
        return 0
    device = conn.execute(sa.select(tables.sync_state.c.device_id)).scalar_one()
    conn.exec_driver_sql("UPDATE change SET local_no = -local_no")  # out of the way
    low = conn.execute(sa.select(sa.func.min(tables.change.c.local_no))).scalar() or 0
    n = 0
    for ent in _appends():
        t = ent.table
        fields = json_object(c for c in t.c if c.name not in LEFT_OUT)
        # the row's id is the change's: an append-only row is sent once, by one change
        res = conn.exec_driver_sql(
            f"INSERT INTO change ({CHANGE_COLUMNS}) "
            f"SELECT id, ? - ROW_NUMBER() OVER (ORDER BY hlc), coalesce(site_id, ''), ?, id, "
            f"'append', {fields}, '{{}}', hlc, ?, ?, 'pending' FROM {t.name}",
            (low - n - 1, ent.name, device, SYNC_SCHEMA),
        )
        n += int(res.rowcount or 0)
    # every change by its stamp (ties: the order they were logged in)
    conn.exec_driver_sql(
        "UPDATE change SET local_no = r.n FROM (SELECT change_id AS cid, ROW_NUMBER() OVER "
        "(ORDER BY hlc, local_no DESC) AS n FROM change) AS r WHERE change.change_id = r.cid"
    )
    st = tables.sync_state
    conn.execute(st.update().where(st.c.id == 1).values(appends_logged=True))
    return n


def _logged(conn: sa.Connection) -> bool:
    st = tables.sync_state
    return bool(conn.execute(sa.select(st.c.appends_logged).where(st.c.id == 1)).scalar())


def _appends() -> list[Any]:
    from pm_cli.protocol.entities import registry

    return [ent for ent in registry().values() if ent.kind == "append"]
