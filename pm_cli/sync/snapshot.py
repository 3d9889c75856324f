"""Snapshot: the current rows of the granted sites, for a first sync, a site newly granted or
a fresh start (sync.md §3.4); and the purge of a site no longer granted (§3.3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from pm_cli.errors import SyncError
from pm_cli.store import tables
from pm_cli.store.ids import now_text
from pm_cli.sync.replica import Replica
from pm_cli.sync.transport import _error

if TYPE_CHECKING:
    from pm_cli.sync.report import Report


def snapshot(
    replica: Replica,
    http: Any,
    report: Report,
    progress: Callable[[str, int, int], None] | None,
    sites: list[str] | None = None,
) -> None:
    """A first sync: the current rows of every granted site, a page (≤ 5,000) per local
    transaction, then the cursor = the oldest page's sequence head (the overlap with the
    pull that follows is harmless: merges are idempotent). The next page downloads while
    this one is written (two pages in memory at most). Cut midway, it starts again.

    With `sites` (codes newly granted to a laptop that has synced before) only those sites,
    and the cursor stays: the pull after it brings everything else."""
    import queue
    import threading

    from pm_cli.sync.apply import Applier

    pages: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fetch() -> None:
        after: str | None = None
        try:
            while not stop.is_set():
                page = _snapshot_page(http, after, sites)
                pages.put(page)
                if not page[2]["has_more"]:
                    return
                after = page[2]["after"]
        except BaseException as e:  # noqa: BLE001 - handed to the writer
            pages.put(e)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    cursor: int | None = None
    try:
        while True:
            page = pages.get()
            if isinstance(page, BaseException):
                raise page
            records, head, end, top = page
            cursor = head if cursor is None else min(cursor, head)
            with replica.write() as conn:
                applier = Applier(conn)
                applier.apply_records(records)
                st = replica.state(conn)
                if not end["has_more"] and not sites:
                    st.cursor = max(st.cursor, cursor)
                    report.cursor = st.cursor
                st.recv(top)
                st.last_sync_at = now_text()
                replica.save(conn, st)
            report.pulled += len(records)
            report.applied += applier.applied
            report.parked += applier.parked
            if progress:
                progress("pull", report.pulled, max(report.pulled, report.expected))
            if not end["has_more"]:
                return
    finally:
        stop.set()
        while worker.is_alive():  # let a blocked put() finish
            try:
                pages.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def _snapshot_page(
    http: Any, after: str | None, sites: list[str] | None = None
) -> tuple[list[dict[str, Any]], int, dict[str, Any], str]:
    params: dict[str, Any] = {"after": after} if after else {}
    if sites:
        params["site"] = sites
    records: list[dict[str, Any]] = []
    end: dict[str, Any] | None = None
    head, top = 0, ""
    try:
        with http.stream("GET", "/sync/snapshot", params=params) as r:
            if r.status_code != 200:
                r.read()
                raise _error(r)
            for line in r.iter_lines():
                if not line.strip():
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    raise httpx.RemoteProtocolError("a cut line") from None
                if msg["type"] == "record":
                    records.append(msg)
                elif msg["type"] == "page":
                    head, top = msg["cursor"], msg["server_hlc"]
                elif msg["type"] == "end":
                    end = msg
    except httpx.TransportError as e:
        raise SyncError(
            f"the connection was cut during the first sync ({type(e).__name__})",
            hint="run pm sync again: what arrived is kept",
        ) from None
    if end is None:
        raise SyncError("the snapshot stream ended early", hint="run pm sync again")
    return records, head, end, top


def new_grants(replica: Replica, info: dict[str, Any]) -> list[str]:
    """Codes of the sites the hello lists that this laptop holds no row of."""
    t = tables.site
    with replica.engine.connect() as conn:
        have = set(conn.execute(sa.select(t.c.id)).scalars())
    return [s["code"] for s in info.get("sites", []) if s["site_id"] not in have]


def purge(replica: Replica, site_ids: list[str]) -> list[str]:
    """Remove every record of sites the server no longer shows this user (sync.md §3.3), in
    one transaction and outside the change log: nothing of it is sent anywhere. The change
    log itself stays, so the refused changes can be sent again if the grant comes back."""
    from pm_cli.protocol.entities import registry

    reg = registry()
    site_t = reg["site"].table
    with replica.write() as conn:
        codes = list(
            conn.execute(
                sa.select(site_t.c.code).where(site_t.c.id.in_(site_ids)).order_by(site_t.c.code)
            ).scalars()
        )
        for ent in reg.values():
            conn.execute(ent.table.delete().where(ent.table.c.site_id.in_(site_ids)))
        # and what was derived from them: the per-day rollups and their marks
        for derived in (
            tables.number_block,
            tables.kpi_day,
            tables.kpi_day_done,
            tables.rollup_dirty,
        ):
            conn.execute(derived.delete().where(derived.c.site_id.in_(site_ids)))
        parked = tables.sync_parked
        for seq, change in conn.execute(sa.select(parked.c.seq, parked.c.change)).all():
            if (change or {}).get("site_id") in site_ids:
                conn.execute(parked.delete().where(parked.c.seq == seq))
    return codes
