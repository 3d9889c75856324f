"""What the `pm report` commands share: their options (period, grouping, formats) and the
writing of a report as CSV, Markdown, an Excel workbook or an HTML page (typer only; the
heavy modules are imported inside the helpers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.sites.context import current_site

FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day (site time) [default: 30 days back]")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day (site time) [default: now]")]

ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="site|grid|service|staff|month|week: one group per row (site: each site "
        "this database holds)",
    ),
]

CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV (UTF-8, BOM) instead of a table")]
MdOpt = Annotated[bool, typer.Option("--md", help="A Markdown table")]
XlsxOpt = Annotated[bool, typer.Option("--xlsx", help="An Excel workbook (with -o FILE)")]
HtmlOpt = Annotated[
    bool,
    typer.Option(
        "--html", help="One self-contained HTML page (inline CSS and charts; prints on A4)"
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE")]


def check_formats(
    *, csv: bool, md: bool, xlsx: bool, output: Path | None, as_json: bool, html: bool = False
) -> bool:
    """Check the format options before any work; whether a file format was asked for."""
    from pm_cli.errors import UsageError

    asked = [
        name
        for name, on in (
            ("--csv", csv),
            ("--md", md),
            ("--xlsx", xlsx),
            ("--html", html),
            ("--json", as_json and (csv or md or xlsx or html)),
        )
        if on
    ]
    if len(asked) > 1:
        raise UsageError(f"{' and '.join(asked)} together", where=asked[1], hint="give one format")
    if not asked and output is not None:
        raise UsageError(
            "-o needs a format", where="--output", hint="add --csv, --md, --xlsx or --html"
        )
    if xlsx and output is None:
        raise UsageError(
            "an Excel workbook is written to a file", where="--xlsx", hint="pass -o FILE.xlsx"
        )
    return bool(asked)


def write_as_file(
    ctx: typer.Context,
    rep: dict[str, Any],
    table: Any,
    *,
    kind: str,
    csv: bool,
    md: bool,
    xlsx: bool,
    output: Path | None,
    as_json: bool,
    html: bool = False,
) -> bool:
    """Write the report as a file format when one was asked for; whether one was."""
    from pm_cli import sheets

    if not check_formats(csv=csv, md=md, xlsx=xlsx, output=output, as_json=as_json, html=html):
        return False
    cols, rows = table(rep)
    if html:
        from pm_cli.reports import html as pages

        data = getattr(pages, kind)(rep, ctx.obj.out().tz).encode("utf-8")
        write_out(ctx, data, output, f"wrote the {kind} report to {output}")
        return True
    if xlsx:
        data = sheets.xlsx_bytes(kind, cols, rows)
    elif csv:
        data = sheets.csv_bytes(cols, rows)
    else:
        data = sheets.markdown(cols, rows, title=f"{kind} {rep['site']}").encode("utf-8")
    write_out(ctx, data, output, f"wrote {len(rows)} rows to {output}")
    return True


def write_out(ctx: typer.Context, data: bytes, output: Path | None, note: str) -> None:
    """The report's bytes to FILE (saying so), or to stdout without -o."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from pm_cli.files import write_file

    write_file(output, data)
    ctx.obj.out().note(note)


def refresh_rollups(ctx: typer.Context, how: Any) -> None:
    """Bring the per-day rollups the report reads up to date, in a write transaction of
    their own. Where that write fails (a read-only file, a database kept busy, a full
    disk) the report still comes: it counts from the records what is not current."""
    from pm_cli.errors import StoreError

    try:
        with ctx.obj.session(write=True) as s:
            how(s, current_site(ctx.obj, s))
    except StoreError:
        pass  # the read that follows says what is wrong, if anything still is


def write_tables(
    ctx: typer.Context,
    rep: dict[str, Any],
    tables: list[Any],
    *,
    kind: str,
    head: str,
    csv: bool,
    md: bool,
    xlsx: bool,
    html: bool,
    output: Path | None,
    as_json: bool,
) -> None:
    """A report of several tables, in the format asked for (a table each for people)."""
    from pm_cli import sheets
    from pm_cli.output import plain

    out = ctx.obj.out(as_json)
    tz = out.tz
    if html:
        from pm_cli.reports import html as pages

        write_out(
            ctx,
            getattr(pages, kind)(rep, tz).encode("utf-8"),
            output,
            f"wrote the {kind} report to {output}",
        )
        return
    if as_json and not (csv or md or xlsx):
        out.json(rep)
        return
    shown = [
        (
            f"{title} ({len(rows)})",
            cols,
            [
                {
                    c: plain(r.get(c), tz)
                    if isinstance(r.get(c), str | list | dict | bool)
                    else r.get(c)
                    for c in cols
                }
                for r in rows
            ],
        )
        for title, cols, rows in tables
    ]
    if csv:
        write_out(ctx, sheets.csv_tables(shown), output, f"wrote the {kind} report to {output}")
    elif xlsx:
        write_out(ctx, sheets.xlsx_book(shown), output, f"wrote the {kind} report to {output}")
    elif md:
        text = f"# {head}\n\n" + "\n".join(
            sheets.markdown(cols, rows, title=title) for title, cols, rows in shown
        )
        write_out(ctx, text.encode("utf-8"), output, f"wrote the {kind} report to {output}")
    else:
        out.lines([head])
        for title, cols, rows in tables:
            out.table(rows, list(cols), title=f"{title} ({len(rows)})")
