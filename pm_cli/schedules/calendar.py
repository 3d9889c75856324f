"""`pm schedule export --ics`: every schedule as an iCalendar (RFC 5545) file a calendar app
imports: route walks, scheduled checklists, drills and risk reviews, one recurring event each
with its RRULE written exactly as stored, times in the site's zone (TZID + VTIMEZONE, so DST
moves the way it does on site; floating local time when the site has no zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col

from pm_cli.checkpoints.models import Checkpoint
from pm_cli.errors import PmError
from pm_cli.recurrence import parse_rule, zone_of
from pm_cli.routes.models import Route
from pm_cli.sites.models import Site
from pm_cli.store.query import live, rows_by_id

PRODID = "-//pm//property operations//EN"


@dataclass
class Entry:
    uid: str
    kind: str  # route | playbook | drill | review
    summary: str
    rule: str
    start: datetime  # naive wall-clock time in the site's zone: the first occurrence
    minutes: float
    description: str | None = None
    all_day: bool = False  # a date (VALUE=DATE), not a time: a risk review is due on a day


WORK_HOUR = time(10, 0)  # a drill is held in working hours: 10:00 on its due day, site time


def _at_hour(rule: str, day: date, hour: time) -> datetime:
    """`day` at `hour`, unless the rule itself says the time of day (BYHOUR)."""
    if "BYHOUR" in rule.upper():
        first = _first(rule, day)
        if first is not None:
            return first
    return datetime.combine(day, hour)


def _first(rule: str, anchor: date) -> datetime | None:
    """The rule's first occurrence counted from local midnight of `anchor` (wall clock)."""
    base = datetime.combine(anchor, time(0))
    return parse_rule(rule, dtstart=base).after(base, inc=True)


def _local_day(utc_text: str, tz: str | None) -> date:
    return datetime.fromisoformat(utc_text.replace("Z", "+00:00")).astimezone(zone_of(tz)).date()


def _window_minutes(route: Route, first: datetime) -> float | None:
    """Minutes from the first occurrence to the end of its shift window."""
    if not (route.window_start and route.window_end):
        return None
    s, e = (int(x[:2]) * 60 + int(x[3:]) for x in (route.window_start, route.window_end))
    at = first.hour * 60 + first.minute
    inside = (at - s) % (24 * 60) < (e - s) % (24 * 60)
    return float((e - at) % (24 * 60)) if inside else float((e - s) % (24 * 60))


LISTED_STOPS = 20  # a route's event lists its first stops, then says how many more


def entries(session: Session, *, site: Site, by: str | None = None) -> list[Entry]:
    """The site's schedules (for one person: their routes and unassigned ones, the site's
    checklists and drills, and the risks they own)."""
    from pm_cli.drills import scenario as scenarios
    from pm_cli.drills.models import Drill
    from pm_cli.playbooks import service as playbooks
    from pm_cli.risks import service as risks
    from pm_cli.schedules.service import playbooks_in_use
    from pm_cli.staff.service import get_staff

    person = get_staff(session, site=site, code=by) if by else None
    out: list[Entry] = []
    routes = [
        r
        for r in session.exec(
            live(Route, site.id).where(col(Route.schedule).is_not(None)).order_by(Route.code)
        )
        if not person or r.owner_id in (None, person.id)
    ]
    cps = {
        cp.id: f"{cp.code} {cp.name}"
        for cp in rows_by_id(
            session, Checkpoint, [s["checkpoint"] for r in routes for s in r.stops[:LISTED_STOPS]]
        ).values()
    }
    for r in routes:
        assert r.schedule
        first = _first(r.schedule, _local_day(r.created_at, site.tz))
        if first is None:
            continue
        if "BYHOUR" not in r.schedule.upper() and r.window_start:  # at its shift window
            first = first.replace(hour=int(r.window_start[:2]), minute=int(r.window_start[3:]))
        minutes = _window_minutes(r, first)
        if minutes is None:
            minutes = (
                sum(
                    (playbooks.get(session, s["playbook"]).playbook.estimated_minutes or 5)
                    for s in r.stops
                    if s.get("playbook")
                )
                or 60.0
            )
        stops = "\n".join(
            f"{i}. {cps.get(s['checkpoint'], '?')}"
            + (f" · {s['playbook']}" if s.get("playbook") else "")
            for i, s in enumerate(r.stops[:LISTED_STOPS], 1)
        )
        if len(r.stops) > LISTED_STOPS:  # a calendar entry is read on a phone
            stops += f"\n… {len(r.stops) - LISTED_STOPS} more stops: pm route show {r.code}"
        window = f"window {r.window_start}-{r.window_end}\n" if r.window_start else ""
        out.append(
            Entry(
                f"route-{r.id}@pm",
                "route",
                f"{r.code} {r.name}",
                r.schedule,
                first,
                minutes,
                f"{site.code} route {r.code}\n{window}{stops}",
            )
        )
    now = datetime.now(UTC)
    site_day = _local_day(site.created_at, site.tz)
    for pid, pb in playbooks_in_use(session, site, now).items():
        first = _first(pb.schedule, site_day)
        if first:
            out.append(
                Entry(
                    f"playbook-{pid}-{site.id}@pm",
                    "playbook",
                    f"{pb.title} ({pid})",
                    pb.schedule,
                    first,
                    pb.estimated_minutes or 30.0,
                    f"{site.code} checklist {pid}: pm run start {pid}",
                )
            )
    from pm_cli.drills.service import due as drills_due

    due = {row["code"]: row for row in drills_due(session, site=site)}
    for d in session.exec(live(Drill, site.id).order_by(Drill.code)):
        sc = scenarios.get(d.scenario)
        rule = d.schedule or sc.frequency
        when = due.get(d.code, {}).get("due")
        if not when:
            continue
        # the series starts when `pm drill due` says the next one is due, in working hours
        first = _at_hour(rule, _local_day(when, site.tz), WORK_HOUR)
        out.append(
            Entry(
                f"drill-{d.id}@pm",
                "drill",
                f"{d.title or sc.title} ({d.code})",
                rule,
                first,
                60.0,
                f"{site.code} drill {d.code}: {d.scenario}"
                + ("" if d.schedule else f" (required: {rule})"),
            )
        )
    for rk in risks.list_risks(session, site=site):
        if rk["status"] != "open" or (person and rk["owner"] != person.code):
            continue
        if not rk["next_review"]:
            continue
        day = _local_day(rk["next_review"], site.tz)  # a review is due on a day: all-day
        out.append(
            Entry(
                f"review-{rk['code']}-{site.id}@pm",
                "review",
                f"Risk review {rk['code']} {rk['title']}",
                rk["review_rule"],
                datetime.combine(day, time(0)),
                24 * 60.0,
                f"{site.code} risk {rk['code']} ({rk['level']}): pm risk review {rk['code']}",
                all_day=True,
            )
        )
    return out


def build(site: Site, items: list[Entry], *, stamp: datetime | None = None) -> bytes:
    from icalendar import Calendar, Event
    from icalendar.prop import vInline

    zone = None
    if site.tz:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(site.tz)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"pm {site.code} {site.name}")
    if site.tz:
        cal.add("x-wr-timezone", site.tz)
    dtstamp = (stamp or datetime.now(UTC)).replace(microsecond=0)
    for it in items:
        ev = Event()
        ev.add("uid", it.uid)
        ev.add("dtstamp", dtstamp)
        ev.add("summary", it.summary)
        if it.all_day:
            ev.add("dtstart", it.start.date())
            ev.add("dtend", it.start.date() + timedelta(days=1))
        else:
            start = it.start.replace(tzinfo=zone) if zone else it.start
            ev.add("dtstart", start)
            ev.add("dtend", start + timedelta(minutes=it.minutes))
        ev["RRULE"] = vInline(it.rule[6:] if it.rule.upper().startswith("RRULE:") else it.rule)
        ev.add("categories", [it.kind])
        if it.description:
            ev.add("description", it.description)
        ev.add("location", site.address or site.name)
        cal.add_component(ev)
    if zone:
        cal.add_missing_timezones()
    return cal.to_ical()


def export(
    session: Session, *, site: Site, path: Path | None, by: str | None = None
) -> tuple[bytes, dict[str, Any]]:
    """The calendar, and with a `path` the file written whole (a temporary file renamed into
    place, readable by others as a file a calendar app subscribes to: 0644 under the usual
    umask, not the temporary file's 0600)."""
    import os
    import tempfile

    if path is not None:
        path = path.expanduser()
        if not path.parent.is_dir():
            raise PmError(
                f"no folder {path.parent}",
                where="--ics",
                hint="create it first, or write the file somewhere else",
            )
    items = entries(session, site=site, by=by)
    data = build(site, items)
    if path is not None:
        fd, tmp = tempfile.mkstemp(prefix=".pm-", suffix=".ics", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            umask = os.umask(0o022)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    counts: dict[str, int] = {}
    for it in items:
        counts[it.kind] = counts.get(it.kind, 0) + 1
    return data, {
        "file": str(path) if path else "-",
        "events": len(items),
        "by_kind": counts,
        "tz": site.tz,
    }
