"""Evidence photos over sync (sync.md §4a): after each push, `pm sync` uploads the bytes of
every pushed step result's photo the server is not known to hold (`PUT /evidence/{sha256}`);
`pm sync --photos` and `pm run show RUN --photos` fetch the photos this laptop lacks
(`GET /evidence/{sha256}`), checked against their sha256 and filed by content address.

What this laptop knows of the server's copies is the local table `evidence_copy` (uploaded,
downloaded, or absent at the last fetch): a photo is sent once, and fetched until it is here.
A photo that cannot travel (its file gone, the server refusing it) is a warning: sync goes
on, and the next sync tries again."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from pm_cli.errors import PmError, SyncError
from pm_cli.runs import evidence
from pm_cli.store import tables
from pm_cli.store.engine import check_current, connection_scope, make_engine
from pm_cli.store.ids import now_text

MAX_WARNINGS = 5  # photo warnings named one by one; the rest are counted
NOT_PUSHED = ("pending", "sent", "rejected")


@dataclass
class _Photo:
    sha256: str
    address: str
    step_id: str
    run_id: str
    mine: bool  # pushed from here (its change is in this laptop's log)


def _mark(engine: sa.Engine, db_path: Path, sha256: str, state: str) -> None:
    t = tables.evidence_copy
    with connection_scope(engine, db_path, write=True) as conn:
        conn.execute(t.delete().where(t.c.sha256 == sha256))
        conn.execute(t.insert().values(sha256=sha256, state=state, at=now_text()))


def _to_upload(engine: sa.Engine) -> list[_Photo]:
    """The photos of step results the server holds (none of their changes waits in the
    log) that are not known to be uploaded, one per sha256."""
    sr, ch, ec = tables.step_result, tables.change, tables.evidence_copy

    def changes(states: tuple[str, ...]) -> Any:
        return sa.exists().where(
            ch.c.entity == "step_result", ch.c.record_id == sr.c.id, ch.c.state.in_(states)
        )

    held = sa.exists().where(
        ec.c.sha256 == sr.c.evidence_sha256, ec.c.state.in_(("uploaded", "downloaded"))
    )
    stmt = (
        sa.select(
            sr.c.evidence_path,
            sr.c.evidence_sha256,
            sr.c.step_id,
            sr.c.run_id,
            changes(("acked",)).label("mine"),
        )
        .where(sr.c.evidence_sha256.is_not(None), ~held, ~changes(NOT_PUSHED))
        .order_by(sr.c.created_at, sr.c.id)
    )
    out: dict[str, _Photo] = {}
    with engine.connect() as conn:
        for path, sha, step, run, mine in conn.execute(stmt):
            addr = evidence.address_of(path, sha)
            if addr is None:
                continue
            if sha in out:
                out[sha].mine = out[sha].mine or bool(mine)
            else:
                out[sha] = _Photo(sha, addr, step, run, bool(mine))
    return list(out.values())


def upload_pushed(engine: sa.Engine, db_path: Path, http: Any, report: Any) -> int:
    """Upload what the push just made the server able to accept; warnings go to
    `report.warnings`. The number of photos uploaded."""
    from pm_cli.sync.transport import _error, _request, error_code

    root = evidence.evidence_dir(db_path)
    missing: list[str] = []
    refused: list[str] = []
    sent = 0
    for p in _to_upload(engine):
        local = evidence.path_of(root, p.address)
        if not local.is_file():
            if p.mine:
                missing.append(f"{p.step_id} of run {p.run_id[-8:]} ({local})")
            continue  # another laptop's photo, never fetched here: not ours to send
        try:
            body = local.read_bytes()
        except OSError as e:
            refused.append(f"{p.step_id} of run {p.run_id[-8:]}: cannot read {local}: {e.strerror}")
            continue
        try:
            r = _request(
                partial(
                    http.put,
                    f"/evidence/{p.sha256}",
                    content=body,
                    headers={"Content-Type": "application/octet-stream"},
                ),
                "photo upload",
            )
        except SyncError as e:
            report.warnings.append(
                f"photos not uploaded: {e.message} (the next pm sync sends them)"
            )
            break
        if r.status_code == 200:
            _mark(engine, db_path, p.sha256, "uploaded")
            sent += 1
        elif r.status_code in (404, 405) and error_code(r) is None:
            report.warnings.append(
                "the sync server takes no photos (an older pm server): "
                "photos stay on this laptop until it is upgraded"
            )
            break
        else:
            refused.append(f"{p.step_id} of run {p.run_id[-8:]}: {_error(r).message}")
    if missing:
        report.warnings.append(
            f"{len(missing)} photo(s) pushed from here are missing from the evidence store, "
            "so they cannot be uploaded: "
            + "; ".join(missing[:MAX_WARNINGS])
            + (" …" if len(missing) > MAX_WARNINGS else "")
        )
    for why in refused[:MAX_WARNINGS]:
        report.warnings.append(f"photo not uploaded: {why}")
    if len(refused) > MAX_WARNINGS:
        report.warnings.append(f"{len(refused) - MAX_WARNINGS} more photo(s) not uploaded")
    return sent


@dataclass
class Fetched:
    downloaded: int = 0
    here: int = 0  # already on this laptop
    not_uploaded: int = 0  # the server has none yet
    refused: list[str] = field(default_factory=list)  # 403 and the like
    offline: str | None = None  # why nothing (more) was fetched

    def as_dict(self) -> dict[str, Any]:
        return {
            "downloaded": self.downloaded,
            "here": self.here,
            "not_uploaded": self.not_uploaded,
            "refused": self.refused,
            "offline": self.offline,
        }


def _wanted(engine: sa.Engine, run_id: str | None) -> list[tuple[str, str]]:
    """(sha256, address) of the photos named by this laptop's step results (of one run)."""
    sr = tables.step_result
    stmt = (
        sa.select(sr.c.evidence_path, sr.c.evidence_sha256)
        .where(sr.c.evidence_sha256.is_not(None))
        .order_by(sr.c.created_at, sr.c.id)
    )
    if run_id is not None:
        stmt = stmt.where(sr.c.run_id == run_id)
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for path, sha in conn.execute(stmt):
            addr = evidence.address_of(path, sha)
            if addr is not None:
                out.setdefault(sha, addr)
    return list(out.items())


def fetch(
    db_path: Path, *, url: str | None, token: str | None, run_id: str | None = None
) -> Fetched:
    """Download the photos this laptop lacks (of one run, or all), each checked against its
    sha256 before it is filed. Offline or not logged in, `offline` says so: no error."""
    from pm_cli.sync.transport import _client, _error, error_code

    res = Fetched()
    check_current(db_path)
    engine = make_engine(db_path)
    root = evidence.evidence_dir(db_path)
    try:
        todo = []
        for sha, addr in _wanted(engine, run_id):
            if evidence.path_of(root, addr).is_file():
                res.here += 1
            else:
                todo.append((sha, addr))
        if not todo:
            return res
        if not url or not token:
            res.offline = "this laptop is not logged in to a sync server (pm sync login URL)"
            return res
        with _client(url.rstrip("/"), token) as http:
            for sha, addr in todo:
                try:
                    with http.stream("GET", f"/evidence/{sha}") as r:
                        if r.status_code == 200:
                            got, got_sha, _ = evidence.write_stream(
                                r.iter_bytes(evidence.CHUNK), root, evidence.suffix_of(addr)
                            )
                            if got_sha != sha:  # never file bytes under another name
                                evidence.path_of(root, got).unlink(missing_ok=True)
                                res.refused.append(f"{addr}: the server's bytes hash to {got_sha}")
                                continue
                            _mark(engine, db_path, sha, "downloaded")
                            res.downloaded += 1
                            continue
                        r.read()
                        if r.status_code == 404 and error_code(r) == "not_uploaded":
                            _mark(engine, db_path, sha, "absent")
                            res.not_uploaded += 1
                        elif r.status_code in (401, 426):
                            raise _error(r)
                        else:
                            res.refused.append(f"{addr}: {_error(r).message}")
                except httpx.TransportError as e:
                    res.offline = f"cannot reach the sync server {url} ({type(e).__name__})"
                    return res
                except evidence.TooLarge:
                    res.refused.append(f"{addr}: larger than a photo may be")
                except OSError as e:
                    raise PmError(
                        f"cannot store the photo: {e.strerror}", where=str(root)
                    ) from None
    finally:
        engine.dispose()
    return res


def waiting(db_path: Path) -> int:
    """Photos of step results pushed from here that the server is not known to hold."""
    check_current(db_path)
    engine = make_engine(db_path)
    try:
        return sum(1 for p in _to_upload(engine) if p.mine)
    finally:
        engine.dispose()
