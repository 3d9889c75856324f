"""pm run …"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row
from pm_cli.staff.context import me_id

app = typer.Typer(
    help="Checklist runs: start, answer step by step, finish, review.", no_args_is_help=True
)

RunArg = Annotated[str, typer.Argument(help="Run id, or its last 8 characters")]
COLUMNS = ["run", "started", "playbook", "grid", "by", "status", "score", "done", "failed"]


def _store_dir(ctx: typer.Context) -> Path:
    from pm_cli.runs.evidence import evidence_dir

    return evidence_dir(ctx.obj.db_path)


def _fetch_photos(ctx: typer.Context, out: Any, run_id: str) -> None:
    """Download the run's photos this laptop lacks; offline, say so and show what is here."""
    from pm_cli.runs import photo_source, service

    with ctx.obj.session() as s:
        full_id = service.get_run(s, site=current_site(ctx.obj, s), ref=run_id).id
    got = photo_source.fetch(ctx.obj.db_path, full_id)
    if got is None:
        out.warn("photos not downloaded: this pm cannot reach a server (no sync)")
        return
    for why in got.refused:
        out.warn(f"photo not downloaded: {why}")
    if got.offline:
        out.warn(f"offline: photos not downloaded: {got.offline}; showing what this laptop has")
    elif got.downloaded or got.not_uploaded:
        out.note(
            f"photos: {got.downloaded} downloaded"
            + (
                f", {got.not_uploaded} not yet uploaded by the laptop that took them"
                if got.not_uploaded
                else ""
            )
        )


def _photo_cell(ev: dict[str, Any], short: str) -> str:
    if ev["path"]:
        return ev["path"] + ("" if ev["status"] == "uploaded" else f" ({ev['status']})")
    if ev["status"] == "not downloaded":
        return f"not downloaded: pm run show {short} --photos"
    return ev["status"]


def _show(ctx: typer.Context, out: Any, run_id: str) -> None:
    from pm_cli.runs import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rec = read.run_record(
            conn,
            site,
            read.view(conn, read.get_run(conn, site=site, ref=run_id)),
            store_dir=_store_dir(ctx),
        )
        tz = site.tz
    if out.as_json:
        out.json(rec)
        return
    score = "—" if rec["score"] is None else f"{rec['score']:g}"
    from pm_cli.timefmt import local

    out.record(
        {
            "run": f"{rec['short']} ({rec['id']})",
            "playbook": f"{rec['playbook']}@{rec['version']} {rec['title']}",
            "grid": rec["grid"],
            "by": rec["by"],
            "started": local(rec["started_at"], tz),
            "finished": local(rec["finished_at"], tz),
            "status": rec["status"] + (f" ({rec['reason']})" if rec["reason"] else ""),
            "score": score,
            "answered": f"{rec['answered']}/{rec['steps']}",
        }
    )
    rows = []
    for r in rec["results"]:
        val = f"{r['value']:g} {r['unit']}" if r["value"] is not None else ""
        rows.append(
            {
                "step": r["step"],
                "title": r["title"],
                "outcome": r["outcome"] or "·",
                "value": val,
                "note": r["reason"] or r["note"],
                "severity": r["severity"],
            }
        )
    out.table(rows, ["step", "title", "outcome", "value", "note", "severity"])
    shots = [
        {"step": r["step"], "photo": _photo_cell(r["evidence"], rec["short"])}
        for r in rec["results"]
        if r["evidence"]
    ]
    if shots:
        out.table(shots, ["step", "photo"], title="photos")


def _interactive(ctx: typer.Context, run_id: str, out: Any) -> None:
    from pm_cli.runs import flow, service

    f = flow.Flow(ctx=ctx.obj, out=out, run_id=run_id, ask=input, store_dir=_store_dir(ctx))
    interrupted = False
    try:
        rv = f.run()
    except KeyboardInterrupt:
        rv, interrupted = None, True
        out.say("")
    if rv is None:
        out.say(
            f"paused: {f.saved} answer(s) saved this time. Continue with: "
            f"pm run resume {run_id[-8:]}"
        )
        raise typer.Exit(130 if interrupted else 0)
    try:
        go = input("all steps answered. finish the run now? [Y/n] > ").strip().lower()
    except (EOFError, KeyboardInterrupt):
        go = "n"
    if go in ("", "y", "yes"):
        with ctx.obj.session(write=True) as s:
            site = current_site(ctx.obj, s)
            rv = service.finish(s, run=service.get_run(s, site=site, ref=run_id))
        score = "—" if rv.score is None else f"{rv.score:g}"
        out.say(f"finished: score {score} · {len(rv.failed)} failed step(s)")
    else:
        out.say(f"left open: pm run finish {run_id[-8:]}")


@app.command("start")
def run_start(
    ctx: typer.Context,
    playbook: Annotated[str, typer.Argument(help="Playbook id (or ID@VERSION)")],
    version: Annotated[int | None, typer.Option("--version", help="Pin a stored version")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Grid code where it runs")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Staff code [default: me]")] = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", help="YAML file with every answer (scripted)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a run: interactive on a terminal; with --json (or no terminal) print the run.

    On a terminal it walks the steps, each answer saved at once: `p` pass, `f` fail, `n` not
    applicable, a value for a reading, `b` back, `s` skip, `q` quit. Scripted, --json prints
    the run (with its `id`) to answer with `pm run record`; --answers FILE.yaml records a whole
    run from a file, all or nothing, errors as FILE:LINE."""
    from pm_cli.runs import service

    out = ctx.obj.out(as_json)
    parsed = service.read_answers(answers) if answers else None
    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        run = service.start_run(
            s, site=site, playbook=playbook, version=version, grid=grid, by=by, me=ctx.obj.me()
        )
        if parsed is not None:
            service.record_answers(
                s,
                site=site,
                run=run,
                answers=parsed,
                store_dir=_store_dir(ctx),
                source=str(answers),
            )
            s.flush()
            if not service.view(s, run).unanswered_required:
                service.finish(s, run=run)
        run_id = run.id
    if parsed is None and not out.as_json and sys.stdin.isatty() and sys.stdout.isatty():
        _interactive(ctx, run_id, out)
        return
    if out.as_json:
        _show(ctx, out, run_id)
        return
    if parsed is None:
        out.created(f"started run {run_id[-8:]} ({run_id})", run_id[-8:])
        out.note(f"answer with: pm run record {run_id[-8:]} STEP pass|fail|na")
    else:
        out.done(f"started run {run_id[-8:]} ({run_id})")
        _show(ctx, out, run_id)


@app.command("record")
def run_record(
    ctx: typer.Context,
    run: RunArg,
    step: Annotated[str, typer.Argument(help="Step id")],
    outcome: Annotated[
        str | None, typer.Argument(help="pass|fail|na (a reading may give just --value)")
    ] = None,
    value: Annotated[str | None, typer.Option("--value", help="The reading")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note")] = None,
    photo: Annotated[Path | None, typer.Option("--photo", help="Photo file (evidence)")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Staff code [default: the run's]")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record one answer; a newer answer to the same step replaces it (history is kept).

    A reading outside its range fails, with the reason; a photo goes to the evidence store
    with its sha256. A newer answer to a step that had failed (here, or `b` back in an
    interactive run) withdraws what the failed answer raised: the occurrence it added to an
    item, or the item it opened when nobody has acted on it yet; otherwise it names the item
    that stays open and how to close it (--json: `withdrawn`)."""
    from pm_cli.runs import service
    from pm_cli.staff.service import get_staff

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        r = service.get_run(s, site=site, ref=run)
        staff = get_staff(s, site=site, code=by) if by else None
        rec = service.record(
            s,
            site=site,
            run=r,
            store_dir=_store_dir(ctx),
            by=staff,
            answer=service.Answer(step=step, outcome=outcome, value=value, note=note, photo=photo),
        )
        res = rec.result
        doc = {
            "run": r.id,
            "step": res.step_id,
            "outcome": res.outcome,
            "value": res.value,
            "reason": res.reason,
            "note": res.note,
            "evidence_sha256": res.evidence_sha256,
            "item": rec.finding.item_no if rec.finding else None,
            "withdrawn": _withdrawal(rec.withdrawal),
        }
    msg = f"{step}: {res.outcome}" + (f" ({res.reason})" if res.reason else "")
    if rec.finding:
        f = rec.finding
        msg += (
            f" · opened improvement item {f.item_label}"
            if f.new_item
            else f" · another occurrence on item {f.item_label}"
        )
    if rec.withdrawal:
        msg += f" · {rec.withdrawal.message}"
    ctx.obj.out(as_json).done(msg, doc)


def _withdrawal(w: Any) -> dict[str, Any] | None:
    """What a corrected answer took back, for --json (None: nothing was raised)."""
    if w is None:
        return None
    return {
        "item": w.label,
        "ref": w.ref,
        "withdrawn": w.withdrawn,
        "occurrence": w.occurrence,
        "kept_because": w.why_kept or None,
        "message": w.message,
    }


@app.command("resume")
def run_resume(
    ctx: typer.Context,
    run: Annotated[
        str | None,
        typer.Argument(
            help="Run id or its last 8 characters [default: my newest open run, else the site's]"
        ),
    ] = None,
) -> None:
    """Continue a run at its first unanswered step (interactive).

    Without RUN: my newest open run (`pm staff use`), else the site's newest, saying which."""
    from pm_cli.errors import UsageError
    from pm_cli.runs import service

    out = ctx.obj.out()
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        if run is None:
            me = ctx.obj.me()
            r, mine = service.latest_open(s, site=site, me=me)
            why = (
                ""
                if mine
                else f" (none of {me}'s is open)"
                if me
                else " (say who you are to get yours: pm staff use CODE)"
            )
            rec = service.run_record(s, site, service.view(s, r), store_dir=_store_dir(ctx))
            whose = "your" if mine else "the site's"
            out.note(
                f"resuming {whose} newest open "
                f"run {rec['short']}{why}: {rec['playbook']} by {rec['by'] or '—'}, "
                f"{rec['answered']}/{rec['steps']} answered"
            )
        else:
            r = service.get_run(s, site=site, ref=run)
        if r.status != "open":
            from pm_cli.errors import ConflictError

            raise ConflictError(f"run {service.short(r.id)} is {r.status}")
        run_id = r.id
    if not sys.stdin.isatty():
        raise UsageError(
            "resume is interactive and needs a terminal",
            hint=f"script it with pm run record {run_id[-8:]} STEP pass|fail|na",
        )
    _interactive(ctx, run_id, out)


@app.command("cancel")
def run_cancel(
    ctx: typer.Context,
    run: RunArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (entered in error, abandoned …)")],
    as_json: JsonOpt = False,
) -> None:
    """Cancel a run (status aborted, kept in history); withdraw the items it raised that
    nobody has acted on yet.

    For a run entered in error or abandoned: it no longer counts as done or in the scores. The
    items its failed answers raised that someone has acted on stay, and are named. The
    checklist of a stop of a route walk is refused: a stop is skipped or redone in its walk."""
    from pm_cli.runs import service

    out = ctx.obj.out(as_json)
    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        rv, taken = service.cancel(
            s,
            site=site,
            run=service.get_run(s, site=site, ref=run),
            reason=reason,
            by_id=me_id(ctx.obj, s, site),
        )
        rec = service.run_record(s, site, rv, store_dir=_store_dir(ctx))
    rec["withdrawn"] = [_withdrawal(w) for w in taken]
    out.done(f"run {rec['short']} cancelled ({rec['reason']})", rec)
    if not out.as_json:
        for w in taken:
            out.note(w.message)


@app.command("finish")
def run_finish(
    ctx: typer.Context,
    run: RunArg,
    incomplete: Annotated[
        bool, typer.Option("--incomplete", help="Finish with required steps unanswered")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is incomplete")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Finish a run and compute its score (weighted pass rate over applicable steps)."""
    from pm_cli.runs import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        rv = service.finish(
            s, run=service.get_run(s, site=site, ref=run), incomplete=incomplete, reason=reason
        )
        rec = service.run_record(s, site, rv, store_dir=_store_dir(ctx))
    score = "—" if rec["score"] is None else f"{rec['score']:g}"
    ctx.obj.out(as_json).done(
        f"run {rec['short']} {rec['status']}: score {score}, {len(rec['failed'])} failed", rec
    )


@app.command("list")
def run_list(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--from", help="From this day or time (2026-11-01, yesterday, -7 …; site time)"
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="To this day (inclusive) or time")
    ] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Only at this grid")] = None,
    playbook: Annotated[str | None, typer.Option("--playbook", help="Only this playbook")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open|finished|incomplete|aborted")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only runs with a failed step")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N runs")] = 30,
    all_: Annotated[bool, typer.Option("--all", help="Every run (no limit)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List runs, newest first (30 unless --limit N or --all, under --json too)."""
    from pm_cli.runs import read
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_runs(
            conn,
            site=site,
            since=since,
            until=until,
            grid=grid,
            playbook=playbook,
            status=status,
            failed=failed,
            limit=None if all_ else limit + 1,
        )
    more = not all_ and len(rows) > limit
    rows = rows[:limit] if not all_ else rows
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    shown = [
        {
            "run": r["short"],
            "started": local(r["started_at"], site.tz, "%m-%d %H:%M"),
            "playbook": r["playbook"],
            "grid": r["grid"],
            "by": r["by"],
            "status": r["status"],
            "score": r["score"],
            "done": f"{r['answered']}/{r['steps']}",
            "failed": r["failed"] or "",
        }
        for r in rows
    ]
    out.table(shown, COLUMNS, title=f"runs at {site.code}")
    if more:
        out.note(f"the newest {limit} shown: --limit N or --all for more")


@app.command("show")
def run_show(
    ctx: typer.Context,
    run: RunArg,
    photos: Annotated[
        bool,
        typer.Option(
            "--photos", help="First download the run's photos this laptop lacks (logged in)"
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a run with every step's answer, status and score, and where its photos are.

    Each photo: its file in the evidence store, or why it is not on this laptop (`not
    downloaded: pm run show RUN --photos`, or `not yet uploaded` by the laptop that took it),
    never a path that is not there. --photos first downloads the run's photos this laptop lacks
    (logged in; offline it says so and shows what is here). With --json a step's `evidence` is
    `{file, sha256, path, status}`: `file` the content address, `path` null unless the bytes
    are here, `status` uploaded, not yet uploaded or not downloaded."""
    out = ctx.obj.out(as_json)
    if photos:
        _fetch_photos(ctx, out, run)
    _show(ctx, out, run)
