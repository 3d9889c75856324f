"""Bulk import and export. Every row is validated before anything is written; one
transaction; upsert by code, so importing the same file twice changes nothing. Each kind's
rules are its Importer (kinds.IMPORTERS); this module reads files and dispatches."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_cli.errors import InputError, UsageError
from pm_cli.transfer.importer import Progress, no_gc
from pm_cli.transfer.kinds import importer
from pm_cli.transfer.readers import read_table
from pm_cli.transfer.table import Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site


@dataclass
class ImportReport:
    kind: str
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    rows: int = 0


def read(path: Path, *, kind: str, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The rows of a file of `kind` (CSV, xlsx, JSON, YAML; a TSPLIB .tsp holds checkpoints)."""
    of = importer(kind)
    key, required = of.match
    if path.suffix.lower() == ".tsp":
        if kind != "checkpoints":
            raise UsageError("a TSPLIB file holds checkpoints", hint="--kind checkpoints")
        from pm_cli.transfer.checkpoints import read_tsplib

        return read_tsplib(path)
    with no_gc():
        return read_table(
            path, of.columns, encoding=encoding, match=key, required=required, sheet=sheet
        )


def import_table(
    session: Session,
    table: Table,
    *,
    kind: str,
    site: Site | None,
    dry_run: bool = False,
    progress: Progress | None = None,
    grid: str | None = None,
) -> ImportReport:
    """Validate every row, then (unless dry_run) write them all in the caller's transaction.

    Consumes `table.rows` (the plan keeps what is written, so the parsed file can go).
    """
    of = importer(kind)
    if of.needs_site and site is None:
        raise UsageError(f"importing {of.plural} needs a site", hint="pass --site CODE")
    rows = len(table.rows)
    with no_gc():
        plan = of.plan(session, table, site, grid=grid, progress=progress)
        table.rows.clear()
        if plan.problems:
            raise InputError(of.ordered(plan.problems), source=table.source)
        report = ImportReport(
            kind=kind,
            file=table.source,
            created=len(plan.creates),
            updated=len(plan.updates),
            unchanged=plan.unchanged,
            dry_run=dry_run,
            rows=rows,
        )
        if not dry_run:
            of.apply(session, plan)
        return report


def records(session: Session, *, kind: str, site: Site | None) -> list[dict[str, Any]]:
    """What `pm export KIND` writes: the same records `pm … list --json` prints."""
    return importer(kind).records(session, site)


def render(rows: list[dict[str, Any]], *, kind: str, fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(
            rows, allow_unicode=True, sort_keys=False, default_flow_style=False
        ).encode("utf-8")
    from pm_cli import sheets

    cols = importer(kind).export_columns(rows)
    if fmt == "xlsx":
        return sheets.xlsx_bytes(kind, cols, rows)
    if fmt != "csv":
        raise UsageError(f"unknown format {fmt!r}", hint="use csv, json, yaml or xlsx")
    return sheets.csv_bytes(cols, rows)
