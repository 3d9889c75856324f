"""pm pdca …"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row
from pm_cli.staff.context import me_id

app = typer.Typer(
    help="PDCA improvement items: plan → do → check → act → closed, with SLAs.",
    no_args_is_help=True,
)

NoArg = Annotated[str, typer.Argument(help="Item number, e.g. 17 or #17")]
COLUMNS = ["no", "phase", "severity", "title", "grid", "owner", "due", "overdue"]


def _table(out: Any, rows: list[dict[str, Any]], tz: str | None, title: str) -> None:
    from pm_cli.timefmt import local

    shown = [
        {
            **r,
            "no": r["label"],
            "due": local(
                r["resolve_by"] if r["responded_at"] else r["respond_by"], tz, "%m-%d %H:%M"
            ),
            "overdue": ", ".join(r["overdue"]),
        }
        for r in rows
    ]
    out.table(shown, COLUMNS, title=title)


def _show(out: Any, rec: dict[str, Any], tz: str | None) -> None:
    from pm_cli.timefmt import local

    if out.as_json:
        out.json(rec)
        return
    w = rec["withdrawn"]
    nxt = " or ".join(rec["next"]) or ("— (withdrawn)" if w else "— (closed; pm pdca reopen)")
    out.record(
        {
            "item": f"{rec['label']} {rec['title']}",
            "phase": f"{rec['phase']} (cycle {rec['cycle']})",
            "next": nxt,
            "severity": rec["severity"],
            "source": rec["source"] + (f" {rec['source_ref'][-8:]}" if rec["source_ref"] else ""),
            "grid": rec["grid"],
            "owner": rec["owner"],
            "found": local(rec["found_at"], tz),
            "respond by": local(rec["respond_by"], tz),
            "resolve by": local(rec["resolve_by"], tz),
            "overdue": ", ".join(rec["overdue"]) or None,
            "occurrences": rec["occurrences"],
            "withdrawn": (
                f"{local(w['at'], tz)} by {w['by'] or '—'} in {w['phase']}: {w['reason']}"
            )
            if w
            else None,
            "plan": rec["plan"],
            "containment": rec["containment"],
            "root cause": rec["root_cause"],
            "corrective": rec["corrective"],
            "preventive": rec["preventive"],
        }
    )
    if len(rec["cycles"]) > 1:
        out.table(
            [
                {
                    "cycle": c["cycle"],
                    "started": local(c["started_at"], tz, "%m-%d %H:%M"),
                    "respond by": local(c["respond_by"], tz, "%m-%d %H:%M"),
                    "responded": local(c["responded_at"], tz, "%m-%d %H:%M"),
                    "resolve by": local(c["resolve_by"], tz, "%m-%d %H:%M"),
                    "checked": local(c["checked_at"], tz, "%m-%d %H:%M"),
                }
                for c in rec["cycles"]
            ],
            ["cycle", "started", "respond by", "responded", "resolve by", "checked"],
            title="SLA per cycle",
        )
    out.table(
        [
            {
                "at": local(h["at"], tz, "%m-%d %H:%M"),
                "event": h["kind"],
                "phase": f"{h['from']} → {h['to']}" if h["to"] else "",
                "by": h["by"],
                "note": h["note"],
            }
            for h in rec["history"]
        ],
        ["at", "event", "phase", "by", "note"],
        title="history",
    )


@app.command("add")
def pdca_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What is wrong, in a line")],
    severity: Annotated[str, typer.Option("--severity", help="minor|major|critical")],
    grid: Annotated[str | None, typer.Option("--grid", help="Grid code")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Staff code [default: the grid's owner]")
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="KIND[:REF]: step|drill|risk|complaint|audit|manual")
    ] = "manual",
    description: Annotated[str | None, typer.Option("--description", help="5W2H")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open an improvement item (routed to the grid's owner, else the site manager).

    Items are numbered per site (#17); respond-by and resolve-by come from the site's SLA
    (`pm pdca sla`)."""
    from pm_cli.pdca import service

    kind, _, ref = source.partition(":")
    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        opened = service.add_item(
            s,
            site=site,
            title=title,
            severity=severity,
            grid=grid,
            owner=owner,
            source=kind,
            source_ref=ref or None,
            description=description,
            by_id=me_id(ctx.obj, s, site),
        )
        s.flush()
        rec = service.show(s, site=site, no=service.ref(opened.item))
    ctx.obj.out(as_json).created(
        f"opened {rec['label']} ({rec['severity']}), owner {rec['owner'] or 'nobody yet'}",
        rec["ref"],
        rec,
    )


@app.command("list")
def pdca_list(
    ctx: typer.Context,
    phase: Annotated[
        str | None, typer.Option("--phase", help="plan|do|check|act|closed|withdrawn")
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="Only this severity")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Only this grid")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed and withdrawn items")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List open items (with --all, closed and withdrawn ones too)."""
    from pm_cli.pdca import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_items(
            conn,
            site=site,
            phase=phase,
            severity=severity,
            grid=grid,
            owner=owner,
            include_closed=all_,
        )
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
    else:
        _table(out, rows, site.tz, f"improvement items at {site.code}")


@app.command("overdue")
def pdca_overdue(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Items past their respond-by or resolve-by time (SLA breaches).

    Not responded: still in plan at respond-by; not resolved: check not reached by
    resolve-by."""
    from pm_cli.pdca import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = read.list_items(conn, site=site, overdue_only=True)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
    else:
        _table(out, rows, site.tz, f"overdue items at {site.code}")


@app.command("show")
def pdca_show(ctx: typer.Context, no: NoArg, as_json: JsonOpt = False) -> None:
    """Show an item with its phase, SLA clocks and full history.

    From cycle 2 on, each cycle's respond-by and resolve-by too (--json: `cycles`)."""
    from pm_cli.pdca import read

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rec = read.show(conn, site=site, no=no)
    _show(ctx.obj.out(as_json), rec, site.tz)


@app.command("advance")
def pdca_advance(
    ctx: typer.Context,
    no: NoArg,
    to: Annotated[str, typer.Option("--to", help="do|check|act|closed|plan")],
    plan: Annotated[str | None, typer.Option("--plan", help="The plan (to do)")] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="Completion (to check) or standardisation note")
    ] = None,
    result: Annotated[
        str | None, typer.Option("--result", help="effective|not-effective (to act)")
    ] = None,
    playbook: Annotated[
        str | None, typer.Option("--playbook", help="Playbook id@version it changed (to closed)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move an item to its next phase; a wrong move names the allowed ones.

    plan → do (owner and plan) → check (completion note) → act (verification result) → closed
    (standardisation note; root cause and preventive action written). Not effective: act →
    plan, cycle + 1, with fresh SLA clocks from that moment (cycle 1's durations)."""
    from pm_cli.pdca import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.advance(
            s,
            site=site,
            no=no,
            to=to,
            plan=plan,
            note=note,
            result=result,
            playbook=playbook,
            by_id=me_id(ctx.obj, s, site),
        )
        rec = service.show(s, site=site, no=no)
    ctx.obj.out(as_json).done(f"{rec['label']} is in {rec['phase']} (cycle {rec['cycle']})", rec)


@app.command("reopen")
def pdca_reopen(
    ctx: typer.Context,
    no: NoArg,
    note: Annotated[str | None, typer.Option("--note", help="Why")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a closed item back to plan (the cycle count goes up, with fresh SLA clocks)."""
    from pm_cli.pdca import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.reopen(s, site=site, no=no, note=note, by_id=me_id(ctx.obj, s, site))
        rec = service.show(s, site=site, no=no)
    ctx.obj.out(as_json).done(f"{rec['label']} reopened: plan, cycle {rec['cycle']}", rec)


@app.command("cancel")
def pdca_cancel(
    ctx: typer.Context,
    no: NoArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it was raised in error")],
    as_json: JsonOpt = False,
) -> None:
    """Withdraw an item raised in error: kept in history, out of every open/overdue list.

    Its status is withdrawn (its phase shows `withdrawn`); it leaves `pm pdca list`,
    `pm pdca overdue`, `pm today` and the heat map. A later failure of the same step opens a
    new item."""
    from pm_cli.pdca import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.cancel(s, site=site, no=no, reason=reason, by_id=me_id(ctx.obj, s, site))
        rec = service.show(s, site=site, no=no)
    ctx.obj.out(as_json).done(
        f"{rec['label']} withdrawn (was in {rec['withdrawn']['phase']}); "
        "it stays in history: pm pdca show " + rec["ref"],
        rec,
    )


@app.command("assign")
def pdca_assign(
    ctx: typer.Context,
    no: NoArg,
    staff: Annotated[str, typer.Argument(help="Staff code of the new owner")],
    as_json: JsonOpt = False,
) -> None:
    """Give an item a new owner."""
    from pm_cli.pdca import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.assign(s, site=site, no=no, staff=staff, by_id=me_id(ctx.obj, s, site))
        rec = service.show(s, site=site, no=no)
    ctx.obj.out(as_json).done(f"{rec['label']} is now owned by {rec['owner']}", rec)


@app.command("comment")
def pdca_comment(
    ctx: typer.Context,
    no: NoArg,
    text: Annotated[str, typer.Argument(help="The comment")],
    as_json: JsonOpt = False,
) -> None:
    """Add a comment to an item's history."""
    from pm_cli.pdca import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.comment(s, site=site, no=no, text=text, by_id=me_id(ctx.obj, s, site))
        rec = service.show(s, site=site, no=no)
    ctx.obj.out(as_json).done(f"{rec['label']}: comment added", rec)


@app.command("edit")
def pdca_edit(
    ctx: typer.Context,
    no: NoArg,
    title: Annotated[str | None, typer.Option("--title", help="Title")] = None,
    description: Annotated[str | None, typer.Option("--description", help="5W2H")] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="Plan")] = None,
    containment: Annotated[
        str | None, typer.Option("--containment", help="Containment (临时措施)")
    ] = None,
    root_cause: Annotated[str | None, typer.Option("--root-cause", help="Root cause")] = None,
    corrective: Annotated[str | None, typer.Option("--corrective", help="Corrective")] = None,
    preventive: Annotated[
        str | None, typer.Option("--preventive", help="Preventive (举一反三)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write an item's plan, containment, root cause and corrective/preventive actions."""
    from pm_cli.pdca import service

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        service.edit(
            s,
            site=site,
            no=no,
            by_id=me_id(ctx.obj, s, site),
            title=title,
            description=description,
            plan=plan,
            containment=containment,
            root_cause=root_cause,
            corrective=corrective,
            preventive=preventive,
        )
        rec = service.show(s, site=site, no=no)
    ctx.obj.out(as_json).done(f"{rec['label']} saved", rec)


@app.command("sla")
def pdca_sla(
    ctx: typer.Context,
    severity: Annotated[str | None, typer.Option("--severity", help="Severity to set")] = None,
    respond: Annotated[str | None, typer.Option("--respond", help="e.g. 1h, 30m")] = None,
    resolve: Annotated[str | None, typer.Option("--resolve", help="e.g. 24h, 7d")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the site's SLA (hours to respond and resolve by severity), or set one row.

    Defaults: critical 1 h / 24 h, major 4 h / 72 h, minor 24 h / 7 days. Set a row with
    --severity S --respond 1h --resolve 24h."""
    from pm_cli.errors import UsageError
    from pm_cli.pdca import service

    given = [x is not None for x in (severity, respond, resolve)]
    if any(given) and not all(given):
        raise UsageError("to set an SLA give --severity, --respond and --resolve")
    with ctx.obj.session(write=all(given)) as s:
        site = current_site(ctx.obj, s)
        table = (
            service.set_sla(
                s, site=site, severity=severity or "", respond=respond or "", resolve=resolve or ""
            )
            if all(given)
            else service.sla(site)
        )
    rows = [
        {"severity": k, "respond_hours": r1, "resolve_hours": r2} for k, (r1, r2) in table.items()
    ]
    ctx.obj.out(as_json).emit(
        rows, columns=["severity", "respond_hours", "resolve_hours"], title=f"SLA at {site.code}"
    )
