"""pm route …"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row

app = typer.Typer(
    help="Inspection routes: ordered checkpoints, schedules, optimization.", no_args_is_help=True
)

CodeArg = Annotated[str, typer.Argument(help="Route code, e.g. NIGHT-1")]


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [c.strip() for c in text.replace("，", ",").split(",") if c.strip()]


@app.command("add")
def route_add(
    ctx: typer.Context,
    code: CodeArg,
    name: Annotated[str, typer.Option("--name", help="Display name")],
    stops: Annotated[str | None, typer.Option("--stops", help="CP1,CP2,… in order")] = None,
    from_grid: Annotated[
        str | None, typer.Option("--from-grid", help="Every checkpoint of a grid and below")
    ] = None,
    playbook: Annotated[str | None, typer.Option("--playbook", help="Done at each stop")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="RRULE or e.g. daily@08:00")
    ] = None,
    window: Annotated[str | None, typer.Option("--window", help="Shift window HH:MM-HH:MM")] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Staff who walks it [default: whoever is on shift]"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a route.

    An inspection route: ordered stops (--stops CP1,CP2,… or every checkpoint of --from-grid),
    each a checkpoint and its stop checklist: --playbook, a checkpoint-level playbook done at
    every stop; none by default, when the arrival (Enter or the tag) is the stop's record. A
    whole-route playbook (bundled: `security.patrol`, whose steps are about the walk as a
    whole) given as --playbook is done once per walk, at the last stop, not asked again at each
    stop. A schedule: an RRULE or `daily@08:00`, `weekly:mon,thu@21:00`, `monthly:1@09:00`,
    wall-clock times in the site's zone, DST-correct. A shift window (past midnight allowed:
    `22:00-02:00`). Who walks it (--owner; none: whoever is on shift)."""
    from pm_cli.routes import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        r = service.add_route(
            s,
            site=site,
            code=code,
            name=name,
            stops=_split(stops),
            from_grid=from_grid,
            playbook=playbook,
            schedule=schedule,
            window=window,
            owner=owner,
        )
        rec = service.record(s, r)
    ctx.obj.out(as_json).done(f"added route {rec['code']} ({len(rec['stops'])} stops)", rec)


@app.command("list")
def route_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List routes."""
    from pm_cli.routes import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_routes(conn, site=site)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [{**r, "stops": len(r["stops"])} for r in rows],
        ["code", "name", "stops", "schedule", "window", "owner"],
        title=f"routes at {site.code}",
        one_per_code=True,
    )


@app.command("show")
def route_show(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Show a route with its stops in order."""
    from pm_cli.routes import read

    with ctx.obj.connection() as conn:
        rec = read.show(conn, site=current_site_row(ctx.obj, conn), code=code)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rec)
        return
    out.record({k: val for k, val in rec.items() if k != "stops"})
    out.table(
        [{"#": i, **st} for i, st in enumerate(rec["stops"], 1)],
        ["#", "checkpoint", "playbook"],
        title="stops",
    )


@app.command("edit")
def route_edit(
    ctx: typer.Context,
    code: CodeArg,
    name: Annotated[str | None, typer.Option("--name", help="New name")] = None,
    stops: Annotated[str | None, typer.Option("--stops", help="Replace: CP1,CP2,…")] = None,
    playbook: Annotated[
        str | None, typer.Option("--playbook", help="Playbook at each stop")
    ] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="RRULE ('' clears)")] = None,
    window: Annotated[str | None, typer.Option("--window", help="HH:MM-HH:MM ('' clears)")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Staff code ('' clears)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a route."""
    from pm_cli.routes import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        r = service.edit_route(
            s,
            site=site,
            code=code,
            name=name,
            stops=_split(stops),
            playbook=playbook,
            schedule=schedule,
            window=window,
            owner=owner,
        )
        rec = service.record(s, r)
    ctx.obj.out(as_json).done(f"route {rec['code']} saved", rec)


@app.command("remove")
def route_remove(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Remove a route."""
    from pm_cli.routes import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        rec = service.record(s, service.remove_route(s, site=site, code=code))
    ctx.obj.out(as_json).done(f"removed route {rec['code']}", rec)


@app.command("optimize")
def route_optimize(
    ctx: typer.Context,
    code: CodeArg,
    start: Annotated[str | None, typer.Option("--start", help="First checkpoint")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last checkpoint (open routes)")] = None,
    open_route: Annotated[
        bool, typer.Option("--open", help="A path, not a loop back to the start")
    ] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Save the new order")] = False,
    matrix: Annotated[
        Path | None, typer.Option("--matrix", help="CSV of walking metres (codes on both axes)")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds [default: by stop count]")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reorder a route's stops to shorten the walk; show the saving (--apply saves it).

    Distances: Euclidean on x/y, haversine on lat/lon, or --matrix, a square CSV of walking
    metres (asymmetric allowed). Shows the length before and after and the saving; --json:
    `{before_m, after_m, saving_pct, order}`."""
    from pm_cli.routes import service

    with ctx.obj.session(write=apply) as s:
        site = current_site(ctx.obj, s)
        res = service.optimize(
            s,
            site=site,
            code=code,
            start=start,
            end=end,
            open_route=open_route,
            matrix=matrix,
            time_limit=time_limit,
            apply=apply,
        )
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(res)
        return
    out.lines(
        [
            f"route {res['route']} ({res['metric']}, "
            f"{'loop' if res['closed'] else 'open path'}): {res['before_m']:g} m → "
            f"{res['after_m']:g} m, saving {res['saving_pct']:g}%",
            "order: " + " → ".join(res["order"]),
        ]
    )
    if res["applied"]:
        out.done("saved the new order")
    elif not apply and res["saving_pct"] > 0:
        out.note(f"pm route optimize {code} --apply saves it")


WalkArg = Annotated[str, typer.Argument(help="Walk id, or its last 8 characters")]
StopArg = Annotated[str, typer.Argument(help="Stop number (1 = first), checkpoint code or tag")]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="When: 14:05, '2026-12-02 14:05' (site time) [default: now]"),
]


def _walk_line(rec: dict[str, object]) -> str:
    stops = rec["stops"]
    assert isinstance(stops, list)
    skipped = sum(1 for st in stops if st["skipped"] is not None)
    return f"walk {rec['walk']} {rec['status']}: {rec['visited']}/{len(stops)} stops visited" + (
        f", {skipped} skipped" if skipped else ""
    )


@app.command("run")
def route_run(
    ctx: typer.Context,
    code: CodeArg,
    by: Annotated[str | None, typer.Option("--by", help="Staff code [default: me]")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk a route: stop k of n in order, arrival on Enter (or the tag; p passes all its
    checks), then that stop's checklist step by step. Quit any time; running it again
    continues the walk. Interactive: scripts use pm route start / arrive / skip / finish.

    Made for one hand. At arrival Enter (or the tag's uid) records the time and goes through
    the stop's checklist step by step, as `pm run start` does: `p` passes, `f 门没锁` fails with
    that note in one line (a note is asked only on a fail that opens an improvement item,
    unless a reading says what is wrong). `p` at arrival records it and passes every check of
    the stop at once (readings, photos and text entries are still asked); `s [REASON]` skips
    the stop, `q` pauses; scanning another stop's tag says which stop it is. Starting outside
    the route's shift window warns (site time). After the last stop the walk closes by itself:
    finished when every stop was done, incomplete with a skipped stop or an incomplete
    checklist. Without a terminal or with --json it is refused (exit 2), naming the scripted
    form."""
    import sys

    from pm_cli.errors import UsageError
    from pm_cli.routes import walks
    from pm_cli.routes.flow import WalkFlow
    from pm_cli.routes.service import get_route
    from pm_cli.runs.evidence import evidence_dir
    from pm_cli.staff.service import get_me, get_staff

    out = ctx.obj.out(as_json)
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        get_route(s, site=site, code=code)
        staff_code = (
            get_staff(s, site=site, code=by) if by else get_me(s, site=site, code=ctx.obj.me())
        ).code
    if out.as_json or not sys.stdin.isatty():
        raise UsageError(
            "route run is interactive and needs a terminal"
            + (" (not --json)" if out.as_json else ""),
            hint=f"script it with pm route start {code}, then pm route arrive "
            "WALK STOP, pm run record RUN STEP pass|fail|na, pm route skip "
            "WALK STOP --reason TEXT and pm route finish WALK",
        )
    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        walk, resumed = walks.start(
            s, site=site, code=code, by=get_staff(s, site=site, code=staff_code)
        )
        warning = (
            None if resumed else walks.outside_window(get_route(s, site=site, code=code), site.tz)
        )
        walk_id, tz = walk.id, site.tz
    if warning:
        out.warn(warning)
    flow = WalkFlow(
        ctx=ctx.obj,
        out=out,
        walk_id=walk_id,
        ask=input,
        store_dir=evidence_dir(ctx.obj.db_path),
        tz=tz,
    )
    interrupted = False
    try:
        wv = flow.run()
    except KeyboardInterrupt:
        wv, interrupted = None, True
        out.say("")
    if wv is None:
        out.say(f"paused walk {walks.short(walk_id)}; continue with: pm route run {code}")
        raise typer.Exit(130 if interrupted else 0)
    with ctx.obj.session() as s:
        rec = walks.record(s, wv)
    out.done(_walk_line(rec))


@app.command("start")
def route_start(
    ctx: typer.Context,
    code: CodeArg,
    by: Annotated[str | None, typer.Option("--by", help="Staff code [default: me]")] = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a walk of a route (scripted; this person's open walk of it is continued).

    Prints the walk id; warns outside the route's shift window."""
    from pm_cli.drills.service import parse_time
    from pm_cli.routes import walks
    from pm_cli.routes.service import get_route
    from pm_cli.staff.service import get_me, get_staff

    out = ctx.obj.out(as_json)
    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        staff = get_staff(s, site=site, code=by) if by else get_me(s, site=site, code=ctx.obj.me())
        when = parse_time(at, site.tz) if at else None
        walk, resumed = walks.start(s, site=site, code=code, by=staff, at=when)
        warning = (
            None
            if resumed
            else walks.outside_window(get_route(s, site=site, code=code), site.tz, when)
        )
        rec = walks.record(s, walks.view(s, walk))
    if warning:
        out.warn(warning)
    out.created(
        f"{'continuing' if resumed else 'started'} walk {rec['walk']} of route "
        f"{rec['route']} ({len(rec['stops'])} stops)",
        rec["walk"],
        rec,
    )
    if not out.as_json:
        out.note(f"next: pm route arrive {rec['walk']} 1")


@app.command("arrive")
def route_arrive(
    ctx: typer.Context,
    walk: WalkArg,
    stop: StopArg,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the arrival at a stop and start its checklist (scripted pm route run).

    STOP is its number (1 = first), its checkpoint code or its tag uid. Prints the run to
    answer with `pm run record RUN STEP pass|fail|na`."""
    from pm_cli.drills.service import parse_time
    from pm_cli.routes import walks
    from pm_cli.runs.service import short as run_short

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        w = walks.get_walk(s, site=site, ref=walk)
        i = walks.stop_index(walks.view(s, w), stop)
        st = walks.arrive(s, site=site, walk=w, stop=i, at=parse_time(at, site.tz) if at else None)
        doc = {
            "walk": walks.short(w.id),
            "stop": i + 1,
            "checkpoint": st.checkpoint.code,
            "arrived_at": st.arrived_at,
            "checklist": st.checklist,
            "run": run_short(st.run.id) if st.run else None,
        }
    out = ctx.obj.out(as_json)
    out.done(f"arrived at stop {i + 1} · {doc['checkpoint']}", doc)
    if doc["run"] and not out.as_json:
        out.note(f"answer its checklist with: pm run record {doc['run']} STEP pass|fail|na")


@app.command("skip")
def route_skip(
    ctx: typer.Context,
    walk: WalkArg,
    stop: StopArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the stop is skipped")],
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Skip a stop of a walk, saying why (the walk then ends incomplete)."""
    from pm_cli.drills.service import parse_time
    from pm_cli.routes import walks

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        w = walks.get_walk(s, site=site, ref=walk)
        i = walks.stop_index(walks.view(s, w), stop)
        st = walks.skip(
            s, site=site, walk=w, stop=i, reason=reason, at=parse_time(at, site.tz) if at else None
        )
        doc = {
            "walk": walks.short(w.id),
            "stop": i + 1,
            "checkpoint": st.checkpoint.code,
            "skipped": st.skipped,
        }
    ctx.obj.out(as_json).done(f"skipped stop {i + 1} · {doc['checkpoint']}: {st.skipped}", doc)


@app.command("finish")
def route_finish(
    ctx: typer.Context,
    walk: WalkArg,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a walk whose stops are all done (finished, or incomplete when one was skipped
    or its checklist finished incomplete); stop checklists fully answered are finished."""
    from pm_cli.drills.service import parse_time
    from pm_cli.routes import walks

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        wv = walks.finish(
            s,
            walk=walks.get_walk(s, site=site, ref=walk),
            at=parse_time(at, site.tz) if at else None,
        )
        rec = walks.record(s, wv)
    ctx.obj.out(as_json).done(_walk_line(rec), rec)


@app.command("abandon")
def route_abandon(
    ctx: typer.Context,
    walk: WalkArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the walk is given up")],
    as_json: JsonOpt = False,
) -> None:
    """Give up an open walk: kept in the history as abandoned; its window counts as missed.

    Its open stop checklists are aborted; the missed window shows in `pm route missed` and
    `pm today`."""
    from pm_cli.routes import walks

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        rec = walks.record(
            s, walks.abandon(s, walk=walks.get_walk(s, site=site, ref=walk), reason=reason)
        )
    ctx.obj.out(as_json).done(
        f"abandoned walk {rec['walk']} of route {rec['route']}: {rec['reason']}", rec
    )


@app.command("walks")
def route_walks(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Argument(help="Only this route")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open walks")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List walks, newest first: id, route, started, by, status, progress.

    Status: open, finished, incomplete or abandoned (with the reason); progress: the stops done
    of all."""
    from pm_cli.routes import walks
    from pm_cli.timefmt import local

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rows = walks.list_walks(s, site=site, route=code, open_only=open_only)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [
            {
                "walk": r["walk"],
                "route": r["route"],
                "started": local(r["started_at"], site.tz, "%m-%d %H:%M"),
                "by": r["by"],
                "status": r["status"] + (f" ({r['reason']})" if r["reason"] else ""),
                "progress": f"{r['done']}/{r['stops']}"
                + (f", {r['skipped']} skipped" if r["skipped"] else ""),
            }
            for r in rows
        ],
        ["walk", "route", "started", "by", "status", "progress"],
        title=f"walks at {site.code}",
    )
