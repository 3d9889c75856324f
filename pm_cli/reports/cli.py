"""pm report …"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.reports.cli_output import (
    ByOpt,
    CsvOpt,
    FromOpt,
    HtmlOpt,
    MdOpt,
    OutOpt,
    ToOpt,
    XlsxOpt,
    check_formats,
    refresh_rollups,
    write_as_file,
    write_tables,
)
from pm_cli.sites.context import current_site

app = typer.Typer(
    help="Reports: KPIs and the 1000-point site score (千分制).", no_args_is_help=True
)


def _rate(rec: dict[str, Any]) -> str:
    return "—" if rec["rate"] is None else f"{rec['rate']:.1%}"


def _of(rec: dict[str, Any]) -> str:
    return f"{rec['numerator']}/{rec['denominator']}"


@app.command("kpi")
def report_kpi(
    ctx: typer.Context,
    frm: FromOpt = None,
    to: ToOpt = None,
    by: ByOpt = None,
    csv: CsvOpt = False,
    md: MdOpt = False,
    xlsx: XlsxOpt = False,
    html: HtmlOpt = False,
    output: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The site's KPIs over a period, each as a count over a count.

    The days are site time (default: the 30 days up to now). Each KPI is a numerator over a
    denominator, as docs/reports.md defines them, with the figures beside them: inspections due
    and missed, items opened, closed and withdrawn, mean time to respond and to resolve, reopen
    rate, open risks by level. --by splits them (the groups add up to the site; `site`: each
    site the database holds)."""
    from pm_cli.output import plain
    from pm_cli.reports import service

    check_formats(csv=csv, md=md, xlsx=xlsx, output=output, as_json=as_json, html=html)
    refresh_rollups(
        ctx,
        lambda s, site: (
            service.refresh_sites(s, frm=frm, to=to)
            if by == "site"
            else service.refresh_period(s, site=site, frm=frm, to=to)
        ),
    )
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rep = service.kpi_report(s, site=site, frm=frm, to=to, by=by)
    if write_as_file(
        ctx,
        rep,
        service.kpi_rows,
        kind="kpi",
        csv=csv,
        md=md,
        xlsx=xlsx,
        output=output,
        as_json=as_json,
        html=html,
    ):
        return
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rep)
        return
    title = (
        f"KPIs of {rep['site']}, {plain(rep['from'], out.tz)} – {plain(rep['counted_to'], out.tz)}"
    )
    if by:
        rows = [
            {by: g[by], "kpi": r["label"], "rate": _rate(r), "of": _of(r)}
            for g in rep["groups"]
            for r in g["kpis"]
            if r["denominator"]
        ]
        out.table(rows, [by, "kpi", "rate", "of"], title=f"{title}, by {by}")
        return
    rows = [
        {"kpi": r["label"], "rate": _rate(r), "of": _of(r), "counts": r["what"]}
        for r in rep["kpis"]
    ]
    out.table(rows, ["kpi", "rate", "of", "counts"], title=title)
    out.table(
        [{"figure": f["label"], "value": _figure(f), "counts": f["what"]} for f in rep["figures"]],
        ["figure", "value", "counts"],
        title="items, inspections and risks",
    )
    if rep["drills"]:
        out.table(
            [
                {
                    "drill": d["drill"],
                    "scenario": d["scenario"],
                    "started_at": d["started_at"],
                    "targets met": f"{d['met']}/{d['timed']}",
                    "minutes": ", ".join(
                        f"{m} {v:g}" for m, v in d["minutes"].items() if v is not None
                    ),
                }
                for d in rep["drills"]
            ],
            ["drill", "scenario", "started_at", "targets met", "minutes"],
            title="drill response times (minutes from the alarm)",
        )
    from pm_cli.reports.html import coverage_text

    for dim in ("grid", "month"):
        sat = rep["satisfaction"][f"by_{dim}"]
        if sat:
            out.table(
                [
                    {
                        dim: r[dim],
                        "rate": _rate(r),
                        "satisfied": _of(r),
                        "coverage": coverage_text(r),
                    }
                    for r in sat
                ],
                [dim, "rate", "satisfied", "coverage"],
                title=f"owner satisfaction by {dim}",
            )


def _figure(f: dict[str, Any]) -> str:
    if f["value"] is None:
        return "—"
    if f["unit"] == "rate":
        return f"{f['value']:.1%} ({f['numerator']}/{f['denominator']})"
    if f["unit"] == "hours":
        return f"{f['value']:.1f} h ({f['denominator']} items)"
    return str(f["value"])


@app.command("score")
def report_score(
    ctx: typer.Context,
    frm: FromOpt = None,
    to: ToOpt = None,
    explain: Annotated[bool, typer.Option("--explain", help="Print the arithmetic")] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="category: the lines grouped; site|grid|service|staff|month|week: a score each",
        ),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            help="A company's weights (YAML: points, deductions, bands, "
            "categories) [default: domain.md §7]",
        ),
    ] = None,
    csv: CsvOpt = False,
    md: MdOpt = False,
    xlsx: XlsxOpt = False,
    html: HtmlOpt = False,
    output: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The 1000-point site score: each KPI's points × its rate, scaled, less deductions.

    KPIs with nothing to measure are dropped and the rest scaled. --weights: a company's own
    weights, a YAML file checked line by line (docs/reports.md). --json is `{score, band, lines,
    dropped, deductions, scaled_from, categories}`, and the lines' points less the deductions
    are the score. --by category groups the lines; --by grid (site, service, staff, month,
    week) scores each group the same way, best first, in `groups`."""
    from pm_cli.output import plain
    from pm_cli.reports import service

    check_formats(csv=csv, md=md, xlsx=xlsx, output=output, as_json=as_json, html=html)
    scheme = service.scheme(weights)  # checked before any work
    refresh_rollups(
        ctx,
        lambda s, site: (
            service.refresh_sites(s, frm=frm, to=to)
            if by == "site"
            else service.refresh_period(s, site=site, frm=frm, to=to)
        ),
    )
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rep = service.score_report(s, site=site, frm=frm, to=to, by=by, weights=scheme)
    if write_as_file(
        ctx,
        rep,
        service.score_rows,
        kind="score",
        csv=csv,
        md=md,
        xlsx=xlsx,
        output=output,
        as_json=as_json,
        html=html,
    ):
        return
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json({k: v for k, v in rep.items() if k != "explain"})
        return
    if rep["score"] is None:
        out.lines(rep["explain"])
        return
    head = (
        f"score of {rep['site']}, {plain(rep['from'], out.tz)} – "
        f"{plain(rep['counted_to'], out.tz)}: {rep['score']} ({rep['band']})"
    )
    if explain:
        out.lines([head, *rep["explain"]])
        return
    if by and by != "category":
        rows = [
            {
                by: g[by],
                "score": g["score"],
                "band": g["band"],
                "measured": f"{len(g['lines'])} of {len(g['lines']) + len(g['dropped'])}",
                "deductions": sum(d["points"] for d in g["deductions"]) or None,
            }
            for g in rep["groups"]
        ]
        out.table(rows, [by, "score", "band", "measured", "deductions"], title=head)
        return
    if by == "category":
        out.table(
            [
                {
                    "category": c["category"],
                    "points": c["points"],
                    "max": c["max"],
                    "kpis": ", ".join(c["kpis"]),
                }
                for c in rep["categories"]
            ],
            ["category", "points", "max", "kpis"],
            title=head,
        )
        return
    rows = [
        {
            "kpi": ln["label"],
            "points": ln["points"],
            "max": ln["max"],
            "rate": _rate(ln),
            "of": f"{ln['numerator']}/{ln['denominator']}",
        }
        for ln in rep["lines"]
    ]
    rows += [{"kpi": f"− {d['reason']}", "points": -d["points"]} for d in rep["deductions"]]
    out.table(rows, ["kpi", "points", "max", "rate", "of"], title=head)


@app.command("daily")
def report_daily(
    ctx: typer.Context,
    day: Annotated[
        str | None,
        typer.Option("--date", help="The day (site time) [default: the shift under way]"),
    ] = None,
    shift: Annotated[
        str | None,
        typer.Option(
            "--shift",
            help="day (08:00-20:00), night (20:00-08:00) or HH:MM-HH:MM "
            "[default: with --date the whole day, else the shift now]",
        ),
    ] = None,
    handover: Annotated[
        bool,
        typer.Option(
            "--handover",
            help="Sign the handover: --from hands the shift over --to (who may --refuse it)",
        ),
    ] = False,
    giver: Annotated[
        str | None, typer.Option("--from", help="With --handover: the staff code handing over")
    ] = None,
    receiver: Annotated[
        str | None, typer.Option("--to", help="With --handover: the staff code taking over")
    ] = None,
    refuse: Annotated[
        str | None,
        typer.Option("--refuse", help="With --handover: the receiver refuses, for this reason"),
    ] = None,
    csv: CsvOpt = False,
    md: MdOpt = False,
    xlsx: XlsxOpt = False,
    html: HtmlOpt = False,
    output: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The shift handover (交接班): done, failures, items opened, closed and open, drills,
    and what the next shift must do; with --handover, its sign-off by both leads.

    The report: checklists done and route walks ended, failures found, items opened, closed and
    still open with their owners, drills; for the next shift (as long as this one, from its end)
    the walks and checklists due, the items falling due and the drills due. `day` is
    08:00–20:00 and `night` 20:00–08:00, site time; without --shift a --date covers its whole
    day, and no date the shift under way.

    --handover --from STAFF --to STAFF signs the shift's handover: the lead handing over and
    the one taking over. The receiver may refuse it (--refuse REASON), and sign again once it
    is put right (a shift is accepted once). A sign-off is kept (with the report's counts) and
    synced; the report of the shift lists its sign-offs."""
    from pm_cli.errors import UsageError
    from pm_cli.output import plain
    from pm_cli.reports import daily, service

    check_formats(csv=csv, md=md, xlsx=xlsx, output=output, as_json=as_json, html=html)
    if not handover and (giver or receiver or refuse is not None):
        raise UsageError(
            "--from, --to and --refuse sign a handover", where="--from", hint="add --handover"
        )
    if handover and not (giver and receiver):
        raise UsageError(
            "a handover needs both leads",
            where="--to" if giver else "--from",
            hint="pass --from STAFF --to STAFF",
        )
    with ctx.obj.session(write=handover) as s:
        site = current_site(ctx.obj, s)
        if handover:
            assert giver and receiver
            rep = service.sign_handover(
                s, site=site, giver=giver, receiver=receiver, refuse=refuse, day=day, shift=shift
            )
        else:
            rep = service.daily_report(s, site=site, day=day, shift=shift)
    out = ctx.obj.out(as_json)
    if handover and not (as_json or csv or md or xlsx or html):
        h = rep["handover"][-1]
        if h["status"] == "refused":
            out.note(
                f"{h['to']} refused the {rep['shift']} shift of {h['day']} from "
                f"{h['from']}: {h['reason']}"
            )
        else:
            out.done(f"{h['from']} handed the {rep['shift']} shift of {h['day']} over to {h['to']}")
        return
    head = (
        f"handover of {rep['site']}, {rep['shift']}: {plain(rep['from'], out.tz)} – "
        f"{plain(rep['to'], out.tz)}"
    )
    write_tables(
        ctx,
        rep,
        daily.sections(rep),
        kind="daily",
        head=head,
        csv=csv,
        md=md,
        xlsx=xlsx,
        html=html,
        output=output,
        as_json=as_json,
    )


@app.command("quarter")
def report_quarter(
    ctx: typer.Context,
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter",
            "-q",
            help="YEARQn, e.g. 2026Q4 (Qn: this year) [default: this quarter, up to now]",
        ),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option("--weights", help="A company's weights for the score (as pm report score)"),
    ] = None,
    csv: CsvOpt = False,
    md: MdOpt = False,
    xlsx: XlsxOpt = False,
    html: HtmlOpt = False,
    output: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The quarterly PDCA review: items by phase and source, how effective the fixes were,
    repeat failures by step and grid, the top risks, and the score and KPIs against the
    previous quarter.

    The items opened in the quarter or carried into it, by source and by their phase at its
    end; how many verifications found the fix effective; the items reopened; the items still
    open; the steps that failed twice or more at one grid; the top ten open risks; the score and
    each KPI against the previous quarter (the same figures as `pm report score` and
    `pm report kpi` for those dates). Default: this quarter, up to now (site time)."""
    from pm_cli.output import plain
    from pm_cli.reports import quarter as review
    from pm_cli.reports import service

    check_formats(csv=csv, md=md, xlsx=xlsx, output=output, as_json=as_json, html=html)
    scheme = service.scheme(weights)
    refresh_rollups(ctx, lambda s, site: review.refresh(s, site=site, quarter=quarter))
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rep = review.review(s, site=site, quarter=quarter, scheme=scheme)
    tz = ctx.obj.out(as_json).tz
    head = (
        f"PDCA review of {rep['site']}, {rep['quarter']}: {plain(rep['from'], tz)} – "
        f"{plain(rep['counted_to'], tz)}"
    )
    write_tables(
        ctx,
        rep,
        review.sections(rep),
        kind="quarter",
        head=head,
        csv=csv,
        md=md,
        xlsx=xlsx,
        html=html,
        output=output,
        as_json=as_json,
    )


def dashboard(
    ctx: typer.Context,
    every: Annotated[
        float, typer.Option("--every", help="Seconds between refreshes", min=1.0)
    ] = 30.0,
    once: Annotated[bool, typer.Option("--once", help="One frame, then exit")] = False,
    as_json: JsonOpt = False,
) -> None:
    """One screen of the site: today's progress, overdue items, the hottest grids, the
    score and its weekly trend (refreshing; one frame when not on a terminal).

    Today's walks and checklists by status, drills and risk reviews due, the overdue items
    (worst first), the hottest grids, the 30-day score and the score of each of the last six
    ISO weeks. Redrawn every 30 s on a terminal until Ctrl-C; one frame when piped or with
    --once; --json is the snapshot."""
    import time

    from pm_cli.output import plain
    from pm_cli.reports import dashboard as board

    out = ctx.obj.out(as_json)
    refresh_rollups(ctx, board.refresh)
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        first = board.snapshot(s, site=site)
    if out.as_json:
        out.json(first)
        return
    weeks = first["trend"]
    latest = [first]
    watch = board.Changes(ctx.obj.db_path) if not once else None
    kept: dict[str, Any] = {"snap": first, "at": time.monotonic()}

    def frame() -> tuple[list[str], list[Any]]:
        if latest:
            snap = latest.pop()
        elif (
            watch is not None
            and not watch.changed()
            and time.monotonic() - kept["at"] < board.MAX_AGE_S
        ):
            snap = kept["snap"]  # nothing written since: the same figures, drawn again
        else:
            refresh_rollups(ctx, board.refresh)  # may write rollups: the next look sees it once
            with ctx.obj.session() as s:
                snap = board.snapshot(s, site=current_site(ctx.obj, s), with_trend=weeks)
            kept.update(snap=snap, at=time.monotonic())
        tz = out.tz
        c = snap["today"]["counts"]
        sc = snap["score"]
        spark = board.sparkline([w["score"] for w in snap["trend"]])
        head = [
            f"{snap['site']} {snap['name']} · {plain(snap['at'], tz)}",
            f"today: {c['done']} done, {c['in progress']} in progress, {c['to do']} to do,"
            f" {c['upcoming']} upcoming, {c['missed']} missed of {snap['today']['due']}"
            f" · drills due {snap['today']['drills_due']}"
            f" · risk reviews due {snap['today']['reviews_due']}",
            f"score (30 days): {sc['score'] if sc['score'] is not None else '—'}"
            f" {sc['band'] or ''} · weekly trend {spark}",
            f"overdue items: {snap['overdue']['count']}",
        ]
        return head, [
            (
                "overdue items",
                ("label", "severity", "title", "owner", "overdue"),
                snap["overdue"]["items"],
            ),
            (
                "hottest grids",
                ("grid", "name", "level", "heat", "failures", "overdue_items"),
                snap["heat"],
            ),
        ]

    out.board(frame, every=None if once else every)
