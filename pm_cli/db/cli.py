"""pm init · pm db migrate|check|backup"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.errors import ExitCode

app = typer.Typer(help="The database file: migrate, check, back up.", no_args_is_help=True)
# What `pm init` and `pm db migrate` install once the schema is current, in the same
# transaction: the root app adds the bundled playbooks (db stands below every feature).
SETUP: list[Callable[[Any], object]] = []


def _setup(session: Any) -> None:
    for step in SETUP:
        step(session)


def register(root: typer.Typer) -> None:
    root.command("init")(init)


def init(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Create the database and run migrations; running it again is harmless.

    The file is in WAL mode. A new file is made owner-only (mode 0600 on Linux and macOS; its
    `-wal` and `-shm` files follow it, and so do the copies `pm demo` and `pm db backup` make);
    an existing file keeps the mode it has."""
    from dataclasses import asdict

    from pm_cli.db import service

    result = service.init_db(ctx.obj.db_path, setup=_setup)
    verb = "created" if result.created else "up to date"
    ctx.obj.out(as_json).done(
        f"database {verb}: {result.path} (schema {result.to_version})", asdict(result)
    )


@app.command("migrate")
def db_migrate(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Upgrade a database made by an older pm to this pm's schema."""
    from dataclasses import asdict

    from pm_cli.db import service

    r = service.migrate(ctx.obj.db_path, setup=_setup)
    msg = (
        f"migrated {r.path}: schema {r.from_version} → {r.to_version}"
        if r.from_version != r.to_version
        else f"{r.path} is up to date (schema {r.to_version})"
    )
    ctx.obj.out(as_json).done(msg, asdict(r))


@app.command("check")
def db_check(
    ctx: typer.Context,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="SQLite's integrity_check (every index against its table) instead of "
            "quick_check: slower on a big file",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run SQLite's integrity and foreign-key checks, report dangling references and revision.

    SQLite's `PRAGMA quick_check` (with --full, `integrity_check`, which also compares every
    index with its table: several times longer on a big file) and foreign-key check, then every
    reference between records (each `*_id` column of a synced table and its `site_id`, a run's
    playbook@version, a route's stops, a conflict's record) reported when it names no row; the
    schema revision. Exit 1 if anything is wrong; a damaged file ends with one `error:` line and
    a hint to restore a backup."""
    from dataclasses import asdict

    from pm_cli.db import service

    report = service.check(ctx.obj.db_path, full=full)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(asdict(report))
    else:
        out.record(
            {
                "database": report.path,
                "schema": report.schema_version,
                "revision": f"{report.revision} (head {report.head})",
                "integrity": "ok" if not report.integrity else "; ".join(report.integrity[:5]),
                "foreign keys": "ok" if not report.foreign_keys else len(report.foreign_keys),
                "dangling refs": "none" if not report.dangling else len(report.dangling),
                **{f"{k} rows": n for k, n in report.counts.items()},
            }
        )
        for line in report.dangling[:20]:
            out.warn(line)
    if report.integrity:
        from pm_cli.errors import StoreError
        from pm_cli.store.engine import RESTORE_HINT

        n = len(report.integrity)
        pragma = "integrity_check" if full else "quick_check"
        raise StoreError(
            f"the database is damaged: {pragma} found {n} problem{'s' if n != 1 else ''}",
            where=report.path,
            hint=RESTORE_HINT,
        )
    if not report.ok:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("backup")
def db_backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="Backup file (or folder) to write")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Copy the database with SQLite's online backup API (safe while pm runs).

    The copy goes to `DEST.part`, is checked with `integrity_check`, and only then is renamed
    over DEST: a failed or interrupted backup (Ctrl-C) leaves no `.part` file and an older
    backup as it was."""
    from pm_cli.db import service

    path = service.backup(ctx.obj.db_path, dest, force=force)
    ctx.obj.out(as_json).done(f"backed up to {path}", {"backup": str(path)})
