"""The change log's upkeep around sync: pruning old acked changes, queueing rejected ones
again, making a copied database its own device, and `pm sync status`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pm_cli.store import tables
from pm_cli.store.outbox import UNSENT
from pm_cli.sync.replica import Replica

KEEP_ACKED_DAYS = 90


def prune(replica: Replica) -> int:
    """Forget acked changes older than 90 days (sync.md §3.5): the server holds them, and a
    restored server gets back only what it may have lost. Stamps are fixed-width hex, so
    their text order is their time order."""
    cutoff = int((time.time() - KEEP_ACKED_DAYS * 86400) * 1000)
    t = tables.change
    with replica.write() as conn:
        res = conn.execute(t.delete().where(t.c.state == "acked", t.c.hlc < f"{cutoff:012x}"))
    return int(res.rowcount or 0)


def reset_device(db_path: Path) -> dict[str, Any]:
    """Make a copied database its own device: a new device id, pending changes re-stamped
    with it. Its token belonged to the original: log in again with a new one."""
    from pm_cli import config
    from pm_cli.store.hlc import new_device_id

    with Replica.open(db_path) as replica:
        device = new_device_id()
        n = replica.restamp(None, new_device=device)
    config.write_config(token=None)
    return {"device_id": device, "restamped": n}


def requeue_rejected(db_path: Path) -> int:
    """Put rejected changes back in the queue (after the cause is fixed: a grant, a role)."""
    t = tables.change
    with Replica.open(db_path) as replica, replica.write() as conn:
        return int(
            conn.execute(
                t.update().where(t.c.state == "rejected").values(state="pending", reason=None)
            ).rowcount
        )


def status(db_path: Path, *, url: str | None) -> dict[str, Any]:
    """What waits to be sent, what was refused, and this device's sync state."""
    t = tables.change
    with Replica.open(db_path) as replica, replica.read() as conn:
        st = replica.state(conn)

        def count(*where: Any) -> int:  # each by ix_change_unsent alone (no GROUP BY)
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
            )

        from pm_cli.sync import backlog

        # the append-only rows of a database that never synced count as pending
        logged = count(sa.text(UNSENT))
        unsent = logged + backlog.pending_rows(conn)
        refused = count(sa.text(UNSENT), t.c.state == "rejected")
        rejected = [
            dict(r)
            for r in conn.execute(
                sa.select(t.c.change_id, t.c.entity, t.c.record_id, t.c.reason)
                .where(sa.text(UNSENT), t.c.state == "rejected")
                .order_by(t.c.local_no)
                .limit(20)
            ).mappings()
        ]
        return {
            "server": url,
            "pending": unsent - refused,
            "acked": count() - logged,
            "rejected": refused,
            "rejected_changes": rejected,
            "last_sync": st.last_sync_at,
            "cursor": st.cursor,
            "device_id": st.device_id,
            "clock_offset_ms": st.clock_offset_ms,
            "server_epoch": st.server_epoch,
        }
