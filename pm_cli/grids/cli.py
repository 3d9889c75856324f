"""pm grid …"""

from __future__ import annotations

from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row

app = typer.Typer(
    help="Grids (网格): areas with an owner, risk level, tags and duties.", no_args_is_help=True
)
duty_app = typer.Typer(help="A grid's responsibility list (责任清单).", no_args_is_help=True)
app.add_typer(duty_app, name="duty")

COLUMNS = ["code", "name", "parent", "owner", "risk_level", "tags", "responsibilities"]
RiskHelp = "minor|major|critical (一般|重要|重大)"


@app.command("add")
def grid_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Grid code, e.g. A-1F")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    parent: Annotated[str | None, typer.Option("--parent", help="Parent grid code")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner's staff code")] = None,
    risk: Annotated[str | None, typer.Option("--risk", help=RiskHelp)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable)")] = None,
    duty: Annotated[
        list[str] | None, typer.Option("--duty", help="A responsibility (repeatable)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a grid to the current site."""
    from pm_cli.grids import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        grid = service.add_grid(
            s,
            site=site,
            code=code,
            name=name,
            parent=parent,
            owner=owner,
            risk=risk,
            tags=tag or [],
            duties=duty or [],
        )
        rec = service.SiteView(s, site).record(grid)
    ctx.obj.out(as_json).done(f"added grid {rec['code']} ({rec['name']})", rec)


@app.command("list")
def grid_list(
    ctx: typer.Context,
    parent: Annotated[str | None, typer.Option("--parent", help="Only children of")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only grids owned by")] = None,
    risk: Annotated[str | None, typer.Option("--risk", help="Only this risk level")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only grids with this tag")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the grids of the current site."""
    from pm_cli.grids import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_grids(conn, site=site, parent=parent, owner=owner, risk=risk, tag=tag)
    ctx.obj.out(as_json).emit(
        rows, columns=COLUMNS[:-1], title=f"grids at {site.code}", one_per_code=True
    )


@app.command("show")
def grid_show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Grid code")],
    as_json: JsonOpt = False,
) -> None:
    """Show one grid with its owner, risk level, children and duties."""
    from pm_cli.grids import read

    with ctx.obj.connection() as conn:
        rec = read.show_grid(conn, site=current_site_row(ctx.obj, conn), code=code)
    ctx.obj.out(as_json).emit(rec)


@app.command("edit")
def grid_edit(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Grid code")],
    new_code: Annotated[str | None, typer.Option("--code", help="New code")] = None,
    name: Annotated[str | None, typer.Option("--name", help="New name")] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="New parent code ('' = top level)")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner ('' clears)")] = None,
    risk: Annotated[str | None, typer.Option("--risk", help=RiskHelp)] = None,
    tags: Annotated[
        str | None, typer.Option("--tags", help="Replace all tags: 'a;b' ('' clears)")
    ] = None,
    add_tag: Annotated[list[str] | None, typer.Option("--tag", help="Add a tag")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option("--untag", help="Remove a tag")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a grid; moving it under its own descendant is refused."""
    from pm_cli.grids import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        grid = service.edit_grid(
            s,
            site=site,
            code=code,
            new_code=new_code,
            name=name,
            parent=parent,
            owner=owner,
            risk=risk,
            tags=tags,
            add_tags=add_tag or [],
            remove_tags=remove_tag or [],
        )
        rec = service.SiteView(s, site).record(grid)
    ctx.obj.out(as_json).done(f"grid {rec['code']} saved", rec)


@app.command("assign")
def grid_assign(
    ctx: typer.Context,
    grid: Annotated[str, typer.Argument(help="Grid code")],
    staff: Annotated[str, typer.Argument(help="Staff code of the new owner")],
    as_json: JsonOpt = False,
) -> None:
    """Make a staff member the grid's owner (责任人)."""
    from pm_cli.grids import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        g = service.assign(s, site=site, code=grid, staff=staff)
        rec = service.SiteView(s, site).record(g)
    ctx.obj.out(as_json).done(f"grid {rec['code']} is now owned by {rec['owner']}", rec)


@app.command("remove")
def grid_remove(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Grid code")],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Also remove every grid below it")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove a grid (refused while it has children, unless --recursive)."""
    from pm_cli.grids import service

    with ctx.obj.session(write=True) as s:
        removed = service.remove_grid(
            s, site=current_site(ctx.obj, s), code=code, recursive=recursive
        )
    ctx.obj.out(as_json).done(
        f"removed {len(removed)} grid(s): {', '.join(removed)}", {"removed": removed}
    )


@app.command("tree")
def grid_tree(
    ctx: typer.Context,
    root: Annotated[str | None, typer.Argument(help="Start at this grid")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draw the grid hierarchy with owners and risk colours."""
    from pm_cli.grids import read, view

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        nodes = read.tree(conn, site=site, root=root)
    ctx.obj.out(as_json).tree(
        view.tree_display(nodes), title=f"{site.code} {site.name}", data=nodes
    )


@duty_app.command("add")
def duty_add(
    ctx: typer.Context,
    grid: Annotated[str, typer.Argument(help="Grid code")],
    text: Annotated[str, typer.Argument(help="The responsibility, e.g. 每日巡查消防通道")],
    as_json: JsonOpt = False,
) -> None:
    """Add a line to a grid's responsibility list."""
    from pm_cli.grids import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        g = service.get_grid(s, site=site, code=grid)
        service.add_duty(s, site=site, grid=g, text=text)
        rec = service.SiteView(s, site).record(g)
    ctx.obj.out(as_json).done(f"grid {rec['code']}: {len(rec['responsibilities'])} duties", rec)


@duty_app.command("list")
def duty_list(
    ctx: typer.Context,
    grid: Annotated[str, typer.Argument(help="Grid code")],
    as_json: JsonOpt = False,
) -> None:
    """List a grid's responsibilities, numbered."""
    from pm_cli.grids import service

    with ctx.obj.session() as s:
        g = service.get_grid(s, site=current_site(ctx.obj, s), code=grid)
        rows = [{"no": i, "text": d.text} for i, d in enumerate(service.duties(s, grid=g), 1)]
    ctx.obj.out(as_json).emit(rows, columns=["no", "text"], title=f"duties of {grid}")


@duty_app.command("remove")
def duty_remove(
    ctx: typer.Context,
    grid: Annotated[str, typer.Argument(help="Grid code")],
    number: Annotated[int, typer.Argument(help="Duty number from `pm grid duty list`")],
    as_json: JsonOpt = False,
) -> None:
    """Remove one responsibility by its number."""
    from pm_cli.grids import service

    with ctx.obj.session(write=True) as s:
        d = service.remove_duty(s, site=current_site(ctx.obj, s), code=grid, number=number)
    ctx.obj.out(as_json).done(f"removed duty: {d.text}", {"grid": grid, "text": d.text})
