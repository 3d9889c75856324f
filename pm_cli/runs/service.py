"""Checklist runs: a playbook version executed at a grid by a staff member, one committed
answer at a time. The score and status of steps are computed from the answers, never stored
as the only truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from pm_cli import validate as v
from pm_cli.errors import ConflictError, InputError, NotFoundError, PmError, Problem
from pm_cli.findings.service import Finding, raise_finding
from pm_cli.grids.service import get_grid, id_codes
from pm_cli.pdca.service import Withdrawal, withdraw_raised
from pm_cli.playbooks import service as playbooks
from pm_cli.playbooks.spec import Step
from pm_cli.runs import evidence
from pm_cli.runs.models import EvidenceCopy, Run, StepResult
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.staff.service import get_me, get_staff
from pm_cli.store import write
from pm_cli.store.ids import now_text, utc_text
from pm_cli.store.query import children, find_by_code, get_by_tail, live

OUTCOMES = ("pass", "fail", "na")
STATUSES = ("open", "finished", "incomplete", "aborted")
OUTCOME_ALIASES = {"p": "pass", "pass": "pass", "ok": "pass", "合格": "pass",
                   "f": "fail", "fail": "fail", "不合格": "fail",
                   "n": "na", "na": "na", "n/a": "na", "不适用": "na"}


def short(run_id: str) -> str:
    """What people type: the random tail of the id (a prefix would be the same minute)."""
    return run_id[-8:]


@dataclass
class RunView:
    """A run with its pinned playbook and its answers (the newest per step counts)."""

    run: Run
    pinned: playbooks.Pinned
    latest: dict[str, StepResult]
    history: list[StepResult]

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


def view(session: Session, run: Run) -> RunView:
    pinned = playbooks.get_pinned(session, run.playbook_id, run.playbook_version,
                                  run.playbook_sha256)
    history = list(session.exec(
        select(StepResult).where(StepResult.run_id == run.id).order_by(StepResult.hlc)))
    latest = {r.step_id: r for r in history}  # ordered by stamp: the newest wins
    return RunView(run, pinned, latest, history)


# ---- finding runs ----------------------------------------------------------------------


def get_run(session: Session, *, site: Site, ref: str) -> Run:
    """A run by its id or the tail of it (≥ 6 characters, as `pm run list` shows)."""
    return get_by_tail(session, Run, ref, site_id=site.id, noun="run", where=site.code,
                       hint="`pm run list` shows runs")


def latest_open(session: Session, *, site: Site,
                me: str | None = None) -> tuple[Run, bool]:
    """The newest open run of `me` (a staff code), else of the site: (run, mine)."""
    stmt = live(Run, site.id).where(Run.status == "open").order_by(col(Run.started_at).desc())
    if me:
        person = find_by_code(session, Staff, me, site_id=site.id, noun="staff member",
                              where=site.code)
        if person is not None:
            mine = session.exec(stmt.where(Run.by_id == person.id)).first()
            if mine is not None:
                return mine, True
    run = session.exec(stmt).first()
    if run is None:
        raise NotFoundError(f"no open run at {site.code}",
                            hint="start one: pm run start PLAYBOOK")
    return run, False


# ---- starting, answering, finishing ----------------------------------------------------


def _by(session: Session, site: Site, by: str | None, me: str | None) -> Staff:
    if by:
        return get_staff(session, site=site, code=by)
    if me:
        return get_me(session, site=site, code=me)
    raise PmError("who is running it?", where="--by",
                  hint="pass --by STAFF, or say who you are once: pm staff use CODE")


def start_run(
    session: Session, *, site: Site, playbook: str, version: int | None = None,
    grid: str | None = None, by: str | None = None, me: str | None = None,
    started_at: str | None = None, at_stop: tuple[str, str, str | None] | None = None,
) -> Run:
    """A new open run pinned to the playbook's version (the newest unless given).
    `started_at` backfills a run done on paper (stored UTC text); `at_stop` is (route id,
    checkpoint id, grid id) for a run at a stop of a route walk."""
    pinned = playbooks.get(session, playbook, version)
    staff = _by(session, site, by, me)
    grid_id = get_grid(session, site=site, code=grid).id if grid else None
    route_id = checkpoint_id = None
    if at_stop:
        route_id, checkpoint_id, grid_id = at_stop
    p = pinned.playbook
    return write.create(
        session, Run, site_id=site.id, playbook_id=p.id, playbook_version=pinned.version,
        playbook_sha256=pinned.sha256, grid_id=grid_id, checkpoint_id=checkpoint_id,
        route_id=route_id, by_id=staff.id, started_at=started_at or now_text(), status="open",
    )


@dataclass
class Answer:
    """One answer as given, before the rules decide what is stored."""

    step: str
    outcome: str | None = None
    value: float | str | None = None
    note: str | None = None
    photo: Path | None = None


@dataclass
class Recorded:
    result: StepResult
    step: Step
    finding: Finding | None = None
    warnings: list[str] = field(default_factory=list)
    # what the answer it replaced had raised, taken back (or kept: someone acted on it)
    withdrawal: Withdrawal | None = None


def parse_outcome(text: str | None) -> str | None:
    if text is None or not str(text).strip():
        return None
    key = str(text).strip().lower()
    if key not in OUTCOME_ALIASES:
        raise ValueError(f"unknown outcome {text!r}: use pass, fail or na (p/f/n)")
    return OUTCOME_ALIASES[key]


def parse_value(text: float | str | None) -> float | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise ValueError("a reading is a number")
    if not isinstance(text, int | float | str):  # a list or a mapping in an answers file
        raise ValueError("a reading is one number, not a list or a mapping")
    if isinstance(text, int | float):
        return float(text)
    try:
        return float(text.strip().replace("，", ".").replace(",", "."))
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


def judge_reading(step: Step, value: float) -> tuple[str, str | None]:
    """pass, or fail with the reason, for a reading against the step's range."""
    assert step.range is not None
    if step.range.contains(value):
        return "pass", None
    return "fail", f"{value:g} {step.unit} is outside {step.range.describe(step.unit)}"


def decide(step: Step, answer: Answer) -> tuple[str, float | None, str | None]:
    """(outcome, value, reason) by the step's rules; ValueError says what is missing."""
    outcome = parse_outcome(answer.outcome)
    value = parse_value(answer.value)
    reason = None
    if outcome == "na":
        if value is not None:
            raise ValueError("a step that does not apply takes no value")
        return "na", None, None
    if step.kind == "reading":
        if value is None:
            raise ValueError(f"{step.id} is a reading: give its value in {step.unit}"
                             + (" (or na)" if outcome is None else ""))
        judged, reason = judge_reading(step, value)
        if judged == "fail" and outcome == "pass":
            raise ValueError(f"{reason}: it cannot pass (record it as fail, or fix the value)")
        outcome = outcome or judged
    else:
        if value is not None:
            raise ValueError(f"{step.id} is a {step.kind} step: it takes no value")
        if outcome is None:
            raise ValueError(f"{step.id}: say pass, fail or na")
    if step.kind == "text" and not (answer.note or "").strip():
        raise ValueError(f"{step.id} is a text step: write the entry as the note")
    needs_photo = step.kind == "photo" or step.evidence == "photo" or (
        step.evidence == "photo-on-fail" and outcome == "fail")
    if needs_photo and answer.photo is None:
        why = "on a fail" if step.evidence == "photo-on-fail" and step.kind != "photo" else ""
        raise ValueError(f"{step.id} needs a photo {why}".rstrip() + ": pass --photo FILE")
    return outcome, value, reason


def record(
    session: Session, *, site: Site, run: Run, answer: Answer, store_dir: Path,
    by: Staff | None = None,
) -> Recorded:
    """Store one answer (a newer answer to the same step supersedes it); a failed step that
    opens items raises a finding for the grid's owner."""
    if run.status != "open":
        raise ConflictError(f"run {short(run.id)} is {run.status}; answers are closed",
                            hint="start a new run: pm run start PLAYBOOK")
    pinned = playbooks.get_pinned(session, run.playbook_id, run.playbook_version,
                                  run.playbook_sha256)
    step = pinned.playbook.step(answer.step)
    if step is None:
        ids = ", ".join(s.id for s in pinned.playbook.steps)
        raise NotFoundError(f"no step {answer.step!r} in {run.playbook_id}@"
                            f"{run.playbook_version}", hint=f"steps: {ids}")
    try:
        outcome, value, reason = decide(step, answer)
    except ValueError as e:
        raise PmError(str(e), where=f"step {step.id}") from None
    path = sha = None
    if answer.photo is not None:
        path, sha = evidence.store(answer.photo, store_dir)
    note = v.optional_text(answer.note) if answer.note is not None else None
    before = session.exec(select(StepResult).where(
        StepResult.run_id == run.id, StepResult.step_id == step.id)
        .order_by(col(StepResult.hlc).desc())).first()
    result = write.append(
        session, StepResult, site_id=site.id, run_id=run.id, step_id=step.id,
        outcome=outcome, value=value, note=note, reason=reason, evidence_path=path,
        evidence_sha256=sha, by_id=(by.id if by else run.by_id),
    )
    finding = None
    if outcome == "fail" and step.opens:
        finding = raise_finding(
            session, site_id=site.id, source="step", source_ref=result.id,
            title=f"{step.title}: {reason or note or 'failed'}", severity=step.severity,
            grid_id=run.grid_id, by_id=result.by_id,
            key=f"step:{run.grid_id or '-'}:{run.playbook_id}:{step.id}",
        )
    withdrawal = None
    if before is not None and before.outcome == "fail" and outcome != "fail":
        shown = f"{value:g}" if value is not None else outcome
        withdrawal = withdraw_raised(
            session, site=site, source_ref=before.id, by_id=result.by_id,
            reason=f"answer to {step.id} corrected to {shown} in run {short(run.id)}")
    return Recorded(result, step, finding, withdrawal=withdrawal)


def cancel(session: Session, *, site: Site, run: Run, reason: str,
           by_id: str | None = None) -> tuple[RunView, list[Withdrawal]]:
    """Cancel a run entered in error or abandoned: status aborted with the reason, out of
    what is done and scored; the items its failed answers raised are withdrawn when nobody
    has acted on them (the others are named, with how to close them)."""
    if run.status == "aborted":
        raise ConflictError(f"run {short(run.id)} is already cancelled")
    if run.route_id:
        raise ConflictError(f"run {short(run.id)} is a stop of a route walk",
                            hint="a stop is skipped or redone in its walk: pm route run ROUTE")
    why = v.optional_text(reason)
    if not why:
        raise PmError("say why the run is cancelled", where="--reason")
    taken: list[Withdrawal] = []
    for r in view(session, run).history:
        if r.outcome == "fail":
            w = withdraw_raised(session, site=site, source_ref=r.id, by_id=by_id,
                                reason=f"run {short(run.id)} cancelled: {why}")
            if w is not None:
                taken.append(w)
    write.update(session, run, status="aborted", reason=why,
                 finished_at=run.finished_at or now_text())
    return view(session, run), taken


def finish(session: Session, *, run: Run, incomplete: bool = False,
           reason: str | None = None, at: str | None = None) -> RunView:
    if run.status != "open":
        raise ConflictError(f"run {short(run.id)} is already {run.status}")
    rv = view(session, run)
    missing = rv.unanswered_required
    if missing and not incomplete:
        raise ConflictError(
            f"{len(missing)} required step(s) unanswered: {', '.join(missing[:8])}"
            + (" …" if len(missing) > 8 else ""),
            hint=f"pm run resume {short(run.id)}, or pm run finish {short(run.id)} "
            "--incomplete --reason TEXT",
        )
    if incomplete and not (reason or "").strip():
        raise PmError("say why the run is incomplete", where="--reason")
    write.update(session, run, status="incomplete" if incomplete else "finished",
                 finished_at=at or now_text(),
                 reason=v.optional_text(reason) if incomplete else None)
    return view(session, run)


def abort(session: Session, *, run: Run, reason: str, at: str | None = None) -> None:
    """Close an open run without a score (its walk was abandoned)."""
    if run.status != "open":
        raise ConflictError(f"run {short(run.id)} is already {run.status}")
    write.update(session, run, status="aborted", finished_at=at or now_text(),
                 reason=v.optional_text(reason))


def passes_alone(step: Step) -> bool:
    """Can this step pass on a bare `p`? A check needing no photo on a pass does."""
    return step.kind == "check" and step.evidence != "photo"


def pass_checks(session: Session, *, site: Site, run: Run, store_dir: Path) -> list[str]:
    """Pass every unanswered step that a bare pass answers (one key for a whole stop);
    the ids passed. Readings, photos and text entries are left to be answered."""
    rv = view(session, run)
    passed = []
    for step in rv.steps:
        if step.id not in rv.latest and passes_alone(step):
            record(session, site=site, run=run, store_dir=store_dir,
                   answer=Answer(step=step.id, outcome="pass"))
            passed.append(step.id)
    return passed


# ---- answers files ---------------------------------------------------------------------


def read_answers(path: Path) -> list[tuple[str, Answer]]:
    """An answers file: a list of {step, outcome, value, note, photo}, or {step: outcome}.
    Positions `FILE:LINE` for every problem; photos relative to the file."""
    import yaml

    from pm_cli.transfer.readers import decode, read_bytes
    from pm_cli.yamlfile import Loader

    source = str(path)
    text = decode(read_bytes(path), source, None)
    try:
        loader = Loader(text)
        try:
            root = loader.get_single_node()
            items: list[tuple[str, Any]] = []
            if isinstance(root, yaml.SequenceNode):
                items = [(f"{source}:{n.start_mark.line + 1}", loader.construct_object(n, True))
                         for n in root.value]
            elif isinstance(root, yaml.MappingNode):
                items = [(f"{source}:{k.start_mark.line + 1}",
                          {"step": loader.construct_object(k), **_short_form(
                              loader.construct_object(val, True))})
                         for k, val in root.value]
            elif root is not None:
                raise InputError([Problem(f"{source}:1", "expected a list of answers")],
                                 source=source)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InputError([Problem(where, f"YAML syntax: {e.problem}")], source=source) from None
    problems: list[Problem] = []
    out: list[tuple[str, Answer]] = []
    keys = {"step", "outcome", "value", "note", "photo"}
    for where, item in items:
        if not isinstance(item, dict):
            problems.append(Problem(where, "expected step: outcome, or a mapping with step"))
            continue
        extra = sorted(set(map(str, item)) - keys)
        if extra:
            problems.append(Problem(where, f"unknown key(s) {', '.join(extra)}; known: "
                                    "step, outcome, value, note, photo"))
            continue
        if not item.get("step"):
            problems.append(Problem(where, "missing step"))
            continue
        photo = item.get("photo")
        out.append((where, Answer(
            step=str(item["step"]), outcome=None if item.get("outcome") is None
            else str(item["outcome"]), value=item.get("value"),
            note=None if item.get("note") is None else str(item["note"]),
            photo=(path.parent / str(photo)) if photo else None,
        )))
    if problems:
        raise InputError(problems, source=source)
    return out


def _short_form(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"value": value}
    return {"outcome": value}


def record_answers(
    session: Session, *, site: Site, run: Run, answers: list[tuple[str, Answer]],
    store_dir: Path, source: str,
) -> list[Recorded]:
    """Check every answer, then store them all (the caller's transaction: all or nothing)."""
    pinned = playbooks.get_pinned(session, run.playbook_id, run.playbook_version,
                                  run.playbook_sha256)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, answer in answers:
        step = pinned.playbook.step(answer.step)
        if step is None:
            problems.append(Problem(where, f"no step {answer.step!r} in "
                                    f"{run.playbook_id}@{run.playbook_version}"))
            continue
        if answer.step in seen:
            problems.append(Problem(where, f"step {answer.step} is answered twice (also at "
                                    f"line {seen[answer.step].rsplit(':', 1)[-1]})"))
        seen[answer.step] = where
        try:
            decide(step, answer)
            if answer.photo is not None:
                evidence.check_photo(answer.photo)
        except ValueError as e:
            problems.append(Problem(where, str(e)))
        except PmError as e:
            problems.append(Problem(where, f"{e.message} ({e.where})"))
    if problems:
        raise InputError(problems, source=source)
    return [record(session, site=site, run=run, answer=a, store_dir=store_dir)
            for _, a in answers]


# ---- reading runs ----------------------------------------------------------------------



PHOTO_UPLOADED = "uploaded"
PHOTO_NOT_UPLOADED = "not yet uploaded"
PHOTO_NOT_DOWNLOADED = "not downloaded"


def photo_states(session: Session, shas: list[str]) -> dict[str, str]:
    """What this laptop knows of the server's copy of each photo (evidence_copy)."""
    out: dict[str, str] = {}
    for i in range(0, len(shas), 500):
        for row in session.exec(select(EvidenceCopy).where(
                col(EvidenceCopy.sha256).in_(shas[i:i + 500]))):
            out[row.sha256] = row.state
    return out


def photo(result: StepResult, store_dir: Path, state: str | None) -> dict[str, Any] | None:
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
    return {"file": addr, "sha256": result.evidence_sha256,
            "path": str(local) if local else None, "status": status}


def run_record(session: Session, site: Site, rv: RunView, *,
               store_dir: Path) -> dict[str, Any]:
    """The run as `pm run show --json` prints it."""
    grids, staff = id_codes(session, site)
    r = rv.run
    results = []
    states = photo_states(session, sorted({a.evidence_sha256 for a in rv.latest.values()
                                           if a.evidence_sha256}))
    for step in rv.steps:
        a = rv.latest.get(step.id)
        results.append({
            "step": step.id, "title": step.title, "kind": step.kind, "severity": step.severity,
            "required": step.required, "weight": step.weight,
            "range": step.range.model_dump() if step.range else None, "unit": step.unit,
            "outcome": a.outcome if a else None, "value": a.value if a else None,
            "note": a.note if a else None, "reason": a.reason if a else None,
            "evidence": (photo(a, store_dir, states.get(a.evidence_sha256 or ""))
                         if a else None),
            "by": staff.get(a.by_id) if a and a.by_id else None,
            "at": a.created_at if a else None,
            "answers": sum(1 for h in rv.history if h.step_id == step.id),
        })
    return {
        "id": r.id, "short": short(r.id), "playbook": r.playbook_id,
        "version": r.playbook_version, "sha256": r.playbook_sha256,
        "title": rv.pinned.playbook.title,
        "grid": grids.get(r.grid_id) if r.grid_id else None,
        "by": staff.get(r.by_id) if r.by_id else None,
        "started_at": r.started_at, "finished_at": r.finished_at, "status": r.status,
        "reason": r.reason, "score": rv.score, "steps": len(rv.steps),
        "answered": len(rv.latest), "failed": rv.failed,
        "unanswered_required": rv.unanswered_required, "results": results,
    }


def _day_bound(text: str, tz: str | None, *, end: bool) -> str:
    """A day (its start, or with `end` its end) or a time in the site's zone → stored UTC."""
    from pm_cli import dates

    return utc_text(dates.instant(text, tz, where="--to" if end else "--from", end=end))


def failed_now() -> Any:
    """SQL: the run's newest answer to some step is a fail (what `RunView.failed` says)."""
    from sqlalchemy import exists

    from pm_cli.runs.models import failed_answers

    f, fails = failed_answers()
    return exists().where(f.c.run_id == Run.__table__.c.id, fails)


def list_runs(
    session: Session, *, site: Site, since: str | None = None, until: str | None = None,
    grid: str | None = None, playbook: str | None = None, status: str | None = None,
    failed: bool = False, limit: int | None = None,
) -> list[dict[str, Any]]:
    """Runs newest first. SQL filters, orders and cuts; then one query each for the page's
    answers and pinned playbooks, whatever the history's length."""
    stmt = live(Run, site.id)
    if since:
        stmt = stmt.where(Run.started_at >= _day_bound(since, site.tz, end=False))
    if until:
        stmt = stmt.where(Run.started_at <= _day_bound(until, site.tz, end=True))
    if grid:
        stmt = stmt.where(Run.grid_id == get_grid(session, site=site, code=grid).id)
    if playbook:
        stmt = stmt.where(Run.playbook_id == playbook)
    if status:
        if status not in STATUSES:
            raise PmError(f"unknown status {status!r}", where="--status",
                          hint="use " + ", ".join(STATUSES))
        stmt = stmt.where(Run.status == status)
    if failed:
        stmt = stmt.where(failed_now())
    stmt = stmt.order_by(col(Run.started_at).desc(), col(Run.id).desc())
    if limit:
        stmt = stmt.limit(limit)
    runs = list(session.exec(stmt))
    results = children(session, StepResult, "run_id", [r.id for r in runs])
    pins = playbooks.pinned_many(
        session, {(r.playbook_id, r.playbook_version, r.playbook_sha256) for r in runs})
    grids, staff = id_codes(session, site)
    out = []
    for r in runs:
        history = results.get(r.id, [])
        rv = RunView(r, pins[(r.playbook_id, r.playbook_version, r.playbook_sha256)],
                     {h.step_id: h for h in history}, history)
        if failed and not rv.failed:
            continue  # a failed answer to a step its playbook no longer has
        out.append({
            "id": r.id, "short": short(r.id), "playbook": r.playbook_id,
            "version": r.playbook_version, "grid": grids.get(r.grid_id) if r.grid_id else None,
            "by": staff.get(r.by_id) if r.by_id else None, "started_at": r.started_at,
            "finished_at": r.finished_at, "status": r.status, "score": rv.score,
            "answered": len(rv.latest), "steps": len(rv.steps), "failed": len(rv.failed),
        })
    return out
