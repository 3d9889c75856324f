"""`pm sync`: hello (versions, clock offset), push the change log in batches, pull the
server's changes after the cursor (sync.md §3). Each pulled page is applied with its cursor
in one SQLite transaction, so a cut connection or a killed process resumes where it stopped;
a batch whose answer was lost is sent again and answered `duplicate`."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from pm_cli.errors import PmError, SyncError
from pm_cli.protocol.shapes import PROTOCOL
from pm_cli.store import tables
from pm_cli.store.engine import SYNC_SCHEMA, check_current, connection_scope, make_engine
from pm_cli.store.hlc import Clock
from pm_cli.store.ids import now_text
from pm_cli.store.outbox import UNSENT

BATCH = 500
PAGE = 1000
COMMIT_EVERY = 1000
RETRIES = 4
SKEW_WARN_MS = 5 * 60 * 1000
OFFSET_NOISE_MS = 1000  # an offset this small is measurement noise, not a wrong clock


@dataclass
class Report:
    pushed: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    pulled: int = 0
    applied: int = 0
    parked: int = 0
    replayed: int = 0  # parked changes this pm now knows, applied
    cursor: int = 0
    expected: int = 0  # changes the server holds past our cursor (an upper bound)
    offset_ms: int = 0
    warnings: list[str] = field(default_factory=list)


def _server(url: str | None, token: str | None) -> tuple[str, str]:
    if not url or not token:
        raise PmError("this laptop is not logged in to a sync server",
                      hint="pm sync login URL --token TOKEN")
    return url.rstrip("/"), token


TRANSPORT: httpx.BaseTransport | None = None
"""Where every request of `pm sync` goes instead of the network when set (the tests: the server
app in-process); None, the default, is HTTP."""


def _client(url: str, token: str, timeout: float = 60.0) -> httpx.Client:
    transport = TRANSPORT
    if transport is None and url.lower().startswith("http://"):
        # a plain-HTTP server: no TLS is spoken (redirects are not followed), so load no
        # certificate store (70 ms of every run)
        transport = httpx.HTTPTransport(verify=False)
    return httpx.Client(base_url=url, timeout=timeout, transport=transport, headers={
        "Authorization": f"Bearer {token}", "Pm-Protocol": str(PROTOCOL),
        "Pm-Schema": str(SYNC_SCHEMA), "User-Agent": "pm-sync"})


def _error(r: Any) -> SyncError:
    try:
        body = r.json()
    except ValueError:
        body = {}
    msg = body.get("message") or f"the server answered {r.status_code}"
    where = body.get("where") or []
    return SyncError(f"{msg} (HTTP {r.status_code})",
                     where="; ".join(where[:5]) + (" …" if len(where) > 5 else "") or None,
                     hint=body.get("hint"))


BACKOFF_BASE_S = 0.5  # the first retry's window; it doubles each time
BACKOFF_MAX_S = 8.0  # the window grows no wider than this
RETRY_AFTER_MAX_S = 60.0  # a server's Retry-After is honoured up to this long
sleep: Callable[[float], None] = time.sleep
"""How `_request` waits between attempts (a test may set a recorder here or pass one)."""


def retries() -> int:
    """RETRIES, or PM_SYNC_RETRIES (0 for one attempt only, e.g. in scripts)."""
    import os

    raw = os.environ.get("PM_SYNC_RETRIES", "")
    return max(0, int(raw)) if raw.strip().isdigit() else RETRIES


def retry_after(r: Any) -> float | None:
    """The seconds a 429/503 asks to wait: `Retry-After: 120` or an HTTP date; None if it
    says nothing usable."""
    from email.utils import parsedate_to_datetime

    if r.status_code not in (429, 503):
        return None
    raw = (r.headers.get("retry-after") or "").strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int, asked: float | None = None) -> float:
    """Seconds to wait before retry `attempt` (0 first): "full jitter", a random time in a
    window that doubles each attempt, so laptops that failed together do not come back
    together; after a Retry-After, that long plus a random part of as long again (or of the
    window, if wider). Never over RETRY_AFTER_MAX_S."""
    import random

    window = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** attempt)
    if asked is None:
        return random.uniform(0.0, window)
    asked = min(asked, RETRY_AFTER_MAX_S)
    return min(RETRY_AFTER_MAX_S, asked + random.uniform(0.0, max(window, asked)))


def _request(send: Callable[[], Any], what: str,
             wait: Callable[[float], None] | None = None) -> Any:
    """Send with backoff (`backoff`) on network errors, 429 and 5xx; the response otherwise.
    `wait` (default `sleep`) is how it waits."""
    import httpx

    tries = retries()
    for attempt in range(tries + 1):
        asked = None
        try:
            r = send()
        except httpx.TransportError as e:
            if attempt == tries:
                raise SyncError(f"cannot reach the sync server ({what}): {e}",
                                hint="nothing is lost: pending changes stay queued; run pm "
                                "sync again when online") from None
        else:
            if r.status_code < 500 and r.status_code != 429:
                return r
            if attempt == tries:
                if r.status_code == 503 and _error_code(r) == "database_unavailable":
                    raise SyncError("the server's database is unreachable; nothing is lost",
                                    hint="pending changes stay queued on this laptop; run "
                                    "pm sync again in a few minutes")
                raise _error(r)
            asked = retry_after(r)
        (wait or sleep)(backoff(attempt, asked))
    raise AssertionError("unreachable")


def plain_http_to_another_host(url: str) -> bool:
    """True for http:// to anything but this machine (a token would cross the network bare)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name: another machine, as far as we can tell


def login(db_path: Path, url: str, token: str) -> dict[str, Any]:
    """Check the token with a hello, then keep server and token in the user config (0600)."""
    from pm_cli import config

    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise PmError(f"not a server URL: {url!r}", where="URL", hint="e.g. https://pm.example.com")
    check_current(db_path)
    engine = make_engine(db_path)
    try:
        with _client(url, token) as http:
            info = _hello(engine, db_path, http)
    finally:
        engine.dispose()
    path = config.write_config(server=url, token=token)
    return {"server": url, "user": info.get("user"), "role": info.get("role"),
            "sites": [s["code"] for s in info.get("sites", [])],
            "granted": ["all sites" if c == "*" else c for c in info.get("granted", [])],
            "config": str(path)}


@dataclass
class _Device:
    """The `sync_state` row: this database's device id, clock and cursor."""

    device_id: str
    last_hlc: str
    clock_offset_ms: int
    server_epoch: str | None
    cursor: int
    last_sync_at: str | None


def _state(conn: sa.Connection) -> _Device:
    t = tables.sync_state
    row = conn.execute(sa.select(*(t.c[k] for k in _Device.__dataclass_fields__))
                       .where(t.c.id == 1)).mappings().first()
    if row is None:
        raise PmError("this database has no device id", hint="run pm init on it")
    return _Device(**row)


def _save(conn: sa.Connection, st: _Device) -> None:
    t = tables.sync_state
    conn.execute(t.update().where(t.c.id == 1).values(**vars(st)))


def _hello(engine: sa.Engine, db_path: Path, http: Any) -> dict[str, Any]:
    nb = tables.number_block
    with connection_scope(engine, db_path, write=False) as conn:
        device = _state(conn).device_id
        held = list(conn.execute(sa.select(tables.site.c.id)).scalars())
        left: dict[str, int] = {}
        for site_id, n in conn.execute(sa.select(
                nb.c.site_id, sa.func.sum(nb.c.last - nb.c.next_no + 1)).where(
                nb.c.next_no <= nb.c.last).group_by(nb.c.site_id)):
            left[site_id] = int(n)
    t0 = time.time()
    r = _request(lambda: http.post("/sync/hello", json={
        "device_id": device, "numbers_left": left, "sites_held": held}), "hello")
    if r.status_code != 200:
        raise _error(r)
    info = r.json()
    t1 = time.time()
    server_ms = datetime.fromisoformat(info["server_time"].replace("Z", "+00:00")).timestamp()
    offset = int((server_ms - (t0 + t1) / 2) * 1000)
    if abs(offset) <= (t1 - t0) * 500 + OFFSET_NOISE_MS:
        offset = 0  # within the round trip's error: this clock is right, keep its own time
    with connection_scope(engine, db_path, write=True) as conn:
        st = _state(conn)
        clock = Clock(st.device_id, st.last_hlc, offset_ms=offset)
        clock.recv(info["server_hlc"])
        st.clock_offset_ms, st.last_hlc = offset, clock.last
        if st.server_epoch and st.server_epoch != info["server_epoch"]:
            # a restored (or new) server database: send again what it may have lost (the
            # rest is answered `duplicate`) and start over from a snapshot (sync.md §3.5)
            t = tables.change
            conn.execute(t.update().where(t.c.state == "acked").values(
                state="pending", seq=None))
            st.cursor = 0
            info["epoch_changed"] = True
        st.server_epoch = info["server_epoch"]
        _save(conn, st)
        for b in info.get("number_blocks", []):
            conn.execute(nb.insert().values(
                site_id=b["site_id"], first=b["first"], last=b["last"], next_no=b["first"]))
    info["offset_ms"] = offset
    return info


def _seen(engine: sa.Engine, db_path: Path, stamp: str) -> None:
    with connection_scope(engine, db_path, write=True) as conn:
        _recv(conn, stamp)


def _recv(conn: sa.Connection, stamp: str) -> None:
    """Move this device's clock past a stamp the server sent (in the caller's transaction)."""
    st = _state(conn)
    clock = Clock(st.device_id, st.last_hlc, offset_ms=st.clock_offset_ms)
    clock.recv(stamp)
    st.last_hlc = clock.last
    _save(conn, st)


def _error_code(r: Any) -> str | None:
    try:
        return r.json().get("error")
    except ValueError:
        return None


def _restamp(engine: sa.Engine, db_path: Path, server_hlc: str | None,
             new_device: str | None = None) -> int:
    """Give every pending change (and the fields and rows it stamped) a new stamp from a
    clock reset to the server's, keeping their order (sync.md §1: after a clock_ahead);
    with `new_device`, this database becomes another device (a copied file)."""
    from pm_cli.protocol.entities import registry

    t = tables.change
    reg = registry()
    with connection_scope(engine, db_path, write=True) as conn:
        st = _state(conn)
        if new_device:
            st.device_id = new_device
        clock = Clock(st.device_id, server_hlc or st.last_hlc, offset_ms=st.clock_offset_ms)
        renamed: dict[str, str] = {}
        rows = conn.execute(sa.select(t).where(sa.text(UNSENT), t.c.state.in_(("pending", "sent")))
                            .order_by(t.c.local_no)).mappings().all()
        for ch in rows:
            new = clock.now()
            renamed[ch["hlc"]] = new
            base = {k: renamed.get(v, v) for k, v in (ch["base"] or {}).items()}
            conn.execute(t.update().where(t.c.change_id == ch["change_id"]).values(
                hlc=new, base=base, device_id=st.device_id))
            ent = reg.get(ch["entity"])
            if ent is None:
                continue
            et = ent.table
            if ent.kind == "append":
                conn.execute(et.update().where(et.c.id == ch["record_id"],
                                               et.c.hlc == ch["hlc"]).values(hlc=new))
                continue
            row = conn.execute(sa.select(et.c.field_hlc).where(
                et.c.id == ch["record_id"])).first()
            if row is None:
                continue
            stamps = {k: renamed.get(v, v) for k, v in (row.field_hlc or {}).items()}
            conn.execute(et.update().where(et.c.id == ch["record_id"]).values(
                field_hlc=stamps, updated_hlc=max(stamps.values(), default="")))
        st.last_hlc = clock.last
        _save(conn, st)
    return len(rows)


def _push(engine: sa.Engine, db_path: Path, http: Any, report: Report,
          progress: Callable[[str, int, int], None] | None, server_hlc: str = "") -> None:
    t = tables.change
    restamped = False
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(t).where(
            sa.text(UNSENT), t.c.state.in_(("pending", "sent")))).scalar_one()
    done, size, after = 0, BATCH, 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(sa.text(UNSENT),
                                                   t.c.state.in_(("pending", "sent")),
                                                   t.c.local_no > after)
                                .order_by(t.c.local_no).limit(size)).mappings().all()
        if not rows:
            return
        batch = [{"change_id": r["change_id"], "site_id": r["site_id"], "entity": r["entity"],
                  "record_id": r["record_id"], "op": r["op"], "fields": r["fields"],
                  "base": r["base"], "hlc": r["hlc"]} for r in rows]
        r = _request(partial(http.post, "/sync/push", json={"changes": batch}), "push")
        if r.status_code == 413 and size > 1:
            size = max(1, size // 2)
            continue
        if r.status_code == 413:  # one change over the server's limit: it can never go
            _roll_back(engine, db_path, [{
                "change_id": rows[0]["change_id"], "code": 413, "error": "too_large",
                "where": [f"over the server's request size limit ({_error(r).message})"]}],
                rows, report)
            size = BATCH
            continue
        if r.status_code == 422 and _error_code(r) == "clock_ahead" and not restamped:
            # this laptop's clock ran ahead: stamp what no server holds by the server's time
            report.warnings.append(_error(r).message + "; re-stamped the pending changes "
                                   "by the server's clock")
            _restamp(engine, db_path, server_hlc)
            restamped = True
            continue
        if r.status_code in (403, 422) and _reject(engine, db_path, r, rows, report):
            continue  # the named changes are set aside; send the rest
        if r.status_code != 200:
            raise _error(r)
        body = r.json()
        refused = [res for res in body["results"] if res["status"] == "rejected"]
        if refused:
            _roll_back(engine, db_path, refused, rows, report)
        acks = [{"v_id": res["change_id"], "v_seq": res.get("seq")}
                for res in body["results"] if res["status"] != "rejected"]
        with connection_scope(engine, db_path, write=True) as conn:
            if acks:  # one statement for the batch
                conn.execute(t.update().where(
                    t.c.change_id == sa.bindparam("v_id")).values(
                    state="acked", seq=sa.bindparam("v_seq")), acks)
            _recv(conn, body["server_hlc"])
        dupes = sum(res["status"] == "duplicate" for res in body["results"])
        report.duplicates += dupes
        report.pushed += len(acks) - dupes
        done += len(rows)
        after = rows[-1]["local_no"]
        if progress:
            progress("push", done, total)


def _reject(engine: sa.Engine, db_path: Path, r: Any, rows: Sequence[sa.RowMapping],
            report: Report) -> bool:
    """Mark the changes a 403/422 names as rejected and roll their records back to the
    server's copy (sync.md §3.2); False if it names none."""
    try:
        body = r.json()
    except ValueError:
        return False
    if body.get("error") in ("clock_ahead", "wrong_device"):
        return False
    items: dict[int, dict[str, Any]] = {}
    for item in body.get("rejected") or []:
        if isinstance(item, dict) and isinstance(item.get("index"), int):
            items[item["index"]] = item
    for w in body.get("where") or []:
        hit = re.match(r"^changes\[(\d+)\]", w)
        if hit and int(hit[1]) < len(rows) and int(hit[1]) not in items:
            items[int(hit[1])] = {"index": int(hit[1]), "where": [w], "code": r.status_code}
    items = {i: {**it, "change_id": rows[i]["change_id"]} for i, it in items.items()
             if i < len(rows)}
    if not items:
        return False
    _roll_back(engine, db_path, list(items.values()), rows, report)
    return True


_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|#\d+")


def refusals(rejected: list[dict[str, Any]]) -> list[tuple[tuple[str, str], int]]:
    """Refused changes summarised: (entity, reason with record ids and numbers left out) →
    how many, most first."""
    from collections import Counter

    counts = Counter((r["entity"], _ID.sub("…", r["reason"])) for r in rejected)
    return counts.most_common()


def _roll_back(engine: sa.Engine, db_path: Path, refused: list[dict[str, Any]],
               rows: Sequence[sa.RowMapping], report: Report) -> None:
    """Mark refused changes `rejected` (with why), and put their records back as the server
    holds them, so this laptop does not keep what nobody else will ever see: a field this
    change set takes the server's value and stamp (unless a later edit or pull holds it now);
    a record the server never accepted is hidden (a row) or removed (an append-only row)."""
    from pm_cli.protocol.entities import registry

    t = tables.change
    by_id = {row["change_id"]: row for row in rows}
    reg = registry()
    with connection_scope(engine, db_path, write=True) as conn:
        for item in refused:
            row = by_id.get(item["change_id"])
            if row is None:
                continue
            where = [re.sub(r"^changes\[\d+\]\.?", "", w) for w in item.get("where") or []]
            why = "; ".join(w for w in where if w) or item.get("error") or "refused"
            conn.execute(t.update().where(t.c.change_id == row["change_id"]).values(
                state="rejected", reason=why))
            report.rejected.append({"change_id": row["change_id"], "entity": row["entity"],
                                    "record_id": row["record_id"], "reason": why,
                                    "code": item.get("code")})
            ent = reg.get(row["entity"])
            if ent is None or "record" not in item:
                continue  # the server did not say what it holds (a site not granted)
            _restore_record(conn, ent, row, item["record"])


def _restore_record(conn: sa.Connection, ent: Any, change: sa.RowMapping,
                    record: dict[str, Any] | None) -> None:
    et = ent.table
    rid = change["record_id"]
    if ent.kind == "append":
        if record is None:  # never stored on the server: nobody else will see it
            conn.execute(et.delete().where(et.c.id == rid))
        return
    local = conn.execute(sa.select(et).where(et.c.id == rid)).mappings().first()
    if local is None:
        return
    stamps = dict(local["field_hlc"] or {})
    values: dict[str, Any] = {}
    for name in change["fields"]:
        if stamps.get(name) != change["hlc"] or name not in et.c:
            continue  # a later edit here, or a pulled value, holds this field now
        if record is None:
            values["deleted"] = True  # a record the server never accepted: hidden here
            continue
        if name in (record.get("field_hlc") or {}):
            values[name] = record["fields"].get(name)
            stamps[name] = record["field_hlc"][name]
        else:
            stamps.pop(name, None)
    if values or stamps != dict(local["field_hlc"] or {}):
        conn.execute(et.update().where(et.c.id == rid).values(
            **values, field_hlc=stamps, updated_hlc=max(stamps.values(), default="")))


def _pull(engine: sa.Engine, db_path: Path, http: Any, report: Report,
          progress: Callable[[str, int, int], None] | None) -> None:
    from pm_cli.sync.apply import Applier

    while True:
        with connection_scope(engine, db_path, write=False) as conn:
            cursor = _state(conn).cursor
        has_more = False
        pending: list[dict[str, Any]] = []
        try:
            has_more, top = _page(engine, db_path, http, cursor, pending, report, Applier)
        except httpx.TransportError as e:
            if pending:  # keep what arrived whole; the cursor moves past it
                _apply(engine, db_path, pending, pending[-1]["seq"], report, Applier)
            raise SyncError(f"the connection was cut during the pull ({type(e).__name__})",
                            hint="nothing is lost: run pm sync again; it resumes at the "
                            "saved cursor") from None
        if top:
            _seen(engine, db_path, top)
        if progress:
            progress("pull", report.pulled, max(report.pulled, report.expected))
        if not has_more:
            return


class _Resync(Exception):
    pass


def _page(engine: sa.Engine, db_path: Path, http: Any, cursor: int,
          pending: list[dict[str, Any]], report: Report, Applier: Any
          ) -> tuple[bool, str | None]:
    """Stream one page, applying every COMMIT_EVERY changes; (has_more, top stamp)."""
    has_more, top = False, None
    with http.stream("GET", "/sync/pull", params={"cursor": cursor, "limit": PAGE}) as r:
        if r.status_code == 410:  # the server compacted its log below our cursor
            raise _Resync
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
                    _apply(engine, db_path, pending, pending[-1]["seq"], report, Applier)
                    pending.clear()
            elif msg["type"] == "page":
                top = msg["server_hlc"]
            elif msg["type"] == "end":
                _apply(engine, db_path, pending, msg["next_cursor"], report, Applier)
                pending.clear()
                has_more, ended = msg["has_more"], True
                report.cursor = msg["next_cursor"]
        if not ended:  # closed before its end line
            raise httpx.RemoteProtocolError("the pull stream ended early")
    return has_more, top


def _snapshot(engine: sa.Engine, db_path: Path, http: Any, report: Report,
              progress: Callable[[str, int, int], None] | None,
              sites: list[str] | None = None) -> None:
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
            with connection_scope(engine, db_path, write=True) as conn:
                applier = Applier(conn)
                applier.apply_records(records)
                st = _state(conn)
                if not end["has_more"] and not sites:
                    st.cursor = max(st.cursor, cursor)
                    report.cursor = st.cursor
                clock = Clock(st.device_id, st.last_hlc, offset_ms=st.clock_offset_ms)
                clock.recv(top)
                st.last_hlc = clock.last
                st.last_sync_at = now_text()
                _save(conn, st)
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


KEEP_ACKED_DAYS = 90


def _prune(engine: sa.Engine, db_path: Path) -> int:
    """Forget acked changes older than 90 days (sync.md §3.5): the server holds them, and a
    restored server gets back only what it may have lost. Stamps are fixed-width hex, so
    their text order is their time order."""
    cutoff = int((time.time() - KEEP_ACKED_DAYS * 86400) * 1000)
    t = tables.change
    with connection_scope(engine, db_path, write=True) as conn:
        res = conn.execute(t.delete().where(t.c.state == "acked",
                                            t.c.hlc < f"{cutoff:012x}"))
    return int(res.rowcount or 0)


def _purge(engine: sa.Engine, db_path: Path, site_ids: list[str]) -> list[str]:
    """Remove every record of sites the server no longer shows this user (sync.md §3.3), in
    one transaction and outside the change log: nothing of it is sent anywhere. The change
    log itself stays, so the refused changes can be sent again if the grant comes back."""
    from pm_cli.protocol.entities import registry

    reg = registry()
    site_t = reg["site"].table
    with connection_scope(engine, db_path, write=True) as conn:
        codes = list(conn.execute(sa.select(site_t.c.code).where(site_t.c.id.in_(site_ids))
                                  .order_by(site_t.c.code)).scalars())
        for ent in reg.values():
            conn.execute(ent.table.delete().where(ent.table.c.site_id.in_(site_ids)))
        # and what was derived from them: the per-day rollups and their marks
        for derived in (tables.number_block, tables.kpi_day, tables.kpi_day_done,
                        tables.rollup_dirty):
            conn.execute(derived.delete().where(derived.c.site_id.in_(site_ids)))
        parked = tables.sync_parked
        for seq, change in conn.execute(sa.select(parked.c.seq, parked.c.change)).all():
            if (change or {}).get("site_id") in site_ids:
                conn.execute(parked.delete().where(parked.c.seq == seq))
    return codes


def _new_grants(engine: sa.Engine, info: dict[str, Any]) -> list[str]:
    t = tables.site
    with engine.connect() as conn:
        have = set(conn.execute(sa.select(t.c.id)).scalars())
    return [s["code"] for s in info.get("sites", []) if s["site_id"] not in have]


def _snapshot_page(http: Any, after: str | None, sites: list[str] | None = None
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
        raise SyncError(f"the connection was cut during the first sync ({type(e).__name__})",
                        hint="run pm sync again: what arrived is kept") from None
    if end is None:
        raise SyncError("the snapshot stream ended early", hint="run pm sync again")
    return records, head, end, top


def _apply(engine: sa.Engine, db_path: Path, changes: list[dict[str, Any]], cursor: int,
           report: Report, applier_cls: Any) -> None:
    """Apply a run of pulled changes and save the cursor, in one transaction."""
    with connection_scope(engine, db_path, write=True) as conn:
        applier = applier_cls(conn)
        if changes:
            applier.apply_changes(changes)
        top = max((ch["hlc"] for ch in changes), default=None)
        st = _state(conn)
        st.cursor = max(st.cursor, cursor)
        st.last_sync_at = now_text()
        if top:
            clock = Clock(st.device_id, st.last_hlc, offset_ms=st.clock_offset_ms)
            clock.recv(top)
            st.last_hlc = clock.last
        _save(conn, st)
    report.pulled += len(changes)
    report.applied += applier.applied
    report.parked += applier.parked


def reset_device(db_path: Path) -> dict[str, Any]:
    """Make a copied database its own device: a new device id, pending changes re-stamped
    with it. Its token belonged to the original: log in again with a new one."""
    from pm_cli import config
    from pm_cli.store.hlc import new_device_id

    check_current(db_path)
    engine = make_engine(db_path)
    try:
        device = new_device_id()
        n = _restamp(engine, db_path, None, new_device=device)
    finally:
        engine.dispose()
    config.write_config(token=None)
    return {"device_id": device, "restamped": n}


def requeue_rejected(db_path: Path) -> int:
    """Put rejected changes back in the queue (after the cause is fixed: a grant, a role)."""
    check_current(db_path)
    engine = make_engine(db_path)
    t = tables.change
    try:
        with connection_scope(engine, db_path, write=True) as conn:
            return int(conn.execute(t.update().where(t.c.state == "rejected")
                                              .values(state="pending", reason=None)).rowcount)
    finally:
        engine.dispose()


def sync(db_path: Path, *, url: str | None, token: str | None, push_only: bool = False,
         pull_only: bool = False,
         progress: Callable[[str, int, int], None] | None = None) -> Report:
    url, token = _server(url, token)
    report = Report()
    check_current(db_path)
    engine = make_engine(db_path)
    try:
        with _client(url, token) as http:
            info = _hello(engine, db_path, http)
            report.offset_ms = info["offset_ms"]
            from pm_cli.sync import backlog  # the first sync: log what was kept out of it

            with connection_scope(engine, db_path, write=True) as conn:
                backlog.log_appends(conn)
            if info.get("epoch_changed"):
                report.warnings.append("the server's database is new or restored: sending "
                                       "this laptop's changes again and taking a snapshot")
            with connection_scope(engine, db_path, write=False) as conn:
                report.expected = max(0, int(info.get("head", 0)) - _state(conn).cursor)
            if abs(report.offset_ms) > SKEW_WARN_MS:
                report.warnings.append(
                    f"this laptop's clock is {report.offset_ms / 60000:+.0f} min off the "
                    "server's; pm stamps by the server's time, but fix the clock")
            if not pull_only:
                _push(engine, db_path, http, report, progress, info["server_hlc"])
                from pm_cli.sync import photos  # the pushed step results' photos, after them

                photos.upload_pushed(engine, db_path, http, report)
                _prune(engine, db_path)
                revoked = info.get("not_granted") or []
                if revoked and not info.get("epoch_changed"):
                    # its pending changes went (403 → rejected, kept); now its rows go
                    for code in _purge(engine, db_path, revoked):
                        report.warnings.append(
                            f"site {code} is no longer granted to you: its records were "
                            "removed from this laptop (refused changes stay: pm sync status)")
            if not push_only:
                from pm_cli.sync.apply import Applier

                with connection_scope(engine, db_path, write=True) as conn:
                    report.replayed = Applier(conn).replay_parked()
                with connection_scope(engine, db_path, write=False) as conn:
                    first = _state(conn).cursor == 0
                if first:
                    _snapshot(engine, db_path, http, report, progress)
                else:
                    new = _new_grants(engine, info)
                    if new:  # granted since the last sync: their past is behind our cursor
                        _snapshot(engine, db_path, http, report, progress, sites=new)
                try:
                    _pull(engine, db_path, http, report, progress)
                except _Resync:  # start again from a snapshot; pending changes stay queued
                    report.warnings.append("the server asked for a fresh start: took a "
                                           "snapshot")
                    with connection_scope(engine, db_path, write=True) as conn:
                        st = _state(conn)
                        st.cursor = 0
                        _save(conn, st)
                    _snapshot(engine, db_path, http, report, progress)
                    _pull(engine, db_path, http, report, progress)
    finally:
        engine.dispose()
    return report


def status(db_path: Path, *, url: str | None) -> dict[str, Any]:
    check_current(db_path)
    engine = make_engine(db_path)
    t = tables.change
    try:
        with connection_scope(engine, db_path, write=False) as conn:
            st = _state(conn)

            def count(*where: Any) -> int:  # each by ix_change_unsent alone (no GROUP BY)
                return int(conn.execute(sa.select(sa.func.count()).select_from(t)
                                        .where(*where)).scalar_one())

            from pm_cli.sync import backlog

            # the append-only rows of a database that never synced count as pending
            logged = count(sa.text(UNSENT))
            unsent = logged + backlog.pending_rows(conn)
            refused = count(sa.text(UNSENT), t.c.state == "rejected")
            rejected = [dict(r) for r in conn.execute(
                sa.select(t.c.change_id, t.c.entity, t.c.record_id, t.c.reason)
                .where(sa.text(UNSENT), t.c.state == "rejected").order_by(t.c.local_no)
                .limit(20)).mappings()]
            return {"server": url, "pending": unsent - refused, "acked": count() - logged,
                    "rejected": refused,
                    "rejected_changes": rejected, "last_sync": st.last_sync_at,
                    "cursor": st.cursor, "device_id": st.device_id,
                    "clock_offset_ms": st.clock_offset_ms, "server_epoch": st.server_epoch}
    finally:
        engine.dispose()

