"""pm playbook …"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pm_cli.cli_common import JsonOpt

app = typer.Typer(
    help="Playbooks: the standardized checklists (98-step manuals) as YAML.", no_args_is_help=True
)

Paths = Annotated[list[Path], typer.Argument(help="Playbook files or folders of them")]


@app.command("list")
def playbook_list(
    ctx: typer.Context,
    service_: Annotated[str | None, typer.Option("--service", help="Only this service")] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Every stored version, not just the newest")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List installed playbooks (the newest version of each).

    With --json: each one's id, version, service, title and steps."""
    from pm_cli.playbooks import service

    with ctx.obj.session() as s:
        rows = service.list_playbooks(s, service=service_, all_versions=all_versions)
    ctx.obj.out(as_json).emit(
        rows, columns=["id", "version", "service", "steps", "title"], title="playbooks"
    )


@app.command("show")
def playbook_show(
    ctx: typer.Context,
    playbook: Annotated[str, typer.Argument(help="Playbook id, or ID@VERSION")],
    version: Annotated[int | None, typer.Option("--version", help="A stored version")] = None,
    yaml_: Annotated[bool, typer.Option("--yaml", help="Print the YAML as written")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a playbook with its steps.

    With --json: the playbook as in its YAML, ranges with both keys."""
    import sys

    from pm_cli.playbooks import service

    with ctx.obj.session() as s:
        pinned = service.get(s, playbook, version)
    out = ctx.obj.out(as_json)
    if yaml_:
        sys.stdout.write(pinned.yaml if pinned.yaml.endswith("\n") else pinned.yaml + "\n")
        return
    doc = {**pinned.playbook.to_json(), "sha256": pinned.sha256}
    if out.as_json:
        out.json(doc)
        return
    p = pinned.playbook
    out.record(
        {
            "id": f"{p.id}@{p.version}",
            "title": p.title,
            "service": p.service,
            "schedule": p.schedule or "on demand",
            "minutes": p.estimated_minutes,
            "steps": len(p.steps),
            "sha256": pinned.sha256[:16],
        }
    )
    out.table(
        [
            {
                "#": i,
                "step": st.id,
                "title": st.title,
                "kind": st.kind,
                "accept": (st.range.describe(st.unit) if st.range else st.acceptance),
                "severity": st.severity,
                "evidence": st.evidence,
            }
            for i, st in enumerate(p.steps, 1)
        ],
        ["#", "step", "title", "kind", "accept", "severity", "evidence"],
    )


@app.command("import")
def playbook_import(ctx: typer.Context, paths: Paths, as_json: JsonOpt = False) -> None:
    """Install playbook files (or folders of them); the same id@version with other content
    is refused."""
    from dataclasses import asdict

    from pm_cli.playbooks import service

    items = service.load_files(paths)
    with ctx.obj.session(write=True) as s:
        results = service.install(s, items)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json([asdict(r) for r in results])
        return
    for r in results:
        out.done(f"{r.status:9} {r.id}@{r.version}  ({r.file})")


@app.command("diff")
def playbook_diff(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Playbook id, or a YAML file to compare")],
    old: Annotated[int | None, typer.Option("--from", help="Older version")] = None,
    new: Annotated[int | None, typer.Option("--to", help="Newer version")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What changed between two versions (or a file and its installed version).

    The steps added, removed and changed: between two versions of a playbook id (--from,
    --to), or between a YAML file and the installed version of its id."""
    from pm_cli.playbooks import service

    path = Path(target)
    is_file = path.suffix in (".yaml", ".yml") and path.exists()
    with ctx.obj.session() as s:
        d = service.diff(s, target, old=old, new=new, path=path if is_file else None)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(d)
        return
    from pm_cli.output import plain

    lines = [f"{d['from']} → {d['to']}"]
    lines += [f"  ~ {k}: {plain(v['from'])} → {plain(v['to'])}" for k, v in d["playbook"].items()]
    lines += [f"  + step {sid}" for sid in d["added"]]
    lines += [f"  - step {sid}" for sid in d["removed"]]
    for sid, fields in d["changed"].items():
        lines += [
            f"  ~ step {sid}.{k}: {plain(v['from'])} → {plain(v['to'])}" for k, v in fields.items()
        ]
    if d["reordered"]:
        lines.append("  ~ steps reordered")
    if len(lines) == 1:
        lines.append("  no difference")
    out.lines(lines)


@app.command("lint")
def playbook_lint(ctx: typer.Context, paths: Paths, as_json: JsonOpt = False) -> None:
    """Check playbook files: every problem as FILE:LINE:COL; exit 1 if there is any.

    One line each, `FILE:LINE:COL: reason`: YAML errors, unknown keys, duplicate steps, ranges,
    RRULEs, and an installed id@version whose content the file changes."""
    from pm_cli.errors import InputError
    from pm_cli.playbooks import lint

    report = lint.lint_paths(paths, db=ctx.obj.db_path_if_ready())
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(
            {
                "files": report.files,
                "problems": [{"where": p.where, "message": p.message} for p in report.problems],
            }
        )
    if report.problems:
        raise InputError(report.problems, source=f"{report.files} file(s)", outcome=None)
    out.done(f"{report.files} playbook file(s) clean")


@app.command("schema")
def playbook_schema() -> None:
    """Print the playbook JSON Schema (for editors with yaml-language-server)."""
    import json
    import sys

    from pm_cli.playbooks.spec import json_schema

    sys.stdout.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
