"""Runs read with Core (`store.tables`): `pm run list|show` build no model class. A run's
view (its pinned playbook and newest answers) is read here for the service too, which passes
its session (its transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pm_cli.errors import PmError
from pm_cli.playbooks import read as playbooks
from pm_cli.playbooks.spec import Step
from pm_cli.runs import evidence
from pm_cli.store import read, tables
from pm_cli.store.ids import utc_text

OUTCOMES = ("pass", "fail", "na")
STATUSES = ("open", "finished", "incomplete", "aborted")
OUTCOME_ALIASES = {
    "p": "pass",
    "pass": "pass",
    "ok": "pass",
    "合格": "pass",
    "f": "fail",
    "fail": "fail",
    "不合格": "fail",
    "n": "na",
    "na": "na",
    "n/a": "na",
    "不适用": "na",
}


PHOTO_UPLOADED = "uploaded"
PHOTO_NOT_UPLOADED = "not yet uploaded"
PHOTO_NOT_DOWNLOADED = "not downloaded"


def short(run_id: str) -> str:
    """What people type: the random tail of the id (a prefix would be the same minute)."""
    return run_id[-8:]


@dataclass
class RunView:
    """A run with its pinned playbook and its answers (the newest per step counts)."""

    run: Any
    pinned: playbooks.Pinned
    latest: dict[str, Any]
    history: list[Any]

    @property
    def steps(self) -> list[Step]:
        return self.pinned.playbook.steps

    def answered(self, step_id: str) -> bool:
        return step_id in self.latest

    def first_unanswered(self, start: int = 0) -> int | None:
        """Index of the first unanswered step at or after `start`, wrapping round."""
        n = len(self.steps)
        for k in range(n):
            i = (start + k) % n
            if self.steps[i].id not in self.latest:
                return i
        return None

    @property
    def unanswered_required(self) -> list[str]:
        return [s.id for s in self.steps if s.required and s.id not in self.latest]

    @property
    def score(self) -> float | None:
        """Weighted pass rate over applicable answered steps, 0–100 (None: none applicable)."""
        passed = total = 0.0
        for step in self.steps:
            r = self.latest.get(step.id)
            if r is None or r.outcome == "na":
                continue
            total += step.weight
            if r.outcome == "pass":
                passed += step.weight
        return round(100 * passed / total, 1) if total else None

    @property
    def failed(self) -> list[str]:
        return [s.id for s in self.steps if (r := self.latest.get(s.id)) and r.outcome == "fail"]


def view(db: Any, run: Any) -> RunView:
    conn, t = read.connection(db), tables.step_result
    pinned = playbooks.get_pinned(conn, run.playbook_id, run.playbook_version, run.playbook_sha256)
    history = list(conn.execute(sa.select(t).where(t.c.run_id == run.id).order_by(t.c.hlc)))
    latest = {r.step_id: r for r in history}  # ordered by stamp: the newest wins
    return RunView(run, pinned, latest, history)


def photo_states(db: Any, shas: list[str]) -> dict[str, str]:
    """What this laptop knows of the server's copy of each photo (evidence_copy)."""
    conn, t = read.connection(db), tables.evidence_copy
    out: dict[str, str] = {}
    for part in read.chunks(shas):
        for row in conn.execute(sa.select(t.c.sha256, t.c.state).where(t.c.sha256.in_(part))):
            out[row.sha256] = row.state
    return out


def photo(result: Any, store_dir: Path, state: str | None) -> dict[str, Any] | None:
    """A step result's photo as people and scripts see it: its content address, its file
    when the bytes are on this laptop (`path`, else null: never a path that is not there),
    and `status`: uploaded (the server holds it), not yet uploaded (the author's laptop has
    not sent it, as far as this laptop knows), not downloaded (on the server, or maybe: not
    fetched here; `pm run show RUN --photos`)."""
    if not (result.evidence_path or result.evidence_sha256):
        return None
    addr = evidence.address_of(result.evidence_path, result.evidence_sha256)
    local = evidence.local_file(store_dir, result.evidence_path, result.evidence_sha256)
    on_server = state in ("uploaded", "downloaded")
    if local is not None:
        status = PHOTO_UPLOADED if on_server else PHOTO_NOT_UPLOADED
    else:
        status = PHOTO_NOT_UPLOADED if state == "absent" else PHOTO_NOT_DOWNLOADED
    return {
        "file": addr,
        "sha256": result.evidence_sha256,
        "path": str(local) if local else None,
        "status": status,
    }


def run_record(db: Any, site: Any, rv: RunView, *, store_dir: Path) -> dict[str, Any]:
    """The run as `pm run show --json` prints it."""
    conn = read.connection(db)
    grids, staff = read.id_codes(conn, site.id)
    r = rv.run
    results = []
    states = photo_states(
        conn, sorted({a.evidence_sha256 for a in rv.latest.values() if a.evidence_sha256})
    )
    for step in rv.steps:
        a = rv.latest.get(step.id)
        results.append(
            {
                "step": step.id,
                "title": step.title,
                "kind": step.kind,
                "severity": step.severity,
                "required": step.required,
                "weight": step.weight,
                "range": step.range.model_dump() if step.range else None,
                "unit": step.unit,
                "outcome": a.outcome if a else None,
                "value": a.value if a else None,
                "note": a.note if a else None,
                "reason": a.reason if a else None,
                "evidence": (
                    photo(a, store_dir, states.get(a.evidence_sha256 or "")) if a else None
                ),
                "by": staff.get(a.by_id) if a and a.by_id else None,
                "at": a.created_at if a else None,
                "answers": sum(1 for h in rv.history if h.step_id == step.id),
            }
        )
    return {
        "id": r.id,
        "short": short(r.id),
        "playbook": r.playbook_id,
        "version": r.playbook_version,
        "sha256": r.playbook_sha256,
        "title": rv.pinned.playbook.title,
        "grid": grids.get(r.grid_id) if r.grid_id else None,
        "by": staff.get(r.by_id) if r.by_id else None,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "status": r.status,
        "reason": r.reason,
        "score": rv.score,
        "steps": len(rv.steps),
        "answered": len(rv.latest),
        "failed": rv.failed,
        "unanswered_required": rv.unanswered_required,
        "results": results,
    }


def _day_bound(text: str, tz: str | None, *, end: bool) -> str:
    """A day (its start, or with `end` its end) or a time in the site's zone → stored UTC."""
    from pm_cli import dates

    return utc_text(dates.instant(text, tz, where="--to" if end else "--from", end=end))


def failed_now() -> Any:
    """SQL: the run's newest answer to some step is a fail (what `RunView.failed` says)."""
    f, fails = failed_answers()
    return sa.exists().where(f.c.run_id == tables.run.c.id, fails)


def list_runs(
    db: Any,
    *,
    site: Any,
    since: str | None = None,
    until: str | None = None,
    grid: str | None = None,
    playbook: str | None = None,
    status: str | None = None,
    failed: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Runs newest first. SQL filters, orders and cuts; then one query each for the page's
    answers and pinned playbooks, whatever the history's length."""
    conn, t = read.connection(db), tables.run
    stmt = read.live(t, site.id)
    if since:
        stmt = stmt.where(t.c.started_at >= _day_bound(since, site.tz, end=False))
    if until:
        stmt = stmt.where(t.c.started_at <= _day_bound(until, site.tz, end=True))
    if grid:
        stmt = stmt.where(
            t.c.grid_id
            == read.get_by_code(
                conn,
                tables.grid,
                grid,
                site_id=site.id,
                noun="grid",
                where=site.code,
                hint=f"`pm grid list --site {site.code}` shows the grids",
            ).id
        )
    if playbook:
        stmt = stmt.where(t.c.playbook_id == playbook)
    if status:
        if status not in STATUSES:
            raise PmError(
                f"unknown status {status!r}", where="--status", hint="use " + ", ".join(STATUSES)
            )
        stmt = stmt.where(t.c.status == status)
    if failed:
        stmt = stmt.where(failed_now())
    stmt = stmt.order_by(t.c.started_at.desc(), t.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    runs = conn.execute(stmt).all()
    results = read.children(conn, tables.step_result, "run_id", [r.id for r in runs])
    pins = playbooks.pinned_many(
        conn, {(r.playbook_id, r.playbook_version, r.playbook_sha256) for r in runs}
    )
    grids, staff = read.id_codes(conn, site.id)
    out = []
    for r in runs:
        history = results.get(r.id, [])
        rv = RunView(
            r,
            pins[(r.playbook_id, r.playbook_version, r.playbook_sha256)],
            {h.step_id: h for h in history},
            history,
        )
        if failed and not rv.failed:
            continue  # a failed answer to a step its playbook no longer has
        out.append(
            {
                "id": r.id,
                "short": short(r.id),
                "playbook": r.playbook_id,
                "version": r.playbook_version,
                "grid": grids.get(r.grid_id) if r.grid_id else None,
                "by": staff.get(r.by_id) if r.by_id else None,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "status": r.status,
                "score": rv.score,
                "answered": len(rv.latest),
                "steps": len(rv.steps),
                "failed": len(rv.failed),
            }
        )
    return out


def failed_answers() -> tuple[Any, Any]:
    """(f, condition): step_result rows `f` that are the newest answer to their step and a
    fail (what `RunView.failed` counts), for SQL that joins or correlates `f.c.run_id`."""
    f, g = tables.step_result.alias("f"), tables.step_result.alias("g")
    newer = sa.exists().where(
        g.c.run_id == f.c.run_id, g.c.step_id == f.c.step_id, g.c.hlc > f.c.hlc
    )
    return f, (f.c.outcome == "fail") & ~newer


def get_run(db: Any, *, site: Any, ref: str) -> sa.Row[Any]:
    """A run by its id or the tail of it (≥ 6 characters, as `pm run list` shows)."""
    return read.get_by_tail(
        read.connection(db),
        tables.run,
        ref,
        site_id=site.id,
        noun="run",
        where=site.code,
        hint="`pm run list` shows runs",
    )
