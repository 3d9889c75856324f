"""pm today · pm schedule …"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site, current_site_row
from pm_cli.staff.context import my_id

app = typer.Typer(help="Schedules: export them to a calendar.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("today")(today)
    root.add_typer(app, name="schedule")


def _when(rec: dict[str, Any], tz: str | None, day: bool = False) -> str:
    """`09:00–11:00`; `08:00 →` for a window that runs until the next occurrence."""
    from datetime import datetime

    from pm_cli.timefmt import local

    start = local(rec["window_start"], tz, "%m-%d %H:%M" if day else "%H:%M")
    a, b = (
        datetime.fromisoformat(rec[k].replace("Z", "+00:00"))
        for k in ("window_start", "window_end")
    )
    if (b - a).total_seconds() >= 12 * 3600:
        return f"{start} →"
    return f"{start}–{local(rec['window_end'], tz, '%H:%M')}"


def _missed_by_code(missed: list[dict[str, Any]], tz: str | None) -> list[dict[str, Any]]:
    """Missed occurrences grouped by what was missed: how many times, the last one."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in missed:
        groups.setdefault((o["kind"], o["code"]), []).append(o)
    rows = []
    for (kind, code), occs in groups.items():
        last = max(occs, key=lambda o: o["due"])
        rows.append(
            {
                "kind": kind,
                "code": code,
                "name": last["name"],
                "missed": len(occs),
                "last": _when(last, tz, day=True),
                "detail": last["detail"],
            }
        )
    return rows


def today(
    ctx: typer.Context,
    by: Annotated[str | None, typer.Option("--by", help="Staff code [default: me]")] = None,
    date: Annotated[
        str | None,
        typer.Option(
            "--date", help="The day: 2026-12-02, yesterday, -1, +1 … [default: today, site time]"
        ),
    ] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Everyone's, not just mine")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The day's work: walks and checklists due (done, in progress, to do), what was missed
    the week before, drills due, risk reviews due, improvement items due or overdue.

    The shift lead's home screen: the walks and scheduled checklists due that day (done, in
    progress, to do, upcoming, missed); what was missed the 7 days before (one line per route
    or checklist: how many times, the last one; --json lists each); drills due, risk reviews
    due, and improvement items due or overdue (on the day itself, also those due in the next two
    hours; another day's items are judged as they stand at that day's end, site time, among
    those found by then). For "me" (or --by) when set: their routes and unassigned ones, their
    items and risks."""
    from pm_cli.schedules import service
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        who = by
        if who is None and not everyone and my_id(ctx.obj, conn, site):
            who = ctx.obj.me()
        rec = service.today(conn, site=site, by=who, day=date)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rec)
        return
    tz = rec["tz"]
    counts = rec["counts"]
    head = f"{rec['site']} · {rec['date']}" + (f" · {rec['by']}" if rec["by"] else "")
    out.say(head + " · " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing due"))
    out.table(
        [{**o, "when": _when(o, tz), "by": o["by"]} for o in rec["due"]],
        ["when", "kind", "code", "name", "status", "detail", "by"],
        title="due today",
    )
    if rec["missed_earlier"]:  # one line per route or checklist, however many days
        out.table(
            _missed_by_code(rec["missed_earlier"], tz),
            ["kind", "code", "name", "missed", "last", "detail"],
            title=f"missed in the {service.LOOKBACK_DAYS} days before",
        )
    if rec["drills"]:
        out.table(
            [
                {
                    **d,
                    "due": local(d["due"], tz, "%Y-%m-%d"),
                    "status": "overdue" if d["overdue"] else "due",
                }
                for d in rec["drills"]
            ],
            ["code", "scenario", "title", "grid", "due", "status"],
            title="drills due",
        )
    if rec["reviews"]:
        out.table(
            [
                {
                    **r,
                    "due": local(r["next_review"], tz, "%Y-%m-%d"),
                    "status": "overdue" if r["review_overdue"] else "due",
                }
                for r in rec["reviews"]
            ],
            ["code", "title", "level", "owner", "due", "status"],
            title="risk reviews due",
        )
    out.table(
        [
            {**i, "no": i["label"], "deadline": local(i["deadline"], tz, "%m-%d %H:%M")}
            for i in rec["items"]
        ],
        ["no", "title", "severity", "phase", "owner", "deadline", "state"],
        title="improvement items due or overdue",
    )


@app.command("export")
def schedule_export(
    ctx: typer.Context,
    ics: Annotated[Path, typer.Option("--ics", help="iCalendar file to write; - for stdout")],
    by: Annotated[
        str | None, typer.Option("--by", help="One person's: their routes and risks")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write every schedule (routes, checklists, drills, risk reviews) to an .ics file with
    the RRULEs intact, for any calendar app.

    Routes, the scheduled checklists the site runs, drills (their schedule or the scenario's
    required frequency) and risk reviews, as recurring events: RRULEs as stored, times in the
    site's zone with a VTIMEZONE (floating local time when the site has none). A route's event
    lists its first 20 stops, then how many more."""
    from pm_cli.schedules import calendar

    to_stdout = str(ics) == "-"
    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        data, res = calendar.export(s, site=site, path=None if to_stdout else ics, by=by)
    out = ctx.obj.out(as_json)
    kinds = ", ".join(f"{n} {k}" for k, n in res["by_kind"].items()) or "nothing scheduled"
    if to_stdout:  # the calendar is the result; the count a note
        out.raw(data)
        out.note(f"{res['events']} recurring events ({kinds})")
        return
    out.done(f"wrote {res['events']} recurring events to {res['file']} ({kinds})", res)


# `pm route missed`: walks the schedule expected and nobody did; the root app adds it to the
# route group (routes stand below schedules and never import them).
route_app = typer.Typer()


@route_app.command("missed")
def route_missed(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this day: 2026-11-25, yesterday, -7 … [default: -7]"),
    ] = None,
    route: Annotated[str | None, typer.Option("--route", help="Only this route")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Scheduled walks whose window ended with no completed walk.

    Completed: a walk started in the window and finished. Default: the last 7 days."""
    from pm_cli.schedules import service
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = current_site_row(ctx.obj, conn)
        rows = service.missed(conn, site=site, since=since, route=route)
        tz = site.tz
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rows)
        return
    out.table(
        [
            {
                **r,
                "due": local(r["due"], tz),
                "window": f"{local(r['window_start'], tz, '%H:%M')}–"
                f"{local(r['window_end'], tz, '%H:%M')}",
            }
            for r in rows
        ],
        ["due", "code", "name", "window", "detail"],
        title="missed walks",
    )
