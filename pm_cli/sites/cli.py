"""pm site …"""

from __future__ import annotations

from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site

app = typer.Typer(
    help="Sites (properties): add, list, show, edit, pick the current one.", no_args_is_help=True
)

COLUMNS = ["code", "name", "tz", "address"]


@app.command("add")
def site_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Short code people type, e.g. CH")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    tz: Annotated[
        str | None, typer.Option("--tz", help="IANA time zone, e.g. Asia/Shanghai")
    ] = None,
    address: Annotated[str | None, typer.Option("--address", help="Street address")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a site."""
    from pm_cli.sites import service

    with ctx.obj.session(write=True) as s:
        site = service.add_site(s, code=code, name=name, tz=tz, address=address)
        rec = service.record(site)
    ctx.obj.out(as_json).done(f"added site {rec['code']} ({rec['name']})", rec)


@app.command("list")
def site_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List sites."""
    from pm_cli.sites import service

    with ctx.obj.session() as s:
        rows = [service.record(x) for x in service.list_sites(s)]
    ctx.obj.out(as_json).emit(rows, columns=COLUMNS, title="sites", one_per_code=True)


@app.command("show")
def site_show(
    ctx: typer.Context,
    code: Annotated[
        str | None, typer.Argument(help="Site code [default: the current site]")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one site (the current one by default)."""
    from pm_cli.sites import service

    with ctx.obj.session() as s:
        site = service.get_site(s, code) if code else current_site(ctx.obj, s)
        rec = service.record(site)
    ctx.obj.out(as_json).emit(rec)


@app.command("edit")
def site_edit(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Site code")],
    new_code: Annotated[str | None, typer.Option("--code", help="New code")] = None,
    name: Annotated[str | None, typer.Option("--name", help="New name")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="IANA time zone ('' clears)")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Address ('' clears)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a site's code, name, time zone or address."""
    from pm_cli import config
    from pm_cli.sites import service

    with ctx.obj.session(write=True) as s:
        site = service.edit_site(s, code, new_code=new_code, name=name, tz=tz, address=address)
        rec = service.record(site)
    if rec["code"] != code and config.read_config().get("site") == code:
        config.write_config(site=rec["code"])  # keep `pm site use` pointing at the same site
    ctx.obj.out(as_json).done(f"site {rec['code']} saved", rec)


@app.command("use")
def site_use(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Site code to make current")],
    as_json: JsonOpt = False,
) -> None:
    """Make a site the current one for later commands (saved in the user config file)."""
    from pm_cli import config
    from pm_cli.sites import service

    with ctx.obj.session() as s:
        rec = service.record(service.get_site(s, code))
    path = config.write_config(site=rec["code"])
    ctx.obj.out(as_json).done(f"current site: {rec['code']} ({rec['name']}); saved in {path}", rec)
