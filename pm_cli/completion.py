"""Shell completion of codes from the database and of enum values (typer's `autocompletion`):
every callback is quick, reads only, and on any trouble completes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pm_cli.validate import RISK_LEVELS, ROLES


def _where(ctx: Any) -> tuple[Path | None, str | None]:
    """The database and site this command line names (--db, --site, env, config)."""
    from pm_cli import config

    root = ctx.find_root() if ctx is not None else None
    params = root.params if root is not None else {}
    try:
        return config.resolve_db_path(params.get("db")), config.current_site_code(
            params.get("site")
        )
    except Exception:  # a broken config file: complete nothing
        return None, None


def _codes(table: str, ctx: Any, incomplete: str) -> list[str]:
    from pm_cli.store.complete import codes

    db, site = _where(ctx)
    return codes(db, table, incomplete, site) if db else []


def grids(ctx: Any, incomplete: str) -> list[str]:
    return _codes("grid", ctx, incomplete)


def staff(ctx: Any, incomplete: str) -> list[str]:
    return _codes("staff", ctx, incomplete)


def checkpoints(ctx: Any, incomplete: str) -> list[str]:
    return _codes("checkpoint", ctx, incomplete)


def routes(ctx: Any, incomplete: str) -> list[str]:
    return _codes("route", ctx, incomplete)


def risks(ctx: Any, incomplete: str) -> list[str]:
    return _codes("risk", ctx, incomplete)


def drills(ctx: Any, incomplete: str) -> list[str]:
    return _codes("drill", ctx, incomplete)


def sites(ctx: Any, incomplete: str) -> list[str]:
    return _codes("site", ctx, incomplete)


def playbooks(ctx: Any, incomplete: str) -> list[str]:
    return _codes("playbook", ctx, incomplete)


def runs(ctx: Any, incomplete: str) -> list[str]:
    from pm_cli.store.complete import run_ids

    db, site = _where(ctx)
    return run_ids(db, incomplete, site) if db else []


def _choices(values: tuple[str, ...], incomplete: str) -> list[str]:
    return [v for v in values if v.startswith(incomplete)]


def levels(_ctx: Any, incomplete: str) -> list[str]:
    return _choices(RISK_LEVELS, incomplete)


def roles(_ctx: Any, incomplete: str) -> list[str]:
    return _choices(ROLES, incomplete)


def phases(_ctx: Any, incomplete: str) -> list[str]:
    from pm_cli.protocol.rules import PHASES

    return _choices(PHASES, incomplete)


def results(_ctx: Any, incomplete: str) -> list[str]:
    from pm_cli.protocol.rules import RESULTS

    return _choices(RESULTS, incomplete)


def run_statuses(_ctx: Any, incomplete: str) -> list[str]:
    from pm_cli.runs.service import STATUSES

    return _choices(STATUSES, incomplete)


def drill_kinds(_ctx: Any, incomplete: str) -> list[str]:
    from pm_cli.drills.service import KINDS

    return _choices(KINDS, incomplete)


def scenarios(_ctx: Any, incomplete: str) -> list[str]:
    try:
        from pm_cli.drills import scenario

        return _choices(tuple(scenario.library()), incomplete)
    except Exception:
        return []


Completer = Any  # (ctx, incomplete) -> list[str]

# A command's argument by its group and name (a code argument takes its own group's codes)
ARGUMENTS: dict[tuple[str, str], Completer] = {
    ("grid", "code"): grids,
    ("grid", "grid"): grids,
    ("grid", "staff"): staff,
    ("staff", "code"): staff,
    ("checkpoint", "code"): checkpoints,
    ("route", "code"): routes,
    ("risk", "code"): risks,
    ("drill", "code"): drills,
    ("site", "code"): sites,
    ("playbook", "playbook"): playbooks,
    ("playbook", "target"): playbooks,
    ("run", "playbook"): playbooks,
    ("run", "run"): runs,
    ("pdca", "staff"): staff,
}
# An option by its name anywhere (but the server's), or by its group and name
OPTIONS: dict[str, Completer] = {
    "--grid": grids,
    "--parent": grids,
    "--from-grid": grids,
    "--owner": staff,
    "--by": staff,
    "--playbook": playbooks,
    "--route": routes,
    "--start": checkpoints,
    "--end": checkpoints,
    "--risk": levels,
    "--severity": levels,
    "--level": levels,
    "--scenario": scenarios,
    "--role": roles,
    "--site": sites,
}
GROUP_OPTIONS: dict[tuple[str, str], Completer] = {
    ("pdca", "--to"): phases,
    ("pdca", "--result"): results,
    ("run", "--status"): run_statuses,
    ("drill", "--kind"): drill_kinds,
}


def _safe(fn: Completer) -> Any:
    def complete(ctx: Any, _param: Any, incomplete: str) -> list[str]:
        try:
            return list(fn(ctx, incomplete))
        except Exception:  # a Tab press never prints a traceback
            return []

    return complete


def attach(command: Any, group: str = "") -> None:
    """Give the click command tree its completers (only when the shell asks for completion,
    so a normal start does not pay for it). Sets click's per-parameter hook, the one typer's
    own `autocompletion=` sets."""
    if group == "server":
        return
    for param in getattr(command, "params", []):
        fn = None
        if param.param_type_name == "argument":
            fn = ARGUMENTS.get((group, param.name or ""))
        else:
            for opt in param.opts:
                fn = GROUP_OPTIONS.get((group, opt)) or OPTIONS.get(opt)
                if fn:
                    break
        if fn is not None:
            param._custom_shell_complete = _safe(fn)
    for name, sub in getattr(command, "commands", {}).items():
        attach(sub, group or name)
