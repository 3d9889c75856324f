"""pm report …"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt

app = typer.Typer(help="Reports: KPIs and the 1000-point site score (千分制).",
                  no_args_is_help=True)

FromOpt = Annotated[str | None, typer.Option(
    "--from", help="First day (site time) [default: 30 days back]")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day (site time) [default: now]")]


def _rate(rec: dict[str, Any]) -> str:
    return "—" if rec["rate"] is None else f"{rec['rate']:.1%}"


@app.command("kpi")
def report_kpi(ctx: typer.Context, frm: FromOpt = None, to: ToOpt = None,
               as_json: JsonOpt = False) -> None:
    """The site's KPIs over a period, each as a count over a count."""
    from pm_cli.output import plain
    from pm_cli.reports import service

    with ctx.obj.session() as s:
        site = ctx.obj.site(s)
        rep = service.kpi_report(s, site=site, frm=frm, to=to)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rep)
        return
    rows = [{"kpi": r["label"], "rate": _rate(r), "of": f"{r['numerator']}/{r['denominator']}",
             "counts": r["what"]} for r in rep["kpis"]]
    out.table(rows, ["kpi", "rate", "of", "counts"],
              title=f"KPIs of {rep['site']}, {plain(rep['from'], out.tz)} – "
                    f"{plain(rep['counted_to'], out.tz)}")


@app.command("score")
def report_score(
    ctx: typer.Context, frm: FromOpt = None, to: ToOpt = None,
    explain: Annotated[bool, typer.Option("--explain", help="Print the arithmetic")] = False,
    by: Annotated[str | None, typer.Option("--by", help="category: group the lines")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The 1000-point site score: each KPI's points × its rate, scaled, less deductions."""
    from pm_cli.errors import UsageError
    from pm_cli.output import plain
    from pm_cli.reports import service

    if by not in (None, "category"):
        raise UsageError(f"cannot group the score by {by!r}", where="--by",
                         hint="use --by category")
    with ctx.obj.session() as s:
        site = ctx.obj.site(s)
        rep = service.score_report(s, site=site, frm=frm, to=to)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json({k: v for k, v in rep.items() if k != "explain"})
        return
    if rep["score"] is None:
        out.lines(rep["explain"])
        return
    head = (f"score of {rep['site']}, {plain(rep['from'], out.tz)} – "
            f"{plain(rep['counted_to'], out.tz)}: {rep['score']} ({rep['band']})")
    if explain:
        out.lines([head, *rep["explain"]])
        return
    if by == "category":
        out.table([{"category": c["category"], "points": c["points"], "max": c["max"],
                    "kpis": ", ".join(c["kpis"])} for c in rep["categories"]],
                  ["category", "points", "max", "kpis"], title=head)
        return
    rows = [{"kpi": ln["label"], "points": ln["points"], "max": ln["max"],
             "rate": _rate(ln), "of": f"{ln['numerator']}/{ln['denominator']}"}
            for ln in rep["lines"]]
    rows += [{"kpi": f"− {d['reason']}", "points": -d["points"]} for d in rep["deductions"]]
    out.table(rows, ["kpi", "points", "max", "rate", "of"], title=head)
