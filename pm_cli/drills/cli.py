"""pm drill …"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row
from pm_cli.staff.context import me_id

app = typer.Typer(
    help="Emergency drills: plans, schedules, timed runs, after-action reports.",
    no_args_is_help=True,
)

RunArg = Annotated[str, typer.Argument(help="Drill run id, or its last 8 characters")]
CodeArg = Annotated[str, typer.Argument(help="Drill code, e.g. FIRE-A")]


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


def _at(text: str | None, tz: str | None, day_of: Any = None) -> Any:
    from pm_cli.drills.service import parse_time

    return parse_time(text, tz, day_of=day_of) if text else None


@app.command("scenarios")
def drill_scenarios(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The bundled scenario library (专项预案): roles, milestones with their target minutes,
    and required frequency."""
    from pm_cli.drills import scenario

    out = ctx.obj.out(as_json)
    lib = scenario.library()
    rows: list[dict[str, Any]] = [
        {
            "id": sc.id,
            "title": sc.title,
            "frequency": sc.frequency,
            "roles": [r.code for r in sc.roles],
            "milestones": [{"id": m.id, "target": m.target} for m in sc.milestones],
        }
        for sc in lib.values()
    ]
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [
            {
                **r,
                "milestones": " → ".join(
                    f"{m['id']}" + (f" {m['target']:g}′" if m["target"] is not None else "")
                    for m in r["milestones"]
                ),
            }
            for r in rows
        ],
        ["id", "title", "frequency", "milestones"],
        title="drill scenarios",
    )


@app.command("plan")
def drill_plan(
    ctx: typer.Context,
    code: CodeArg,
    scenario: Annotated[str, typer.Option("--scenario", help="Scenario id (pm drill scenarios)")],
    grid: Annotated[str | None, typer.Option("--grid", help="Grid it covers")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="RRULE or e.g. monthly:1@09:00")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Name [default: scenario's]")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan a drill of a scenario at the site (or a grid), optionally on a schedule."""
    from pm_cli.drills import plans, service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        d = plans.plan(
            s, site=site, code=code, scenario=scenario, grid=grid, schedule=schedule, title=title
        )
        s.flush()
        rec = next(r for r in service.due(s, site=site) if r["code"] == d.code)
    ctx.obj.out(as_json).done(
        f"planned drill {rec['code']} ({rec['scenario']}); due {rec['due']}", rec
    )


@app.command("unplan")
def drill_unplan(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Remove a planned drill that has not run yet (a plan made by mistake); one that ran
    stays, with its history."""
    from pm_cli.drills import plans

    with ctx.obj.session(write=True) as s:
        d = plans.unplan(s, site=current_site(ctx.obj, s), code=code)
        rec = {"code": d.code, "scenario": d.scenario, "title": d.title, "removed": True}
    ctx.obj.out(as_json).done(f"removed drill plan {d.code} ({d.scenario})", rec)


@app.command("schedule")
def drill_schedule(
    ctx: typer.Context,
    code: CodeArg,
    rule: Annotated[str, typer.Argument(help="RRULE, a shortcut, or '' to clear")],
    as_json: JsonOpt = False,
) -> None:
    """Set a drill's schedule (the scenario's required frequency still applies)."""
    from pm_cli.drills import plans, service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        plans.set_schedule(s, site=site, code=code, schedule=rule or None)
        rec = next(r for r in service.due(s, site=site) if r["code"] == code)
    ctx.obj.out(as_json).done(f"drill {code}: due {rec['due']}", rec)


@app.command("list")
def drill_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Planned drills with their last run and next due date."""
    _due_table(ctx, as_json, overdue_only=False)


@app.command("due")
def drill_due(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Drills overdue against their schedule or the scenario's required frequency (the
    stricter wins)."""
    _due_table(ctx, as_json, overdue_only=True)


def _due_table(ctx: typer.Context, as_json: bool, *, overdue_only: bool) -> None:
    from pm_cli.drills import read
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.due(conn, site=site)
    if overdue_only:
        rows = [r for r in rows if r["overdue"]]
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [
            {
                **r,
                "last_run": local(r["last_run"], site.tz, "%Y-%m-%d"),
                "due": local(r["due"], site.tz, "%Y-%m-%d"),
                "overdue": ("required " if r["overdue_required"] else "")
                + ("overdue" if r["overdue"] else ""),
            }
            for r in rows
        ],
        ["code", "scenario", "grid", "last_run", "due", "overdue"],
        title=f"drills {'due ' if overdue_only else ''}at {site.code}",
    )


@app.command("show")
def drill_show(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """A planned drill with its runs."""
    from pm_cli.drills import plans, service

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rec = next((r for r in service.due(s, site=site) if r["code"] == code), None)
        if rec is None:
            plans.get_drill(s, site=site, code=code)
        rec = {**(rec or {}), "runs": service.list_runs(s, site=site, drill=code)}
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rec)
        return
    runs = rec.pop("runs")
    out.record(rec)
    out.table(
        runs, ["short", "started_at", "status", "participants", "result", "missed"], title="runs"
    )


@app.command("start")
def drill_start(
    ctx: typer.Context,
    code: CodeArg,
    at: Annotated[
        str | None,
        typer.Option("--at", help="T0: 14:05 or '2026-12-02 14:05' (site time) [default: now]"),
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="tabletop|functional|full-scale")
    ] = "functional",
    participants: Annotated[int | None, typer.Option("--participants", help="Head count")] = None,
    roster: Annotated[list[str] | None, typer.Option("--roster", help="A participant")] = None,
    observers: Annotated[str | None, typer.Option("--observers", help="Observers")] = None,
    weather: Annotated[str | None, typer.Option("--weather", help="Weather")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a live drill: T0 and its first milestone are now (or --at)."""
    from pm_cli.drills import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        run = service.start(
            s,
            site=site,
            code=code,
            at=_at(at, site.tz),
            kind=kind,
            participants=participants,
            roster=roster,
            observers=observers,
            weather=weather,
        )
        s.flush()
        rec = service.run_record(s, site, run)
    ctx.obj.out(as_json).created(
        f"drill run {rec['short']} started at {rec['started_at']}; "
        f"record milestones with pm drill event {rec['short']} "
        "MILESTONE",
        rec["short"],
        rec,
    )


@app.command("event")
def drill_event(
    ctx: typer.Context,
    run: RunArg,
    milestone: Annotated[str, typer.Argument(help="Milestone id of the scenario")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="When: 14:05 (on T0's day) or '2026-12-02 14:05' [default: now]"),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Note")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a milestone reached (in time order).

    Refused out of time order, twice, or when the scenario has no such milestone."""
    from pm_cli.drills import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        r = service.get_run(s, site=site, ref=run)
        t0 = service.parse_time(r.started_at, "UTC")
        service.event(s, site=site, run=r, milestone=milestone, at=_at(at, site.tz, t0), note=note)
        rec = service.run_record(s, site, r)
    m = next(x for x in rec["milestones"] if x["milestone"] == milestone)
    verdict = {True: "met", False: "MISSED", None: "no target"}[m["met"]]
    ctx.obj.out(as_json).done(
        f"{milestone}: {m['elapsed']:g} min (target "
        f"{'—' if m['target'] is None else format(m['target'], 'g')}) "
        f"{verdict}",
        rec,
    )


@app.command("finish")
def drill_finish(
    ctx: typer.Context,
    run: RunArg,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When it ended: 14:40 or '2026-12-02 14:40' [default: now]"),
    ] = None,
    incomplete: Annotated[
        bool, typer.Option("--incomplete", help="Finish with milestones not recorded")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Finish a drill run: evaluate each milestone; missed targets open improvement items.

    Each milestone is evaluated against its target; a missed target opens a major item."""
    from pm_cli.drills import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        r = service.get_run(s, site=site, ref=run)
        service.finish(
            s,
            site=site,
            run=r,
            at=_at(at, site.tz, service.parse_time(r.started_at, "UTC")),
            incomplete=incomplete,
            by_id=me_id(ctx.obj, s, site),
        )
        rec = service.run_record(s, site, r)
    ctx.obj.out(as_json).done(
        f"drill run {rec['short']}: {rec['result']}"
        + (
            f" · items {', '.join('#' + str(i['no']) for i in rec['items'])}"
            if rec["items"]
            else ""
        ),
        rec,
    )


@app.command("record")
def drill_record(
    ctx: typer.Context,
    code: CodeArg,
    timeline: Annotated[Path, typer.Option("--timeline", help="YAML or CSV timeline")],
    as_json: JsonOpt = False,
) -> None:
    """Record a drill after the fact from a timeline file (all or nothing).

    For a drill done on paper: YAML (`started`, `participants`, `events: [{milestone, at,
    note}]`, `findings: [{text, severity, grid}]`) or CSV (`milestone,at,note`); errors as
    FILE:LINE."""
    from pm_cli.drills import service
    from pm_cli.drills.timeline import record

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        run, _ = record(s, site=site, code=code, path=timeline, by_id=me_id(ctx.obj, s, site))
        rec = service.run_record(s, site, run)
    ctx.obj.out(as_json).created(
        f"recorded drill run {rec['short']}: {rec['result']}", rec["short"], rec
    )


@app.command("finding")
def drill_finding(
    ctx: typer.Context,
    run: RunArg,
    text: Annotated[str, typer.Argument(help="What was found")],
    severity: Annotated[str, typer.Option("--severity", help="minor|major|critical")] = "major",
    grid: Annotated[str | None, typer.Option("--grid", help="Grid [default: the drill's]")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a finding: it opens an improvement item."""
    from pm_cli.drills import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        r = service.get_run(s, site=site, ref=run)
        f = service.finding(
            s,
            site=site,
            run=r,
            text=text,
            severity=severity,
            grid=grid,
            by_id=me_id(ctx.obj, s, site),
        )
    ctx.obj.out(as_json).done(
        f"opened improvement item {f.item_label}", {"item": f.item_no, "new": f.new_item}
    )


@app.command("runs")
def drill_runs(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Option("--scenario", help="Only this scenario")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Drill runs, newest first, with their result."""
    from pm_cli.drills import read
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_runs(conn, site=site, scenario=scenario)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [{**r, "started": local(r["started_at"], site.tz)} for r in rows],
        ["short", "drill", "scenario", "started", "status", "participants", "result", "missed"],
        title=f"drill runs at {site.code}",
    )


@app.command("report")
def drill_report(
    ctx: typer.Context,
    run: RunArg,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="md|html|json")
    ] = ReportFormat.md,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE")] = None,
) -> None:
    """The after-action report: summary, timeline, targets vs actual, findings, items."""
    import sys

    from pm_cli.drills import report, service
    from pm_cli.files import write_file

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rec = service.run_record(s, site, service.get_run(s, site=site, ref=run))
    text = report.render(rec, fmt.value, site.tz)
    if output is None:
        sys.stdout.write(text)
        return
    write_file(output, text.encode("utf-8"))
    ctx.obj.out().note(f"wrote {output}")


@app.command("trend")
def drill_trend(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Scenario id")],
    milestone: Annotated[
        str | None,
        typer.Option("--milestone", help="Chart this one [default: the last with a target]"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Response times across drills of a scenario: a table and a terminal chart."""
    from pm_cli.drills import service
    from pm_cli.timefmt import local

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        data = service.trend(s, site=site, scenario=scenario)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(data)
        return
    ms = data["milestones"]
    out.table(
        [{**r, "started_at": local(r["started_at"], site.tz, "%Y-%m-%d")} for r in data["runs"]],
        ["run", "started_at", "result", *[m["id"] for m in ms]],
        title=f"{data['title']}: minutes from T0",
    )
    targeted = [m for m in ms if m["target"]]
    chosen = (
        next((m for m in ms if m["id"] == milestone), None)
        if milestone
        else (targeted[-1] if targeted else None)
    )
    if chosen is None or not data["runs"]:
        return
    values = [r.get(chosen["id"]) for r in data["runs"]]
    top = max([x for x in values if x is not None] + [chosen["target"] or 0, 1])
    width = 40
    lines = [
        f"{chosen['id']} (target {chosen['target']:g} min)"
        if chosen["target"] is not None
        else chosen["id"]
    ]
    for r, val in zip(data["runs"], values, strict=True):
        day = local(r["started_at"], site.tz, "%Y-%m-%d")
        if val is None:
            lines.append(f"{day}  (not recorded)")
            continue
        bar = "█" * max(1, round(val / top * width))
        ok = chosen["target"] is None or val <= chosen["target"]
        lines.append(f"{day}  {bar} {val:g}{'' if ok else '  ✗ over target'}")
    out.lines([""] + lines)
