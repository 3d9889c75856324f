"""pm import · pm export"""

from __future__ import annotations

import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site


class Kind(StrEnum):
    sites = "sites"
    staff = "staff"
    grids = "grids"
    checkpoints = "checkpoints"
    risks = "risks"
    items = "items"
    survey = "survey"


class Format(StrEnum):
    csv = "csv"
    json = "json"
    yaml = "yaml"
    xlsx = "xlsx"


def register(root: typer.Typer) -> None:
    root.command("import")(import_)
    root.command("export")(export)


def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, Excel .xlsx, JSON, YAML (or TSPLIB .tsp) file", show_default=False
        ),
    ],
    kind: Annotated[Kind, typer.Option("--kind", help="What the file holds")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; write nothing")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding if not UTF-8, e.g. gb18030 (Chinese Excel)"),
    ] = None,
    grid: Annotated[
        str | None,
        typer.Option("--grid", help="Checkpoints: the grid of rows that name none (and of .tsp)"),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", help="Excel: the worksheet to read (default: the first)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bulk-load sites, staff, grids, checkpoints, risks, items or owner-satisfaction surveys
    (upsert, all or nothing).

    Reads CSV, Excel .xlsx, JSON or YAML (and TSPLIB .tsp for checkpoints); upserts by code
    (items: by `no`, new rows numbered; surveys: by grid and day)."""
    from pm_cli.transfer import service

    out = ctx.obj.out(as_json)
    table = service.read(file, kind=kind.value, encoding=encoding, sheet=sheet)
    with ctx.obj.session(write=not dry_run) as s:
        site = None if kind is Kind.sites else current_site(ctx.obj, s)
        with out.progress(len(table.rows), f"importing {kind.value}") as advance:
            report = service.import_table(
                s, table, kind=kind.value, site=site, dry_run=dry_run, progress=advance, grid=grid
            )
    if out.as_json:
        out.json(asdict(report))
        return
    verb = "would be" if dry_run else "were"
    out.done(
        f"{report.file}: {report.rows} rows — {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
        + (f" ({verb} written: dry run, nothing saved)" if dry_run else "")
    )


def export(
    ctx: typer.Context,
    kind: Annotated[
        Kind, typer.Argument(help="sites, staff, grids, checkpoints, risks, items or survey")
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format")] = Format.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout")
    ] = None,
) -> None:
    """Write sites, staff, grids, checkpoints, risks or items as CSV (BOM), JSON, YAML or an
    Excel workbook (xlsx, with -o).

    CSV is UTF-8 with a BOM; xlsx needs -o FILE.xlsx."""
    from pm_cli.errors import UsageError
    from pm_cli.files import write_file
    from pm_cli.transfer import service

    if fmt is Format.xlsx and output is None:
        raise UsageError(
            "an Excel workbook is written to a file",
            where="--format xlsx",
            hint="pass -o FILE.xlsx",
        )
    with ctx.obj.session() as s:
        site = None if kind is Kind.sites else current_site(ctx.obj, s)
        rows = service.records(s, kind=kind.value, site=site)
    data = service.render(rows, kind=kind.value, fmt=fmt.value)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_file(output, data)
    ctx.obj.out().note(f"wrote {len(rows)} {kind.value} to {output}")
