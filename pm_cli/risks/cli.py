"""pm risk …"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row
from pm_cli.staff.context import me_id

app = typer.Typer(
    help="The risk register: likelihood × impact, controls, reviews, heat map.",
    no_args_is_help=True,
)

CodeArg = Annotated[str, typer.Argument(help="Risk code, e.g. R-01")]
COLUMNS = [
    "code",
    "level",
    "score",
    "likelihood",
    "impact",
    "title",
    "grid",
    "owner",
    "next_review",
]


def _done(ctx: typer.Context, out: Any, rec: dict[str, Any], finding: Any, verb: str) -> None:
    msg = (
        f"risk {rec['code']} {verb}: {rec['level']} (L{rec['likelihood']} × I{rec['impact']}"
        f" = {rec['score']})"
    )
    if finding is not None:
        msg += (
            f" · opened improvement item {finding.item_label}"
            if finding.new_item
            else f" · item {finding.item_label} is already open"
        )
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
    """Register a risk; a critical one opens an improvement item.

    Its level is likelihood × impact by the matrix: 1–6 minor (一般), 8–12 major (重要), 15–25
    critical (重大); impact 5 or --legal makes it at least major."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        risk, finding = service.add_risk(
            s,
            site=site,
            code=code,
            title=title,
            likelihood=likelihood,
            impact=impact,
            grid=grid,
            controls=controls,
            review=review,
            cause=cause,
            consequence=consequence,
            owner=owner,
            legal=legal,
            by_id=me_id(ctx.obj, s, site),
        )
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
    """Re-assess a risk's likelihood and impact (history kept); critical opens an improvement
    item."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        _risk, finding = service.assess(
            s,
            site=site,
            code=code,
            likelihood=likelihood,
            impact=impact,
            note=note,
            by_id=me_id(ctx.obj, s, site),
        )
        rec = service.show(s, site=site, code=code)
    _done(ctx, ctx.obj.out(as_json), rec, finding, "assessed")


@app.command("review")
def risk_review(
    ctx: typer.Context,
    code: CodeArg,
    note: Annotated[str | None, typer.Option("--note", help="What the review found")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a review; the next one follows the risk's review schedule.

    That is its --review, else its level's default (monthly / quarterly / yearly)."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.review_risk(s, site=site, code=code, note=note, by_id=me_id(ctx.obj, s, site))
        rec = service.show(s, site=site, code=code)
    ctx.obj.out(as_json).done(f"risk {rec['code']} reviewed; next review {rec['next_review']}", rec)


@app.command("list")
def risk_list(
    ctx: typer.Context,
    level: Annotated[str | None, typer.Option("--level", help="minor|major|critical")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Only this grid")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only risks whose review is overdue")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the register (with --overdue, the reviews that are late)."""
    from pm_cli.risks import read
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_risks(conn, site=site, level_=level, grid=grid, overdue=overdue)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [
            {
                **r,
                "next_review": (local(r["next_review"], site.tz, "%Y-%m-%d") or "")
                + (" overdue" if r["review_overdue"] else ""),
            }
            for r in rows
        ],
        COLUMNS,
        title=f"risk register at {site.code}",
        one_per_code=True,
    )


@app.command("show")
def risk_show(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Show a risk with its level, controls, review dates and history."""
    from pm_cli.risks import read

    with ctx.obj.connection() as conn:
        rec = read.show(conn, site=current_site_row(ctx.obj, conn), code=code)
    ctx.obj.out(as_json).emit(rec)


@app.command("import-library")
def risk_import_library(
    ctx: typer.Context,
    grid: Annotated[
        str | None, typer.Option("--grid", help="Attach them to this grid (default: site-wide)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add the starter library of common property risks (RL-01…) the site does not have.

    62 risks, RL-01…RL-62, bilingual."""
    from pm_cli.risks import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        counts = service.import_library(s, site=site, grid=grid, by_id=me_id(ctx.obj, s, site))
    ctx.obj.out(as_json).done(
        f"added {counts['added']} risks from the starter library "
        f"({counts['skipped']} already there)",
        counts,
    )


@app.command("heatmap")
def risk_heatmap(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Open risks in the likelihood × impact matrix, coloured by level."""
    from pm_cli.risks import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        data = read.heatmap(conn, site=site)
    cells = {(c["likelihood"], c["impact"]): c for c in data["cells"]}
    rows = [
        [(str(cells[(li, im)]["count"] or "·"), cells[(li, im)]["level"]) for im in range(1, 6)]
        for li in range(5, 0, -1)
    ]
    ctx.obj.out(as_json).matrix(
        rows,
        row_labels=[f"L{li}" for li in range(5, 0, -1)],
        col_labels=[f"I{im}" for im in range(1, 6)],
        corner="L \\ I",
        title=f"open risks at {site.code} (count per cell)",
        data=data,
    )


# `pm grid heatmap`: grids coloured by risk, a view of the risk register; the root app adds
# it to the grid group (grids stand below risks and never import them).
grid_app = typer.Typer()


@grid_app.command("heatmap")
def grid_heatmap(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", help="Failures over the last N days")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Grids, hottest first, coloured by open risks, recent failed steps and overdue
    improvement items."""
    from pm_cli.risks import service

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rows = service.grid_heat(s, site=site, days=days)
    ctx.obj.out(as_json).emit(
        rows,
        columns=["grid", "name", "level", "heat", "risk", "failures", "overdue_items"],
        title=f"grid heat at {site.code} (last {days} days)",
    )
