"""The root `pm` command: global options, every feature's sub-app, errors → exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from pm_cli import __version__
from pm_cli.checkpoints import cli as checkpoints_cli
from pm_cli.context import AppContext
from pm_cli.db import cli as db_cli
from pm_cli.demo import cli as demo_cli
from pm_cli.drills import cli as drills_cli
from pm_cli.errors import PmError
from pm_cli.grids import cli as grids_cli
from pm_cli.pdca import cli as pdca_cli
from pm_cli.playbooks import cli as playbooks_cli
from pm_cli.risks import cli as risks_cli
from pm_cli.routes import cli as routes_cli
from pm_cli.runs import cli as runs_cli
from pm_cli.schedules import cli as schedules_cli
from pm_cli.server import cli as server_cli
from pm_cli.sites import cli as sites_cli
from pm_cli.staff import cli as staff_cli
from pm_cli.sync import cli as sync_cli
from pm_cli.transfer import cli as transfer_cli


class PmGroup(typer.core.TyperGroup):
    """Maps PmError to `error:`/`hint:` lines and its exit code, once, for every command;
    so too a SQLite failure no session scope translated (a disk full, a damaged file …
    met by plain sqlite3, Alembic or a server command), and Ctrl-C."""

    def invoke(self, ctx: Any) -> Any:
        from pm_cli import output

        # click's UsageError, wherever this typer keeps click (0.28 vendors it as typer._click)
        click_usage_error: type[Exception] = typer.BadParameter.__mro__[1]
        before = _writes_state()[0]  # a process may run many commands (tests, scripts)
        as_json = _json_asked(ctx)
        try:
            return super().invoke(ctx)
        except PmError as e:
            output.error(e, as_json=as_json, tz=_zone(ctx))
            raise typer.Exit(int(e.exit_code)) from None
        except click_usage_error as e:
            if not as_json:
                raise
            from pm_cli.errors import UsageError

            e_ctx = getattr(e, "ctx", None)
            where = e_ctx.command_path if e_ctx is not None else None
            output.error(UsageError(e.format_message(), where=where,  # type: ignore[attr-defined]
                                    hint=f"{where or 'pm'} --help lists the arguments and options"),
                         as_json=True)
            raise typer.Exit(int(getattr(e, "exit_code", 2))) from None
        except KeyboardInterrupt:
            committed, uncertain = _writes_state()
            output.interrupted(committed - before, uncertain)
            raise typer.Exit(130) from None
        except Exception as e:
            err = _store_error(e, ctx)
            if err is None:
                raise
            output.error(err, as_json=as_json, tz=_zone(ctx))
            raise typer.Exit(int(err.exit_code)) from None


def _zone(ctx: Any) -> str | None:
    obj = getattr(ctx, "obj", None)
    return obj.zone if isinstance(obj, AppContext) else None


def _json_asked(ctx: Any) -> bool:
    """--json given to the root or to the command about to run (its tokens before `--`)."""
    if ctx.params.get("as_json"):
        return True
    args = [*getattr(ctx, "protected_args", []), *ctx.args]
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def _writes_state() -> tuple[int, bool]:
    engine = sys.modules.get("pm_cli.store.engine")  # not loaded: nothing was written
    return engine.writes_state() if engine is not None else (0, False)


def _store_error(e: Exception, ctx: Any) -> PmError | None:
    """A StoreError for a SQLite failure, naming the laptop's database if this command had
    opened it (a server command's database is named by its own messages)."""
    if "sqlite3" not in sys.modules:
        return None
    from pm_cli.store import engine

    obj = getattr(ctx, "obj", None)
    path = None
    if isinstance(obj, AppContext) and obj.engine_opened:
        try:
            path = obj.db_path
        except Exception:  # only the name in the message is at stake
            path = None
    return engine.translate(e, path)


app = typer.Typer(
    cls=PmGroup,
    name="pm",
    help="Operations tool for field property managers: sites, grids, routes, checklists, "
    "drills and PDCA improvement items, on a local SQLite file that syncs.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=bool(os.environ.get("PM_DEBUG")),
    pretty_exceptions_short=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"pm {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database file [env PM_DB; default: user data dir]"),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option("--site", help="Site code [env PM_SITE; default: `pm site use`]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
    version: Annotated[  # noqa: ARG001 (handled eagerly by _version)
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version"),
    ] = False,
) -> None:
    ctx.obj = AppContext(db=db, site=site, as_json=as_json)


db_cli.register(app)
app.add_typer(sites_cli.app, name="site")
app.add_typer(staff_cli.app, name="staff")
app.add_typer(grids_cli.app, name="grid")
app.add_typer(checkpoints_cli.app, name="checkpoint")
app.add_typer(routes_cli.app, name="route")
app.add_typer(playbooks_cli.app, name="playbook")
app.add_typer(runs_cli.app, name="run")
app.add_typer(pdca_cli.app, name="pdca")
app.add_typer(risks_cli.app, name="risk")
app.add_typer(drills_cli.app, name="drill")
schedules_cli.register(app)
transfer_cli.register(app)
demo_cli.register(app)
app.add_typer(db_cli.app, name="db")
app.add_typer(sync_cli.app, name="sync")
app.add_typer(server_cli.app, name="server")


def main() -> None:
    if os.environ.get("_PM_COMPLETE"):  # the shell asks for completions (pm --install-completion)
        from pm_cli import completion

        command = typer.main.get_command(app)
        completion.attach(command)
        command.main(prog_name="pm")
        return
    app(prog_name="pm")
