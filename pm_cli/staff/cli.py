"""pm staff …"""

from __future__ import annotations

from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site

app = typer.Typer(
    help="Staff of the current site: add, list, show, edit, remove, use.", no_args_is_help=True
)

COLUMNS = ["code", "name", "role", "phone", "team"]
RoleHelp = "admin|manager|lead|tech (管理员|经理|班长|技术员)"


@app.command("add")
def staff_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Staff code, e.g. S001")],
    name: Annotated[str, typer.Option("--name", help="Full name")],
    role: Annotated[str, typer.Option("--role", help=RoleHelp)],
    phone: Annotated[str | None, typer.Option("--phone", help="Phone number")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team or shift")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a staff member to the current site."""
    from pm_cli.staff import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        rec = service.record(
            service.add_staff(s, site=site, code=code, name=name, role=role, phone=phone, team=team)
        )
    ctx.obj.out(as_json).done(f"added staff {rec['code']} ({rec['name']}, {rec['role']})", rec)


@app.command("list")
def staff_list(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option("--role", help="Only this role")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the staff of the current site."""
    from pm_cli.staff import service

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rows = [service.record(x) for x in service.list_staff(s, site=site, role=role)]
    ctx.obj.out(as_json).emit(
        rows, columns=COLUMNS, title=f"staff at {site.code}", one_per_code=True
    )


@app.command("show")
def staff_show(
    ctx: typer.Context,
    code: Annotated[
        str | None, typer.Argument(help="Staff code [default: me, from `pm staff use`]")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one staff member (yourself by default)."""
    from pm_cli.staff import service

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        staff = (
            service.get_staff(s, site=site, code=code)
            if code
            else service.get_me(s, site=site, code=ctx.obj.me())
        )
        rec = service.record(staff)
    ctx.obj.out(as_json).emit(rec)


@app.command("edit")
def staff_edit(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Staff code")],
    new_code: Annotated[str | None, typer.Option("--code", help="New code")] = None,
    name: Annotated[str | None, typer.Option("--name", help="New name")] = None,
    role: Annotated[str | None, typer.Option("--role", help=RoleHelp)] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Phone ('' clears)")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team ('' clears)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a staff member's code, name, role, phone or team."""
    from pm_cli.staff import service

    with ctx.obj.session(write=True) as s:
        rec = service.record(
            service.edit_staff(
                s,
                site=current_site(ctx.obj, s),
                code=code,
                new_code=new_code,
                name=name,
                role=role,
                phone=phone,
                team=team,
            )
        )
    ctx.obj.out(as_json).done(f"staff {rec['code']} saved", rec)


@app.command("remove")
def staff_remove(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Staff code")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a staff member (refused while they own grids)."""
    from pm_cli.staff import service

    with ctx.obj.session(write=True) as s:
        rec = service.record(service.remove_staff(s, site=current_site(ctx.obj, s), code=code))
    ctx.obj.out(as_json).done(f"removed staff {rec['code']} ({rec['name']})", rec)


@app.command("use")
def staff_use(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Your staff code")],
    as_json: JsonOpt = False,
) -> None:
    """Say who "me" is for --by defaults and `pm today` (saved in the user config file)."""
    from pm_cli import config
    from pm_cli.staff import service

    with ctx.obj.session() as s:
        rec = service.record(service.get_staff(s, site=current_site(ctx.obj, s), code=code))
    path = config.write_config(me=rec["code"])
    ctx.obj.out(as_json).done(f"you are {rec['code']} ({rec['name']}); saved in {path}", rec)
