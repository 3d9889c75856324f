"""Pull: the server's changes after the cursor, a streamed page at a time (sync.md §3.3). Every
COMMIT_EVERY changes are applied with their cursor in one SQLite transaction, so a cut
connection or a killed process resumes where it stopped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from pm_cli.errors import SyncError
from pm_cli.store.ids import now_text
from pm_cli.sync.replica import Replica
from pm_cli.sync.transport import _error

if TYPE_CHECKING:
    from pm_cli.sync.report import Report

PAGE = 1000
COMMIT_EVERY = 1000


class Resync(Exception):
    """The server compacted its log below our cursor: start again from a snapshot."""


def pull(
    replica: Replica, http: Any, report: Report, progress: Callable[[str, int, int], None] | None
) -> None:
    """Pull pages until the server has no more; a cut keeps what arrived whole."""
    from pm_cli.sync.apply import Applier

    while True:
        cursor = replica.cursor()
        has_more = False
        pending: list[dict[str, Any]] = []
        try:
            has_more, top = _page(replica, http, cursor, pending, report, Applier)
        except httpx.TransportError as e:
            if pending:  # keep what arrived whole; the cursor moves past it
                _apply(replica, pending, pending[-1]["seq"], report, Applier)
            raise SyncError(
                f"the connection was cut during the pull ({type(e).__name__})",
                hint="nothing is lost: run pm sync again; it resumes at the saved cursor",
            ) from None
        if top:
            replica.seen(top)
        if progress:
            progress("pull", report.pulled, max(report.pulled, report.expected))
        if not has_more:
            return


def _page(
    replica: Replica,
    http: Any,
    cursor: int,
    pending: list[dict[str, Any]],
    report: Report,
    Applier: Any,
) -> tuple[bool, str | None]:
    """Stream one page, applying every COMMIT_EVERY changes; (has_more, top stamp)."""
    has_more, top = False, None
    with http.stream("GET", "/sync/pull", params={"cursor": cursor, "limit": PAGE}) as r:
        if r.status_code == 410:  # the server compacted its log below our cursor
            raise Resync
        if r.status_code != 200:
            r.read()
            raise _error(r)
        ended = False
        for line in r.iter_lines():
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:  # half a line: the connection broke mid-change
                raise httpx.RemoteProtocolError("a cut line in the pull stream") from None
            if msg["type"] == "change":
                pending.append(msg)
                if len(pending) >= COMMIT_EVERY:
                    _apply(replica, pending, pending[-1]["seq"], report, Applier)
                    pending.clear()
            elif msg["type"] == "page":
                top = msg["server_hlc"]
            elif msg["type"] == "end":
                _apply(replica, pending, msg["next_cursor"], report, Applier)
                pending.clear()
                has_more, ended = msg["has_more"], True
                report.cursor = msg["next_cursor"]
        if not ended:  # closed before its end line
            raise httpx.RemoteProtocolError("the pull stream ended early")
    return has_more, top


def _apply(
    replica: Replica, changes: list[dict[str, Any]], cursor: int, report: Report, applier_cls: Any
) -> None:
    """Apply a run of pulled changes and save the cursor, in one transaction."""
    with replica.write() as conn:
        applier = applier_cls(conn)
        if changes:
            applier.apply_changes(changes)
        top = max((ch["hlc"] for ch in changes), default=None)
        st = replica.state(conn)
        st.cursor = max(st.cursor, cursor)
        st.last_sync_at = now_text()
        if top:
            st.recv(top)
        replica.save(conn, st)
    report.pulled += len(changes)
    report.applied += applier.applied
    report.parked += applier.parked
