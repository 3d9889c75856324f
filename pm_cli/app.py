"""The root `pm` command: global options, every feature's sub-app, errors → exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from pm_cli import __version__
from pm_cli.context import AppContext
from pm_cli.db import cli as db_cli
from pm_cli.demo import cli as demo_cli
from pm_cli.errors import PmError
from pm_cli.reports import cli as reports_cli
from pm_cli.schedules import cli as schedules_cli
from pm_cli.transfer import cli as transfer_cli

# The feature groups, built into click commands only when named on the command line (or
# listed by `pm --help`): typer reads every command's signature and type hints to build
# it, a few milliseconds each, a quarter of a second for the whole tree.
# The module of each is imported then too.
GROUPS: dict[str, str] = {
    "site": "pm_cli.sites.cli",
    "staff": "pm_cli.staff.cli",
    "grid": "pm_cli.grids.cli",
    "checkpoint": "pm_cli.checkpoints.cli",
    "route": "pm_cli.routes.cli",
    "playbook": "pm_cli.playbooks.cli",
    "run": "pm_cli.runs.cli",
    "pdca": "pm_cli.pdca.cli",
    "risk": "pm_cli.risks.cli",
    "drill": "pm_cli.drills.cli",
    "report": "pm_cli.reports.cli",
    "db": "pm_cli.db.cli",
    "sync": "pm_cli.sync.cli",
    "server": "pm_cli.server.cli",
}
# What a higher feature adds to a lower one's group, composed here so that the lower never
# imports the higher (ARCHITECTURE.md): commands ("module:typer app", each command of that app
# joins the group) and rules ("module", whose import registers the rule with the lower feature).
ADDED: dict[str, tuple[str, ...]] = {
    "grid": ("pm_cli.risks.cli:grid_app",),  # pm grid heatmap: risks, failures, items
    "route": ("pm_cli.schedules.cli:route_app",),  # pm route missed: the schedule's view
    "staff": ("pm_cli.grids.adds",),  # grids refuse removing a staff member who owns one
    "run": ("pm_cli.sync.adds",),  # pm run show --photos downloads through the server
}


def install_bundled_playbooks(session: Any) -> None:
    """`pm init` and `pm db migrate`: the playbooks this pm ships, new versions added."""
    from pm_cli.playbooks.service import install_bundled

    install_bundled(session)


db_cli.SETUP.append(install_bundled_playbooks)

# where each comes in `pm --help`: after the root's own commands, schedule before db
HELP_ORDER = (
    "site",
    "staff",
    "grid",
    "checkpoint",
    "route",
    "playbook",
    "run",
    "pdca",
    "risk",
    "drill",
    "report",
    "schedule",
    "db",
    "sync",
    "server",
)


class PmGroup(typer.core.TyperGroup):
    """Maps PmError to `error:`/`hint:` lines and its exit code, once, for every command;
    so too a SQLite failure no session scope translated (a disk full, a damaged file …
    met by plain sqlite3, Alembic or a server command), and Ctrl-C. Builds a feature's
    group the first time it is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        own = [n for n in super().list_commands(ctx) if n not in HELP_ORDER]
        return [*own, *(n for n in HELP_ORDER if n in GROUPS or n in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in GROUPS and cmd_name not in self.commands:
            from importlib import import_module

            from typer.models import TyperInfo

            sub = import_module(GROUPS[cmd_name]).app
            group = typer.main.get_group_from_info(
                TyperInfo(sub, name=cmd_name),
                pretty_exceptions_short=True,
                suggest_commands=True,
                rich_markup_mode=None,
            )
            for added in ADDED.get(cmd_name, ()):
                module, _, attr = added.partition(":")
                if attr:
                    more = typer.main.get_group(getattr(import_module(module), attr))
                    for name, command in more.commands.items():
                        group.add_command(command, name)
                else:
                    import_module(module)
            self.add_command(group, cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """typer suggests from the groups already built; suggest from every name."""
        click_usage_error: type[Exception] = typer.BadParameter.__mro__[1]
        try:
            return super().resolve_command(ctx, args)
        except click_usage_error as e:
            message = getattr(e, "message", "")
            if args and "Did you mean" not in message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    e.message = (  # type: ignore[attr-defined]
                        message.rstrip(".")
                        + ". Did you mean "
                        + ", ".join(repr(m) for m in matches)
                        + "?"
                    )
            raise

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
            output.error(
                UsageError(
                    e.format_message(),  # type: ignore[attr-defined]
                    where=where,
                    hint=f"{where or 'pm'} --help lists the arguments and options",
                ),
                as_json=True,
            )
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
    return "--json" in (args[: args.index("--")] if "--" in args else args)


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
schedules_cli.register(app)
transfer_cli.register(app)
demo_cli.register(app)
app.command("dashboard")(reports_cli.dashboard)


def command_tree() -> Any:
    """The whole click command tree, every group built (completion, docs, tests)."""
    root = typer.main.get_command(app)
    for name in root.list_commands(None):  # type: ignore[attr-defined]
        root.get_command(None, name)  # type: ignore[attr-defined]
    return root


def main() -> None:
    if os.environ.get("_PM_COMPLETE"):  # the shell asks for completions (pm --install-completion)
        from pm_cli import completion

        command = command_tree()
        completion.attach(command)
        command.main(prog_name="pm")
        return
    app(prog_name="pm")
