"""What is due when: route walks and scheduled checklists by their windows (done, in
progress, to do, missed), and `pm today`, the shift lead's home screen.

A scheduled occurrence is *done* when a walk of the route (a run of the playbook) finished
with everything done and started in its window; *missed* when its window has ended without
one (an abandoned walk leaves it missed). A scheduled playbook is due at the sites that run
it outside routes (its schedule is the manual's cadence, for the sites that use that
manual).

This module only reads, with Core (`store.tables`): callers pass a Session (its transaction)
or a Connection, and `pm today` builds no model class."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from pm_cli.errors import PmError
from pm_cli.recurrence import Window, windows, zone_of
from pm_cli.store import read, tables
from pm_cli.store.ids import utc_text
from pm_cli.timefmt import parse_utc

IN_USE_DAYS = 90  # a scheduled playbook is due at a site that ran it in this many days
DUE_SOON = timedelta(hours=2)  # pm today: items due this soon count as today's
LOOKBACK_DAYS = 7  # `pm today` shows what was missed this many days back


@dataclass
class Occurrence:
    kind: str  # route | playbook
    code: str
    name: str
    window: Window
    status: str = "to do"  # done | in progress | to do | upcoming | missed
    detail: str | None = None
    by: list[str] = field(default_factory=list)
    finished_at: str | None = None  # when the first finished walk or run of it ended

    def record(self) -> dict[str, Any]:
        w = self.window
        return {
            "kind": self.kind,
            "code": self.code,
            "name": self.name,
            "due": utc_text(w.due),
            "window_start": utc_text(w.start),
            "window_end": utc_text(w.end),
            "status": self.status,
            "detail": self.detail,
            "by": self.by,
        }


def parse_day(text: str | None, tz: str | None, *, where: str = "--date") -> date:
    """A day in the site's zone, by the one parser of typed dates (pm_cli.dates)."""
    from pm_cli import dates

    return dates.day(text, tz, where=where)


def day_bounds(day: date, tz: str | None) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of a day, as aware datetimes (23 or 25 hours
    on a DST change)."""
    zone = zone_of(tz)
    return (
        datetime.combine(day, time(0), zone).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC),
    )


def _status(occ: Occurrence, now: datetime, done: bool, open_: bool) -> None:
    w = occ.window
    if done:
        occ.status = "done"
    elif w.end <= now:
        occ.status = "missed"
    elif open_:
        occ.status = "in progress"
    elif w.start > now:
        occ.status = "upcoming"
    else:
        occ.status = "to do"


def _staff_codes(db: Any, site: Any) -> dict[str, str]:
    return read.id_codes(read.connection(db), site.id)[1]


def route_occurrences(
    db: Any,
    *,
    site: Any,
    since: datetime,
    until: datetime,
    now: datetime,
    route: str | None = None,
    owner_id: str | None = None,
) -> list[Occurrence]:
    """Every scheduled walk of the site's routes whose window overlaps [since, until)."""
    conn, rt = read.connection(db), tables.route
    stmt = read.live(rt, site.id).where(rt.c.schedule.is_not(None)).order_by(rt.c.code)
    if route:
        stmt = stmt.where(
            rt.c.id
            == read.get_by_code(
                conn,
                rt,
                route,
                site_id=site.id,
                noun="route",
                where=site.code,
                hint="`pm route list` shows the routes",
            ).id
        )
    routes = [r for r in conn.execute(stmt) if owner_id is None or r.owner_id in (None, owner_id)]
    if not routes:
        return []
    lo, hi = utc_text(since - timedelta(days=2)), utc_text(until + timedelta(days=1))
    # the walks as plain rows of the columns read (a month of a big site is thousands)
    w_ = tables.route_walk.c
    walk_rows = conn.execute(
        sa.select(
            w_.id, w_.route_id, w_.by_id, w_.started_at, w_.status, w_.reason, w_.finished_at
        ).where(
            w_.site_id == site.id,
            w_.deleted == sa.false(),
            w_.route_id.in_([r.id for r in routes]),
            w_.started_at >= lo,
            w_.started_at < hi,
        )
    ).all()
    visits: dict[str, set[int]] = {}
    open_ids = [w.id for w in walk_rows if w.status == "open"]  # progress: of open walks only
    if open_ids:
        v_ = tables.route_visit.c
        for wid, stop in conn.execute(
            sa.select(v_.walk_id, v_.stop).where(v_.walk_id.in_(open_ids))
        ):
            visits.setdefault(wid, set()).add(stop)
    staff = _staff_codes(db, site)
    out = []
    for r in routes:
        assert r.schedule is not None
        created = parse_utc(r.created_at)
        mine = [w for w in walk_rows if w.route_id == r.id]
        window = (r.window_start, r.window_end) if r.window_start and r.window_end else None
        for w in windows(
            r.schedule,
            site.tz,
            anchor=created.astimezone(zone_of(site.tz)).date(),
            since=since,
            until=until,
            window=window,
        ):
            if w.end <= created:
                continue  # before the route existed
            inside = [x for x in mine if w.start <= parse_utc(x.started_at) < w.end]
            occ = Occurrence(
                "route",
                r.code,
                r.name,
                w,
                by=sorted({staff.get(x.by_id, "?") for x in inside if x.by_id}),
            )
            done = any(x.status == "finished" for x in inside)
            occ.finished_at = min(
                (x.finished_at for x in inside if x.status == "finished" and x.finished_at),
                default=None,
            )
            open_ = [x for x in inside if x.status == "open"]
            _status(occ, now, done, bool(open_))
            n = len(r.stops)
            if open_ and not done:
                occ.detail = f"{max(len(visits.get(x.id, ())) for x in open_)}/{n} stops"
            elif not done and (
                bad := sorted(
                    (x for x in inside if x.status in ("incomplete", "abandoned")),
                    key=lambda x: x.started_at,
                )
            ):
                occ.detail = f"{bad[-1].status}: {bad[-1].reason}"
            elif occ.status == "missed":
                occ.detail = "no walk"
            out.append(occ)
    return out


def playbooks_in_use(db: Any, site: Any, now: datetime) -> dict[str, Any]:
    from pm_cli.playbooks import read as playbooks

    since = utc_text(now - timedelta(days=IN_USE_DAYS))
    r_ = tables.run.c
    ids = sorted(
        set(
            read.connection(db)
            .execute(
                sa.select(r_.playbook_id).where(
                    r_.site_id == site.id,
                    r_.route_id.is_(None),
                    r_.deleted == sa.false(),
                    r_.started_at >= since,
                )
            )
            .scalars()
        )
    )
    out = {}
    for pid in ids:
        try:
            pb = playbooks.get(db, pid).playbook
        except PmError:
            continue
        if pb.schedule:
            out[pid] = pb
    return out


def playbook_occurrences(
    db: Any, *, site: Any, since: datetime, until: datetime, now: datetime
) -> list[Occurrence]:
    """Scheduled checklists the site runs (outside routes) whose windows overlap the span."""
    in_use = playbooks_in_use(db, site, now)
    if not in_use:
        return []
    r_ = tables.run.c
    runs = (
        read.connection(db)
        .execute(
            sa.select(r_.playbook_id, r_.started_at, r_.status, r_.by_id, r_.finished_at).where(
                r_.site_id == site.id,
                r_.deleted == sa.false(),
                r_.playbook_id.in_(list(in_use)),
                r_.route_id.is_(None),
                r_.started_at >= utc_text(since - timedelta(days=2)),
                r_.started_at < utc_text(until + timedelta(days=1)),
            )
        )
        .all()
    )
    staff = _staff_codes(db, site)
    anchor = parse_utc(site.created_at).astimezone(zone_of(site.tz)).date()
    out = []
    for pid, pb in in_use.items():
        mine = [r for r in runs if r.playbook_id == pid]
        for w in windows(pb.schedule, site.tz, anchor=anchor, since=since, until=until):
            inside = [r for r in mine if w.start <= parse_utc(r.started_at) < w.end]
            occ = Occurrence(
                "playbook",
                pid,
                pb.title,
                w,
                by=sorted({staff.get(r.by_id, "?") for r in inside if r.by_id}),
            )
            _status(
                occ,
                now,
                any(r.status == "finished" for r in inside),
                any(r.status == "open" for r in inside),
            )
            occ.finished_at = min(
                (r.finished_at for r in inside if r.status == "finished" and r.finished_at),
                default=None,
            )
            if occ.status == "missed":
                occ.detail = (
                    "incomplete" if any(r.status == "incomplete" for r in inside) else "no run"
                )
            out.append(occ)
    return out


def missed(
    db: Any,
    *,
    site: Any,
    since: str | None = None,
    route: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Route walks missed since a day (default: a week back) up to now, oldest first."""
    t = now or datetime.now(UTC)
    start, _ = day_bounds(
        parse_day(since or f"-{LOOKBACK_DAYS}", site.tz, where="--since"), site.tz
    )
    if start >= t:
        return []
    occs = route_occurrences(db, site=site, since=start, until=t, now=t, route=route)
    return [
        o.record()
        for o in sorted(occs, key=lambda o: (o.window.due, o.code))
        if o.status == "missed" and o.window.due >= start
    ]


def today(
    db: Any,
    *,
    site: Any,
    by: str | None = None,
    day: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The shift lead's day: walks and checklists due, what was missed the week before,
    drills due, risk reviews due, and improvement items due or overdue for the person."""
    from pm_cli.drills import read as drills
    from pm_cli.pdca import read as pdca
    from pm_cli.risks import read as risks

    t = now or datetime.now(UTC)
    d = parse_day(day, site.tz)
    start, end = day_bounds(d, site.tz)
    person = (
        read.get_by_code(
            read.connection(db),
            tables.staff,
            by,
            site_id=site.id,
            noun="staff member",
            where=site.code,
            hint=f"`pm staff list --site {site.code}` shows who is there",
        )
        if by
        else None
    )
    owner_id = person.id if person else None
    back = day_bounds(d - timedelta(days=LOOKBACK_DAYS), site.tz)[0]
    occs = route_occurrences(
        db, site=site, since=back, until=end, now=t, owner_id=owner_id
    ) + playbook_occurrences(db, site=site, since=back, until=end, now=t)
    occs.sort(key=lambda o: (o.window.due, o.kind, o.code))
    due = [o.record() for o in occs if start <= o.window.due < end]
    earlier = [o.record() for o in occs if back <= o.window.due < start and o.status == "missed"]
    end_text = utc_text(end)
    drills_due = [x for x in drills.due(db, site=site, now=t) if x["due"] and x["due"] < end_text]
    items = []
    on_the_day = start <= t < end
    # on the day itself, also what falls due in the next hours (an item opened at 23:40 must
    # be answered by 00:40: the late shift sees it now, not tomorrow)
    reach = utc_text(max(end, t + DUE_SOON)) if on_the_day else end_text
    # another day is judged as it stands at that day's end (site time): what was (or, left
    # alone, will be) overdue by then, among the items found by then
    judged = t if on_the_day else end
    judged_text = utc_text(judged)
    for it in pdca.list_items(db, site=site, owner=person.code if person else None, now=judged):
        if it["found_at"] > judged_text:
            continue
        deadline = it["resolve_by"] if it["checked_at"] is None else None
        if it["responded_at"] is None:
            deadline = it["respond_by"]
        if deadline and deadline < reach:
            items.append(
                {**it, "deadline": deadline, "state": "overdue" if it["overdue"] else "due"}
            )
    reviews = [
        r
        for r in risks.list_risks(db, site=site, now=t)
        if r["status"] == "open"
        and r["next_review"]
        and r["next_review"] < end_text
        and (person is None or r.get("owner") == person.code)
    ]
    counts: dict[str, int] = {}
    for o in due:
        counts[o["status"]] = counts.get(o["status"], 0) + 1
    return {
        "site": site.code,
        "date": d.isoformat(),
        "by": person.code if person else None,
        "tz": site.tz,
        "due": due,
        "counts": counts,
        "missed_earlier": earlier,
        "drills": drills_due,
        "items": items,
        "reviews": reviews,
    }
