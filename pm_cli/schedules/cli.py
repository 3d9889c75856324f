"""pm today · pm schedule …"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt

app = typer.Typer(help="Schedules: export them to a calendar.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("today")(today)
    root.add_typer(app, name="schedule")


def _when(rec: dict[str, Any], tz: str | None, day: bool = False) -> str:
    """`09:00–11:00`; `08:00 →` for a window that runs until the next occurrence."""
    from datetime import datetime

    from pm_cli.timefmt import local

    start = local(rec["window_start"], tz, "%m-%d %H:%M" if day else "%H:%M")
    a, b = (datetime.fromisoformat(rec[k].replace("Z", "+00:00"))
            for k in ("window_start", "window_end"))
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
        rows.append({"kind": kind, "code": code, "name": last["name"], "missed": len(occs),
                     "last": _when(last, tz, day=True), "detail": last["detail"]})
    return rows


def today(
    ctx: typer.Context,
    by: Annotated[str | None, typer.Option("--by", help="Staff code [default: me]")] = None,
    date: Annotated[
        str | None, typer.Option(
            "--date", help="The day: 2026-12-02, yesterday, -1, +1 … [default: today, site time]")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Everyone's, not just mine")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The day's work: walks and checklists due (done, in progress, to do), what was missed
    the week before, drills due, risk reviews due, improvement items due or overdue."""
    from pm_cli.schedules import service
    from pm_cli.timefmt import local

    with ctx.obj.connection() as conn:
        site = ctx.obj.site_row(conn)
        who = by
        if who is None and not everyone and ctx.obj.my_id(conn, site):
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
    out.table([{**o, "when": _when(o, tz), "by": o["by"]} for o in rec["due"]],
              ["when", "kind", "code", "name", "status", "detail", "by"], title="due today")
    if rec["missed_earlier"]:  # one line per route or checklist, however many days
        out.table(_missed_by_code(rec["missed_earlier"], tz),
                  ["kind", "code", "name", "missed", "last", "detail"],
                  title=f"missed in the {service.LOOKBACK_DAYS} days before")
    if rec["drills"]:
        out.table([{**d, "due": local(d["due"], tz, "%Y-%m-%d"),
                    "status": "overdue" if d["overdue"] else "due"} for d in rec["drills"]],
                  ["code", "scenario", "title", "grid", "due", "status"], title="drills due")
    if rec["reviews"]:
        out.table([{**r, "due": local(r["next_review"], tz, "%Y-%m-%d"),
                    "status": "overdue" if r["review_overdue"] else "due"}
                   for r in rec["reviews"]],
                  ["code", "title", "level", "owner", "due", "status"], title="risk reviews due")
    out.table([{**i, "no": i["label"], "deadline": local(i["deadline"], tz, "%m-%d %H:%M")}
               for i in rec["items"]],
              ["no", "title", "severity", "phase", "owner", "deadline", "state"],
              title="improvement items due or overdue")


@app.command("export")
def schedule_export(
    ctx: typer.Context,
    ics: Annotated[Path, typer.Option("--ics", help="iCalendar file to write; - for stdout")],
    by: Annotated[
        str | None, typer.Option("--by", help="One person's: their routes and risks")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write every schedule (routes, checklists, drills, risk reviews) to an .ics file with
    the RRULEs intact, for any calendar app."""
    from pm_cli.schedules import calendar

    to_stdout = str(ics) == "-"
    with ctx.obj.session() as s:
        site = ctx.obj.site(s)
        data, res = calendar.export(s, site=site, path=None if to_stdout else ics, by=by)
    out = ctx.obj.out(as_json)
    kinds = ", ".join(f"{n} {k}" for k, n in res["by_kind"].items()) or "nothing scheduled"
    if to_stdout:  # the calendar is the result; the count a note
        out.raw(data)
        out.note(f"{res['events']} recurring events ({kinds})")
        return
    out.done(f"wrote {res['events']} recurring events to {res['file']} ({kinds})", res)
