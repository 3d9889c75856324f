"""pm risk …"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt

app = typer.Typer(help="The risk register: likelihood × impact, controls, reviews, heat map.",
                  no_args_is_help=True)

CodeArg = Annotated[str, typer.Argument(help="Risk code, e.g. R-01")]
COLUMNS = ["code", "level", "score", "likelihood", "impact", "title", "grid", "owner",
           "next_review"]



def _done(ctx: typer.Context, out: Any, rec: dict[str, Any], finding: Any, verb: str) -> None:
    msg = f"risk {rec['code']} {verb}: {rec['level']} (L{rec['likelihood']} × I{rec['impact']}" \
          f" = {rec['score']})"
    if finding is not None:
        msg += (f" · opened improvement item {finding.item_label}" if finding.new_item
                else f" · item {finding.item_label} is already open")
    _ = ctx
    out.done(msg, rec)


@app.command("add")
def risk_add(
    ctx: typer.Context,
    code: CodeArg,
    title: Annotated[str, typer.Option("--title", help="The hazard, 中文 + English")],
    likelihood: Annotated[int, typer.Option("--likelihood", "-l", help="1–5")],
    impact: Annotated[int, typer.Option("--impact", "-i", help="1–5")],
    grid: Annotated[str | None, typer.Option("--grid", help="Grid code")] = None,
    controls: Annotated[str | None, typer.Option("--controls", help="Controls in place")] = None,
    review: Annotated[
        str | None, typer.Option("--review", help="Review RRULE [default: by level]")
    ] = None,
    cause: Annotated[str | None, typer.Option("--cause", help="Cause")] = None,
    consequence: Annotated[str | None, typer.Option("--consequence", help="Consequence")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Staff code")] = None,
    legal: Annotated[
        bool, typer.Option("--legal", help="An open legal non-compliance (at least major)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register a risk; a critical one opens an improvement item."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = ctx.obj.site(s)
        risk, finding = service.add_risk(
            s, site=site, code=code, title=title, likelihood=likelihood, impact=impact,
            grid=grid, controls=controls, review=review, cause=cause,
            consequence=consequence, owner=owner, legal=legal, by_id=ctx.obj.me_id(s, site))
        s.flush()
        rec = service.show(s, site=site, code=risk.code)
    _done(ctx, ctx.obj.out(as_json), rec, finding, "registered")


@app.command("assess")
def risk_assess(
    ctx: typer.Context,
    code: CodeArg,
    likelihood: Annotated[int, typer.Option("--likelihood", "-l", help="1–5")],
    impact: Annotated[int, typer.Option("--impact", "-i", help="1–5")],
    note: Annotated[str | None, typer.Option("--note", help="Why it changed")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-assess a risk's likelihood and impact; critical opens an improvement item."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = ctx.obj.site(s)
        _risk, finding = service.assess(s, site=site, code=code, likelihood=likelihood,
                                        impact=impact, note=note, by_id=ctx.obj.me_id(s, site))
        rec = service.show(s, site=site, code=code)
    _done(ctx, ctx.obj.out(as_json), rec, finding, "assessed")


@app.command("review")
def risk_review(
    ctx: typer.Context, code: CodeArg,
    note: Annotated[str | None, typer.Option("--note", help="What the review found")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a review; the next one follows the risk's review schedule."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = ctx.obj.site(s)
        service.review_risk(s, site=site, code=code, note=note, by_id=ctx.obj.me_id(s, site))
        rec = service.show(s, site=site, code=code)
    ctx.obj.out(as_json).done(f"risk {rec['code']} reviewed; next review {rec['next_review']}",
                              rec)


@app.command("list")
def risk_list(
    ctx: typer.Context,
    level: Annotated[str | None, typer.Option("--level", help="minor|major|critical")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Only this grid")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only risks whose review is overdue")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the register (with --overdue, the reviews that are late)."""
    from pm_cli.risks import read
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = ctx.obj.site_row(conn)
        rows = read.list_risks(conn, site=site, level_=level, grid=grid, overdue=overdue)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table([{**r, "next_review": (local(r["next_review"], site.tz, "%Y-%m-%d") or "")
                + (" overdue" if r["review_overdue"] else "")} for r in rows],
              COLUMNS, title=f"risk register at {site.code}", one_per_code=True)


@app.command("show")
def risk_show(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Show a risk with its level, controls, review dates and history."""
    from pm_cli.risks import read

    with ctx.obj.connection() as conn:
        rec = read.show(conn, site=ctx.obj.site_row(conn), code=code)
    ctx.obj.out(as_json).emit(rec)


@app.command("import-library")
def risk_import_library(
    ctx: typer.Context,
    grid: Annotated[
        str | None, typer.Option("--grid", help="Attach them to this grid (default: site-wide)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add the starter library of common property risks (RL-01…) the site does not have."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = ctx.obj.site(s)
        counts = service.import_library(s, site=site, grid=grid, by_id=ctx.obj.me_id(s, site))
    ctx.obj.out(as_json).done(f"added {counts['added']} risks from the starter library "
                              f"({counts['skipped']} already there)", counts)


@app.command("heatmap")
def risk_heatmap(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Open risks in the likelihood × impact matrix, coloured by level."""
    from pm_cli.risks import read

    with ctx.obj.connection() as conn:
        site = ctx.obj.site_row(conn)
        data = read.heatmap(conn, site=site)
    cells = {(c["likelihood"], c["impact"]): c for c in data["cells"]}
    rows = [[(str(cells[(li, im)]["count"] or "·"), cells[(li, im)]["level"])
             for im in range(1, 6)] for li in range(5, 0, -1)]
    ctx.obj.out(as_json).matrix(
        rows, row_labels=[f"L{li}" for li in range(5, 0, -1)],
        col_labels=[f"I{im}" for im in range(1, 6)], corner="L \\ I",
        title=f"open risks at {site.code} (count per cell)", data=data)
