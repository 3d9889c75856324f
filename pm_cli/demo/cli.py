"""pm demo"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)


def demo(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database file to build the demo in [default: the global --db]"),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Rebuild: replace the database file when site CH is in it"),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build a demo site (翠湖花园, CH): staff, grids, runs, items, risks, drills, routes;
    then draw its grid tree."""
    import shlex

    from pm_cli.context import AppContext
    from pm_cli.demo import service
    from pm_cli.grids import service as grids
    from pm_cli.grids import view

    app = AppContext(
        db=str(db) if db else ctx.obj.db, site=service.SITE_CODE, as_json=ctx.obj.as_json
    )
    path = app.db_path
    service.prepare(path, force=force)
    from pm_cli.runs.evidence import evidence_dir

    with app.session(write=True) as s:
        built = service.build_demo(s, store_dir=evidence_dir(path))
    with app.session() as s:
        site = current_site(app, s)
        nodes = grids.tree(s, site=site)
    out = app.out(as_json)
    out.tree(view.tree_display(nodes), title=f"{site.code} {site.name}", data=nodes)
    out.note(
        f"built demo site {site.code} ({site.name}): {built.staff} staff, "
        f"{built.grids} grids, {built.runs} checklist runs over the last week, "
        f"{built.risks} risks, improvement items in every phase, {built.drill_runs} drill "
        f"runs over the last year, {built.checkpoints} checkpoints on {built.routes} "
        "routes walked each day (one night missed)"
    )
    if not out.as_json:
        out.note(f"next: pm --db {shlex.quote(str(path))} --site {site.code} grid list")
