"""Per-day rollups of the day-additive KPIs (inspections, on_time, steps_passed): what each
whole site day counted, by grid, service and staff, kept in `kpi_day` so a year's report
reads a few hundred rows a day instead of every answer and every scheduled walk.

Kept current as changes arrive, whatever writes them (a command, an import, sync, the
server's merge): triggers on the tables these KPIs read mark the UTC days a write touches in
`rollup_dirty` (`TRIGGERS`, installed by the migrations); `refresh` forgets the site days
those marks touch, then counts again the days a report asks for that are not current. A day
is rolled up only once it has ended (its figures no longer move with the clock). What a
report needs outside the rolled days, it counts from the records (`kpi.compute`), so a
rollup missing or out of date is slower, never wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from pm_cli.reports import records
from pm_cli.reports.facts import DIMENSIONS, NONE, Facts, Period
from pm_cli.sites.models import Site
from pm_cli.store import read, tables
from pm_cli.store.ids import utc_text

ROLLED = ("inspections", "on_time", "steps_passed")
ALL = "*"  # a mark's day: every day (of its site; of every site when its site is '')


def _bounds(day: date, tz: str | None) -> tuple[datetime, datetime]:
    from pm_cli.schedules.service import day_bounds

    return day_bounds(day, tz)


def whole_days(site: Any, since: datetime, until: datetime) -> list[date]:
    """The site days lying wholly inside [since, until)."""
    from pm_cli.dates import zone

    d = since.astimezone(zone(site.tz)).date()
    if _bounds(d, site.tz)[0] < since:
        d += timedelta(days=1)
    out = []
    while _bounds(d, site.tz)[1] <= until:
        out.append(d)
        d += timedelta(days=1)
    return out


def _site_days_of(utc_day: str, tz: str | None) -> set[str]:
    """The site days a UTC day overlaps (one or two)."""
    from pm_cli.dates import zone

    start = datetime.fromisoformat(utc_day).replace(tzinfo=UTC)
    z = zone(tz)
    return {
        start.astimezone(z).date().isoformat(),
        (start + timedelta(days=1, milliseconds=-1)).astimezone(z).date().isoformat(),
    }


def _forget_marked(conn: sa.Connection, site: Any) -> None:
    """Turn the dirty marks of this site (and of every site) into days no longer current."""
    d, done = tables.rollup_dirty, tables.kpi_day_done
    marks = conn.execute(
        sa.select(d.c.site_id, d.c.day).where(d.c.site_id.in_((site.id, "")))
    ).all()
    if not marks:
        return
    if any(m.site_id == "" for m in marks):  # a playbook changed: every site, every day
        conn.execute(done.delete())
    elif any(m.day == ALL for m in marks):
        conn.execute(done.delete().where(done.c.site_id == site.id))
    else:
        days: set[str] = set()
        for m in marks:
            try:
                days |= _site_days_of(m.day, site.tz)
            except ValueError:  # not a date: forget them all rather than guess
                days = set()
                conn.execute(done.delete().where(done.c.site_id == site.id))
                break
        for chunk in read.chunks(days):
            conn.execute(done.delete().where(done.c.site_id == site.id, done.c.day.in_(chunk)))
    conn.execute(d.delete().where(d.c.site_id.in_((site.id, ""))))


def refresh(
    session: Session, *, site: Site, since: datetime, until: datetime, now: datetime | None = None
) -> int:
    """Bring the rollups of the whole, ended site days in [since, until) up to date (in
    the session's transaction: a write one); how many days were counted again."""
    t = now or datetime.now(UTC)
    conn = read.connection(session)
    _forget_marked(conn, site)
    days = whole_days(site, since, min(until, t))
    if not days:
        return 0
    done = tables.kpi_day_done
    current = set(
        conn.execute(
            sa.select(done.c.day).where(
                done.c.site_id == site.id,
                done.c.day >= days[0].isoformat(),
                done.c.day <= days[-1].isoformat(),
            )
        ).scalars()
    )
    todo = [d for d in days if d.isoformat() not in current]
    for first, last in _runs(todo):
        _count(session, conn, site, first, last, t)
    return len(todo)


def _runs(days: list[date]) -> Iterable[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    start = prev = None
    for d in days:
        if prev is not None and d == prev + timedelta(days=1):
            prev = d
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = d
    if start is not None and prev is not None:
        yield start, prev


def _count(
    session: Session, conn: sa.Connection, site: Site, first: date, last: date, now: datetime
) -> None:
    """Count the days first..last from the records and store them as current."""
    since, until = _bounds(first, site.tz)[0], _bounds(last, site.tz)[1]
    f = Facts(site.tz, {}, {}, ids=True)
    p = Period(since, until, now)
    records.inspections(session, site, p, f)
    records.steps(session, site, p, f)
    rows = [
        {
            "site_id": site.id,
            "day": key[6],
            "week": key[5],
            "kpi": key[0],
            "grid_id": "" if key[1] == NONE else key[1],
            "service": "" if key[2] == NONE else key[2],
            "staff_id": "" if key[3] == NONE else key[3],
            "numerator": num,
            "denominator": den,
            "asked": asked,
        }
        for key, (num, den, asked) in f.cells.items()
    ]
    lo, hi = first.isoformat(), last.isoformat()
    kd, done = tables.kpi_day, tables.kpi_day_done
    conn.execute(kd.delete().where(kd.c.site_id == site.id, kd.c.day >= lo, kd.c.day <= hi))
    conn.execute(done.delete().where(done.c.site_id == site.id, done.c.day >= lo, done.c.day <= hi))
    for start in range(0, len(rows), 5000):
        conn.execute(kd.insert(), rows[start : start + 5000])
    stamp = utc_text(now)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    conn.execute(
        done.insert(),
        [{"site_id": site.id, "day": d.isoformat(), "computed_at": stamp} for d in days],
    )


def load(
    session: Session,
    *,
    site: Site,
    facts: Facts,
    since: datetime,
    until: datetime,
    dims: tuple[str, ...] | None = None,
) -> list[tuple[datetime, datetime]]:
    """Add the rolled-up days of [since, until) that are current to `facts` (grid and
    staff as codes), summed over the dimensions not in `dims` (None: none summed over; a
    year of a 2,000-grid site is some 120,000 rows, a site's total three); the spans left
    to count from the records."""
    days = whole_days(site, since, until)
    if not days:
        return [(since, until)]
    conn = read.connection(session)
    done, kd = tables.kpi_day_done, tables.kpi_day
    lo, hi = days[0].isoformat(), days[-1].isoformat()
    current = set(
        conn.execute(
            sa.select(done.c.day).where(
                done.c.site_id == site.id, done.c.day >= lo, done.c.day <= hi
            )
        ).scalars()
    )
    if not current:
        return [(since, until)]
    if conn.execute(
        sa.select(sa.func.count())
        .select_from(tables.rollup_dirty)
        .where(tables.rollup_dirty.c.site_id.in_((site.id, "")))
    ).scalar():
        return [(since, until)]  # written to since the last refresh: count from the records
    keep = DIMENSIONS if dims is None else dims
    blank = sa.literal("")
    columns = {
        "grid": kd.c.grid_id,
        "service": kd.c.service,
        "staff": kd.c.staff_id,
        "month": sa.func.substr(kd.c.day, 1, 7),
        "week": kd.c.week,
        "day": kd.c.day,
    }
    picked = [columns[d] if d in keep else blank.label(f"no_{d}") for d in DIMENSIONS]
    grouped = [columns[d] for d in DIMENSIONS if d in keep]
    sums = conn.execute(
        sa.select(
            kd.c.kpi,
            *picked,
            sa.func.sum(kd.c.numerator),
            sa.func.sum(kd.c.denominator),
            sa.func.sum(kd.c.asked),
        )
        .where(
            kd.c.site_id == site.id,
            kd.c.day >= lo,
            kd.c.day <= hi,
            kd.c.day.in_(
                sa.select(done.c.day).where(
                    done.c.site_id == site.id, done.c.day >= lo, done.c.day <= hi
                )
            ),
        )
        .group_by(kd.c.kpi, *grouped)
    )
    grids, staff = {"": NONE, **facts.grids}, {"": NONE, **facts.staff}
    cells = facts.cells
    for kpi, grid_id, service, staff_id, mon, week, day, num, den, asked in sums:
        key = (
            kpi,
            grids.get(grid_id, NONE),
            service or NONE,
            staff.get(staff_id, NONE),
            mon or NONE,
            week or NONE,
            day or NONE,
        )
        cell = cells.setdefault(key, [0.0, 0.0, 0.0])
        cell[0] += num
        cell[1] += den
        cell[2] += asked
    spans: list[tuple[datetime, datetime]] = []
    cursor = since
    for d in days:
        start, end = _bounds(d, site.tz)
        if d.isoformat() in current:
            if cursor < start:
                spans.append((cursor, start))
            cursor = end
    if cursor < until:
        spans.append((cursor, until))
    return spans


# ---- the triggers that mark what a write touches ------------------------------------------

# (table, the UTC instants of a row whose days it touches); a row's start's next day too,
# for a window that ends after midnight UTC
_TIMED = {"run": ("started_at", "finished_at"), "route_walk": ("started_at", "finished_at")}


def _sqlite_days(row: str, cols: tuple[str, str]) -> str:
    start, end = cols
    return (
        f"SELECT {row}.site_id AS s, substr({row}.{start}, 1, 10) AS d "
        f"UNION SELECT {row}.site_id, date({row}.{start}, '+1 day') "
        f"UNION SELECT {row}.site_id, substr({row}.{end}, 1, 10)"
    )


def sqlite_triggers() -> list[str]:
    """The SQLite triggers (a laptop's database, a SQLite server's)."""
    out = []
    for table, cols in _TIMED.items():
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD"))):
            picks = " UNION ".join(_sqlite_days(r, cols) for r in rows)
            out.append(
                f"CREATE TRIGGER rollup_{table}_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN INSERT OR IGNORE INTO rollup_dirty (site_id, day) SELECT s, d FROM "
                f"({picks}) WHERE s IS NOT NULL AND d IS NOT NULL; END"
            )
    out.append(
        "CREATE TRIGGER rollup_step_result_insert AFTER INSERT ON step_result BEGIN "
        "INSERT OR IGNORE INTO rollup_dirty (site_id, day) SELECT site_id, "
        "substr(finished_at, 1, 10) FROM run WHERE id = NEW.run_id AND finished_at IS NOT "
        "NULL AND site_id IS NOT NULL; END"
    )
    for table, site in (("route", "NEW.site_id"), ("site", "NEW.id"), ("playbook", "''")):
        for event in ("INSERT", "UPDATE"):
            out.append(
                f"CREATE TRIGGER rollup_{table}_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN INSERT OR IGNORE INTO rollup_dirty (site_id, day) VALUES "
                f"(coalesce({site}, ''), '{ALL}'); END"
            )
    return out


def sqlite_drops() -> list[str]:
    names = [
        f"rollup_{t}_{e}"
        for t in (*_TIMED, "route", "site", "playbook")
        for e in ("insert", "update")
    ] + ["rollup_step_result_insert"]
    return [f"DROP TRIGGER IF EXISTS {n}" for n in names]


def _pg_days(rows: str, cols: tuple[str, str]) -> str:
    start, end = cols
    return (
        f"SELECT site_id AS s, substr({start}, 1, 10) AS d FROM {rows} "
        f"UNION SELECT site_id, to_char(substr({start}, 1, 10)::date + 1, 'YYYY-MM-DD') "
        f"FROM {rows} WHERE {start} IS NOT NULL "
        f"UNION SELECT site_id, substr({end}, 1, 10) FROM {rows}"
    )


def postgresql_triggers() -> list[str]:
    """The PostgreSQL triggers (the server's): statement-level, reading each statement's
    rows from its transition tables, so a many-row insert marks its days in one query."""
    out = []
    for table, cols in _TIMED.items():
        for event, tabs in (("INSERT", ("new_rows",)), ("UPDATE", ("new_rows", "old_rows"))):
            picks = " UNION ".join(_pg_days(r, cols) for r in tabs)
            fn = f"pm_rollup_{table}_{event.lower()}"
            out.append(
                f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN INSERT INTO rollup_dirty (site_id, day) SELECT DISTINCT s, d FROM "
                f"({picks}) AS marks WHERE s IS NOT NULL AND d IS NOT NULL "
                f"ON CONFLICT DO NOTHING; RETURN NULL; END $$"
            )
            ref = (
                "REFERENCING NEW TABLE AS new_rows"
                if event == "INSERT"
                else "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
            )
            out.append(
                f"CREATE TRIGGER rollup_{table}_{event.lower()} AFTER {event} ON "
                f"{table} {ref} FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
            )
    out.append(
        "CREATE OR REPLACE FUNCTION pm_rollup_step_result_insert() RETURNS trigger LANGUAGE "
        "plpgsql AS $$ BEGIN INSERT INTO rollup_dirty (site_id, day) SELECT DISTINCT "
        "r.site_id, substr(r.finished_at, 1, 10) FROM new_rows n JOIN run r ON r.id = "
        "n.run_id WHERE r.finished_at IS NOT NULL ON CONFLICT DO NOTHING; RETURN NULL; "
        "END $$"
    )
    out.append(
        "CREATE TRIGGER rollup_step_result_insert AFTER INSERT ON step_result "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
        "pm_rollup_step_result_insert()"
    )
    for table, site in (("route", "site_id"), ("site", "id"), ("playbook", "''")):
        fn = f"pm_rollup_{table}_all"
        out.append(
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN INSERT INTO rollup_dirty (site_id, day) SELECT DISTINCT "
            f"coalesce({site}, ''), '{ALL}' FROM new_rows ON CONFLICT DO NOTHING; "
            f"RETURN NULL; END $$"
        )
        for event in ("INSERT", "UPDATE"):
            ref = (
                "REFERENCING NEW TABLE AS new_rows"
                if event == "INSERT"
                else "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
            )
            out.append(
                f"CREATE TRIGGER rollup_{table}_{event.lower()} AFTER {event} ON "
                f"{table} {ref} FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
            )
    return out


def postgresql_drops() -> list[str]:
    out = [
        f"DROP TRIGGER IF EXISTS rollup_{t}_{e} ON {t}"
        for t in (*_TIMED, "route", "site", "playbook")
        for e in ("insert", "update")
    ]
    out.append("DROP TRIGGER IF EXISTS rollup_step_result_insert ON step_result")
    out += [
        f"DROP FUNCTION IF EXISTS pm_rollup_{t}_{e}()" for t in _TIMED for e in ("insert", "update")
    ]
    out += [f"DROP FUNCTION IF EXISTS pm_rollup_{t}_all()" for t in ("route", "site", "playbook")]
    out.append("DROP FUNCTION IF EXISTS pm_rollup_step_result_insert()")
    return out
