"""pm checkpoint …"""

from __future__ import annotations

from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site

app = typer.Typer(help="Checkpoints: the places inspection routes stop at.", no_args_is_help=True)

CodeArg = Annotated[str, typer.Argument(help="Checkpoint code, e.g. CP-A-01")]
COLUMNS = ["code", "name", "grid", "x", "y", "lat", "lon", "tag_uid", "tags"]


@app.command("add")
def checkpoint_add(
    ctx: typer.Context,
    code: CodeArg,
    name: Annotated[str, typer.Option("--name", help="Display name")],
    grid: Annotated[str, typer.Option("--grid", help="Grid code")],
    x: Annotated[float | None, typer.Option("--x", help="Metres east on the site plan")] = None,
    y: Annotated[float | None, typer.Option("--y", help="Metres north on the site plan")] = None,
    lat: Annotated[float | None, typer.Option("--lat", help="Latitude")] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="Longitude")] = None,
    tag_uid: Annotated[str | None, typer.Option("--tag-uid", help="QR/NFC tag id")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a checkpoint to a grid: a place an inspection stops at.

    Where it is: metres on the site plan (--x, --y) or --lat/--lon; an optional QR/NFC tag
    (--tag-uid, unique in the site)."""
    from pm_cli.checkpoints import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        cp = service.add_checkpoint(
            s,
            site=site,
            code=code,
            name=name,
            grid=grid,
            x=x,
            y=y,
            lat=lat,
            lon=lon,
            tag_uid=tag_uid,
            tags=tag or [],
        )
        rec = service.record(cp, service.grid_codes(s, site))
    ctx.obj.out(as_json).done(f"added checkpoint {rec['code']} ({rec['name']})", rec)


@app.command("list")
def checkpoint_list(
    ctx: typer.Context,
    grid: Annotated[str | None, typer.Option("--grid", help="In this grid and below")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="With this tag")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List checkpoints."""
    from pm_cli.checkpoints import service

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rows = service.list_checkpoints(s, site=site, grid=grid, tag=tag)
    ctx.obj.out(as_json).emit(
        rows, columns=COLUMNS, title=f"checkpoints at {site.code}", one_per_code=True
    )


@app.command("show")
def checkpoint_show(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Show one checkpoint."""
    from pm_cli.checkpoints import service

    with ctx.obj.session() as s:
        rec = service.show(s, site=current_site(ctx.obj, s), code=code)
    ctx.obj.out(as_json).emit(rec)


@app.command("edit")
def checkpoint_edit(
    ctx: typer.Context,
    code: CodeArg,
    new_code: Annotated[str | None, typer.Option("--code", help="New code")] = None,
    name: Annotated[str | None, typer.Option("--name", help="New name")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Move to this grid")] = None,
    x: Annotated[float | None, typer.Option("--x", help="Metres east")] = None,
    y: Annotated[float | None, typer.Option("--y", help="Metres north")] = None,
    lat: Annotated[float | None, typer.Option("--lat", help="Latitude")] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="Longitude")] = None,
    tag_uid: Annotated[str | None, typer.Option("--tag-uid", help="QR/NFC tag ('' clears)")] = None,
    tags: Annotated[str | None, typer.Option("--tags", help="Replace tags: 'a;b'")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a checkpoint."""
    from pm_cli.checkpoints import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        cp = service.edit_checkpoint(
            s,
            site=site,
            code=code,
            new_code=new_code,
            name=name,
            grid=grid,
            x=x,
            y=y,
            lat=lat,
            lon=lon,
            tag_uid=tag_uid,
            tags=tags,
        )
        rec = service.record(cp, service.grid_codes(s, site))
    ctx.obj.out(as_json).done(f"checkpoint {rec['code']} saved", rec)


@app.command("remove")
def checkpoint_remove(ctx: typer.Context, code: CodeArg, as_json: JsonOpt = False) -> None:
    """Remove a checkpoint."""
    from pm_cli.checkpoints import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        cp = service.remove_checkpoint(s, site=site, code=code)
        rec = service.record(cp, service.grid_codes(s, site))
    ctx.obj.out(as_json).done(f"removed checkpoint {rec['code']}", rec)
