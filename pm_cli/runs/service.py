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
from pm_cli.grids.service import get_grid
from pm_cli.pdca.service import Withdrawal, withdraw_raised
from pm_cli.playbooks import service as playbooks
from pm_cli.playbooks.spec import Step
from pm_cli.runs import evidence
from pm_cli.runs.models import Run, StepResult

# their home is runs.read; named here too, for the features that take them from the service
from pm_cli.runs.read import OUTCOME_ALIASES as OUTCOME_ALIASES
from pm_cli.runs.read import OUTCOMES as OUTCOMES
from pm_cli.runs.read import PHOTO_NOT_DOWNLOADED as PHOTO_NOT_DOWNLOADED
from pm_cli.runs.read import PHOTO_NOT_UPLOADED as PHOTO_NOT_UPLOADED
from pm_cli.runs.read import PHOTO_UPLOADED as PHOTO_UPLOADED
from pm_cli.runs.read import STATUSES as STATUSES
from pm_cli.runs.read import RunView as RunView
from pm_cli.runs.read import failed_now as failed_now
from pm_cli.runs.read import list_runs as list_runs
from pm_cli.runs.read import photo as photo
from pm_cli.runs.read import photo_states as photo_states
from pm_cli.runs.read import run_record as run_record
from pm_cli.runs.read import short as short
from pm_cli.runs.read import view as view
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.staff.service import get_me, get_staff
from pm_cli.store import write
from pm_cli.store.ids import now_text
from pm_cli.store.query import find_by_code, get_by_tail, live

# ---- finding runs ----------------------------------------------------------------------


def get_run(session: Session, *, site: Site, ref: str) -> Run:
    """A run by its id or the tail of it (≥ 6 characters, as `pm run list` shows)."""
    return get_by_tail(
        session,
        Run,
        ref,
        site_id=site.id,
        noun="run",
        where=site.code,
        hint="`pm run list` shows runs",
    )


def latest_open(session: Session, *, site: Site, me: str | None = None) -> tuple[Run, bool]:
    """The newest open run of `me` (a staff code), else of the site: (run, mine)."""
    stmt = live(Run, site.id).where(Run.status == "open").order_by(col(Run.started_at).desc())
    if me:
        person = find_by_code(
            session, Staff, me, site_id=site.id, noun="staff member", where=site.code
        )
        if person is not None:
            mine = session.exec(stmt.where(Run.by_id == person.id)).first()
            if mine is not None:
                return mine, True
    run = session.exec(stmt).first()
    if run is None:
        raise NotFoundError(f"no open run at {site.code}", hint="start one: pm run start PLAYBOOK")
    return run, False


# ---- starting, answering, finishing ----------------------------------------------------


def _by(session: Session, site: Site, by: str | None, me: str | None) -> Staff:
    if by:
        return get_staff(session, site=site, code=by)
    if me:
        return get_me(session, site=site, code=me)
    raise PmError(
        "who is running it?",
        where="--by",
        hint="pass --by STAFF, or say who you are once: pm staff use CODE",
    )


def start_run(
    session: Session,
    *,
    site: Site,
    playbook: str,
    version: int | None = None,
    grid: str | None = None,
    by: str | None = None,
    me: str | None = None,
    started_at: str | None = None,
    at_stop: tuple[str, str, str | None] | None = None,
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
        session,
        Run,
        site_id=site.id,
        playbook_id=p.id,
        playbook_version=pinned.version,
        playbook_sha256=pinned.sha256,
        grid_id=grid_id,
        checkpoint_id=checkpoint_id,
        route_id=route_id,
        by_id=staff.id,
        started_at=started_at or now_text(),
        status="open",
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
            raise ValueError(
                f"{step.id} is a reading: give its value in {step.unit}"
                + (" (or na)" if outcome is None else "")
            )
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
    needs_photo = (
        step.kind == "photo"
        or step.evidence == "photo"
        or (step.evidence == "photo-on-fail" and outcome == "fail")
    )
    if needs_photo and answer.photo is None:
        why = "on a fail" if step.evidence == "photo-on-fail" and step.kind != "photo" else ""
        raise ValueError(f"{step.id} needs a photo {why}".rstrip() + ": pass --photo FILE")
    return outcome, value, reason


def record(
    session: Session,
    *,
    site: Site,
    run: Run,
    answer: Answer,
    store_dir: Path,
    by: Staff | None = None,
) -> Recorded:
    """Store one answer (a newer answer to the same step supersedes it); a failed step that
    opens items raises a finding for the grid's owner."""
    if run.status != "open":
        raise ConflictError(
            f"run {short(run.id)} is {run.status}; answers are closed",
            hint="start a new run: pm run start PLAYBOOK",
        )
    pinned = playbooks.get_pinned(
        session, run.playbook_id, run.playbook_version, run.playbook_sha256
    )
    step = pinned.playbook.step(answer.step)
    if step is None:
        ids = ", ".join(s.id for s in pinned.playbook.steps)
        raise NotFoundError(
            f"no step {answer.step!r} in {run.playbook_id}@{run.playbook_version}",
            hint=f"steps: {ids}",
        )
    try:
        outcome, value, reason = decide(step, answer)
    except ValueError as e:
        raise PmError(str(e), where=f"step {step.id}") from None
    path = sha = None
    if answer.photo is not None:
        path, sha = evidence.store(answer.photo, store_dir)
    note = v.optional_text(answer.note) if answer.note is not None else None
    before = session.exec(
        select(StepResult)
        .where(StepResult.run_id == run.id, StepResult.step_id == step.id)
        .order_by(col(StepResult.hlc).desc())
    ).first()
    result = write.append(
        session,
        StepResult,
        site_id=site.id,
        run_id=run.id,
        step_id=step.id,
        outcome=outcome,
        value=value,
        note=note,
        reason=reason,
        evidence_path=path,
        evidence_sha256=sha,
        by_id=(by.id if by else run.by_id),
    )
    finding = None
    if outcome == "fail" and step.opens:
        finding = raise_finding(
            session,
            site_id=site.id,
            source="step",
            source_ref=result.id,
            title=f"{step.title}: {reason or note or 'failed'}",
            severity=step.severity,
            grid_id=run.grid_id,
            by_id=result.by_id,
            key=f"step:{run.grid_id or '-'}:{run.playbook_id}:{step.id}",
        )
    withdrawal = None
    if before is not None and before.outcome == "fail" and outcome != "fail":
        shown = f"{value:g}" if value is not None else outcome
        withdrawal = withdraw_raised(
            session,
            site=site,
            source_ref=before.id,
            by_id=result.by_id,
            reason=f"answer to {step.id} corrected to {shown} in run {short(run.id)}",
        )
    return Recorded(result, step, finding, withdrawal=withdrawal)


def cancel(
    session: Session, *, site: Site, run: Run, reason: str, by_id: str | None = None
) -> tuple[RunView, list[Withdrawal]]:
    """Cancel a run entered in error or abandoned: status aborted with the reason, out of
    what is done and scored; the items its failed answers raised are withdrawn when nobody
    has acted on them (the others are named, with how to close them)."""
    if run.status == "aborted":
        raise ConflictError(f"run {short(run.id)} is already cancelled")
    if run.route_id:
        raise ConflictError(
            f"run {short(run.id)} is a stop of a route walk",
            hint="a stop is skipped or redone in its walk: pm route run ROUTE",
        )
    why = v.optional_text(reason)
    if not why:
        raise PmError("say why the run is cancelled", where="--reason")
    taken: list[Withdrawal] = []
    for r in view(session, run).history:
        if r.outcome == "fail":
            w = withdraw_raised(
                session,
                site=site,
                source_ref=r.id,
                by_id=by_id,
                reason=f"run {short(run.id)} cancelled: {why}",
            )
            if w is not None:
                taken.append(w)
    write.update(
        session, run, status="aborted", reason=why, finished_at=run.finished_at or now_text()
    )
    return view(session, run), taken


def finish(
    session: Session,
    *,
    run: Run,
    incomplete: bool = False,
    reason: str | None = None,
    at: str | None = None,
) -> RunView:
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
    write.update(
        session,
        run,
        status="incomplete" if incomplete else "finished",
        finished_at=at or now_text(),
        reason=v.optional_text(reason) if incomplete else None,
    )
    return view(session, run)


def abort(session: Session, *, run: Run, reason: str, at: str | None = None) -> None:
    """Close an open run without a score (its walk was abandoned)."""
    if run.status != "open":
        raise ConflictError(f"run {short(run.id)} is already {run.status}")
    write.update(
        session, run, status="aborted", finished_at=at or now_text(), reason=v.optional_text(reason)
    )


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
            record(
                session,
                site=site,
                run=run,
                store_dir=store_dir,
                answer=Answer(step=step.id, outcome="pass"),
            )
            passed.append(step.id)
    return passed


# ---- answers files ---------------------------------------------------------------------


def read_answers(path: Path) -> list[tuple[str, Answer]]:
    """An answers file: a list of {step, outcome, value, note, photo}, or {step: outcome}.
    Positions `FILE:LINE` for every problem; photos relative to the file."""
    import yaml

    from pm_cli.files import decode, read_bytes
    from pm_cli.yamlfile import Loader

    source = str(path)
    text = decode(read_bytes(path), source, None)
    try:
        loader = Loader(text)
        try:
            root = loader.get_single_node()
            items: list[tuple[str, Any]] = []
            if isinstance(root, yaml.SequenceNode):
                items = [
                    (f"{source}:{n.start_mark.line + 1}", loader.construct_object(n, True))
                    for n in root.value
                ]
            elif isinstance(root, yaml.MappingNode):
                items = [
                    (
                        f"{source}:{k.start_mark.line + 1}",
                        {
                            "step": loader.construct_object(k),
                            **_short_form(loader.construct_object(val, True)),
                        },
                    )
                    for k, val in root.value
                ]
            elif root is not None:
                raise InputError(
                    [Problem(f"{source}:1", "expected a list of answers")], source=source
                )
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
            problems.append(
                Problem(
                    where,
                    f"unknown key(s) {', '.join(extra)}; known: step, outcome, value, note, photo",
                )
            )
            continue
        if not item.get("step"):
            problems.append(Problem(where, "missing step"))
            continue
        photo = item.get("photo")
        out.append(
            (
                where,
                Answer(
                    step=str(item["step"]),
                    outcome=None if item.get("outcome") is None else str(item["outcome"]),
                    value=item.get("value"),
                    note=None if item.get("note") is None else str(item["note"]),
                    photo=(path.parent / str(photo)) if photo else None,
                ),
            )
        )
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
    session: Session,
    *,
    site: Site,
    run: Run,
    answers: list[tuple[str, Answer]],
    store_dir: Path,
    source: str,
) -> list[Recorded]:
    """Check every answer, then store them all (the caller's transaction: all or nothing)."""
    pinned = playbooks.get_pinned(
        session, run.playbook_id, run.playbook_version, run.playbook_sha256
    )
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, answer in answers:
        step = pinned.playbook.step(answer.step)
        if step is None:
            problems.append(
                Problem(
                    where, f"no step {answer.step!r} in {run.playbook_id}@{run.playbook_version}"
                )
            )
            continue
        if answer.step in seen:
            problems.append(
                Problem(
                    where,
                    f"step {answer.step} is answered twice (also at "
                    f"line {seen[answer.step].rsplit(':', 1)[-1]})",
                )
            )
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
    return [record(session, site=site, run=run, answer=a, store_dir=store_dir) for _, a in answers]


# ---- reading runs ----------------------------------------------------------------------
