"""`pm sync`: hello (versions, clock offset), push the change log in batches, pull the
server's changes after the cursor (sync.md §3). Each pulled page is applied with its cursor
in one SQLite transaction, so a cut connection or a killed process resumes where it stopped;
a batch whose answer was lost is sent again and answered `duplicate`.

This module runs the steps in order; the laptop's database is a `Replica`, the wire is
`transport`, and each step has a module of its own (push, pull, snapshot, housekeeping)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pm_cli.store import tables
from pm_cli.sync.housekeeping import prune, requeue_rejected, reset_device, status
from pm_cli.sync.pull import Resync, pull
from pm_cli.sync.push import push, refusals
from pm_cli.sync.replica import Replica
from pm_cli.sync.report import Progress, Report
from pm_cli.sync.snapshot import new_grants, purge, snapshot
from pm_cli.sync.transport import (
    _client,
    _error,
    _request,
    _server,
    plain_http_to_another_host,
    server_url,
)

__all__ = [
    "Report",
    "login",
    "plain_http_to_another_host",
    "refusals",
    "requeue_rejected",
    "reset_device",
    "status",
    "sync",
]

SKEW_WARN_MS = 5 * 60 * 1000
OFFSET_NOISE_MS = 1000  # an offset this small is measurement noise, not a wrong clock


def login(db_path: Path, url: str, token: str) -> dict[str, Any]:
    """Check the token with a hello, then keep server and token in the user config (0600)."""
    from pm_cli import config

    url = server_url(url)
    with Replica.open(db_path) as replica, _client(url, token) as http:
        info = _hello(replica, http)
    path = config.write_config(server=url, token=token)
    return {
        "server": url,
        "user": info.get("user"),
        "role": info.get("role"),
        "sites": [s["code"] for s in info.get("sites", [])],
        "granted": ["all sites" if c == "*" else c for c in info.get("granted", [])],
        "config": str(path),
    }


def _hello(replica: Replica, http: Any) -> dict[str, Any]:
    """Say who this device is and what it holds; take in the server's clock, epoch and
    number blocks. The server's answer, with `offset_ms` (and `epoch_changed`) added."""
    nb = tables.number_block
    with replica.read() as conn:
        device = replica.state(conn).device_id
        held = list(conn.execute(sa.select(tables.site.c.id)).scalars())
        left: dict[str, int] = {}
        for site_id, n in conn.execute(
            sa.select(nb.c.site_id, sa.func.sum(nb.c.last - nb.c.next_no + 1))
            .where(nb.c.next_no <= nb.c.last)
            .group_by(nb.c.site_id)
        ):
            left[site_id] = int(n)
    t0 = time.time()
    r = _request(
        lambda: http.post(
            "/sync/hello", json={"device_id": device, "numbers_left": left, "sites_held": held}
        ),
        "hello",
    )
    if r.status_code != 200:
        raise _error(r)
    info = r.json()
    t1 = time.time()
    server_ms = datetime.fromisoformat(info["server_time"].replace("Z", "+00:00")).timestamp()
    offset = int((server_ms - (t0 + t1) / 2) * 1000)
    if abs(offset) <= (t1 - t0) * 500 + OFFSET_NOISE_MS:
        offset = 0  # within the round trip's error: this clock is right, keep its own time
    with replica.write() as conn:
        st = replica.state(conn)
        st.clock_offset_ms = offset
        st.recv(info["server_hlc"])
        if st.server_epoch and st.server_epoch != info["server_epoch"]:
            # a restored (or new) server database: send again what it may have lost (the
            # rest is answered `duplicate`) and start over from a snapshot (sync.md §3.5)
            t = tables.change
            conn.execute(t.update().where(t.c.state == "acked").values(state="pending", seq=None))
            st.cursor = 0
            info["epoch_changed"] = True
        st.server_epoch = info["server_epoch"]
        replica.save(conn, st)
        for b in info.get("number_blocks", []):
            conn.execute(
                nb.insert().values(
                    site_id=b["site_id"], first=b["first"], last=b["last"], next_no=b["first"]
                )
            )
    info["offset_ms"] = offset
    return info


def sync(
    db_path: Path,
    *,
    url: str | None,
    token: str | None,
    push_only: bool = False,
    pull_only: bool = False,
    progress: Progress | None = None,
) -> Report:
    """One `pm sync`: the hello, then push (unless `pull_only`) and pull (unless
    `push_only`); what it did."""
    url, token = _server(url, token)
    report = Report()
    with Replica.open(db_path) as replica, _client(url, token) as http:
        info = _start(replica, http, report)
        if not pull_only:
            _send(replica, http, report, progress, info)
        if not push_only:
            _receive(replica, http, report, progress, info)
    return report


def _start(replica: Replica, http: Any, report: Report) -> dict[str, Any]:
    """The hello, the first sync's backlog logged, and the warnings the hello calls for."""
    info = _hello(replica, http)
    report.offset_ms = info["offset_ms"]
    from pm_cli.sync import backlog  # the first sync: log what was kept out of it

    with replica.write() as conn:
        backlog.log_appends(conn)
    if info.get("epoch_changed"):
        report.warnings.append(
            "the server's database is new or restored: sending "
            "this laptop's changes again and taking a snapshot"
        )
    report.expected = max(0, int(info.get("head", 0)) - replica.cursor())
    if abs(report.offset_ms) > SKEW_WARN_MS:
        report.warnings.append(
            f"this laptop's clock is {report.offset_ms / 60000:+.0f} min off the "
            "server's; pm stamps by the server's time, but fix the clock"
        )
    return info


def _send(
    replica: Replica, http: Any, report: Report, progress: Progress | None, info: dict[str, Any]
) -> None:
    """Push, upload the pushed photos, prune the log, purge the sites no longer granted."""
    push(replica, http, report, progress, info["server_hlc"])
    from pm_cli.sync import photos  # the pushed step results' photos, after them

    photos.upload_pushed(replica.engine, replica.db_path, http, report)
    prune(replica)
    revoked = info.get("not_granted") or []
    if revoked and not info.get("epoch_changed"):
        # its pending changes went (403 → rejected, kept); now its rows go
        for code in purge(replica, revoked):
            report.warnings.append(
                f"site {code} is no longer granted to you: its records were "
                "removed from this laptop (refused changes stay: pm sync status)"
            )


def _receive(
    replica: Replica, http: Any, report: Report, progress: Progress | None, info: dict[str, Any]
) -> None:
    """Replay parked changes, take a snapshot where one is due, then pull."""
    from pm_cli.sync.apply import Applier

    with replica.write() as conn:
        report.replayed = Applier(conn).replay_parked()
    if replica.cursor() == 0:
        snapshot(replica, http, report, progress)
    else:
        new = new_grants(replica, info)
        if new:  # granted since the last sync: their past is behind our cursor
            snapshot(replica, http, report, progress, sites=new)
    try:
        pull(replica, http, report, progress)
    except Resync:  # start again from a snapshot; pending changes stay queued
        report.warnings.append("the server asked for a fresh start: took a snapshot")
        with replica.write() as conn:
            st = replica.state(conn)
            st.cursor = 0
            replica.save(conn, st)
        snapshot(replica, http, report, progress)
        pull(replica, http, report, progress)
