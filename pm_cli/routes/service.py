"""Inspection routes: ordered stops (checkpoint + playbook), a schedule and a shift window;
`optimize` reorders the stops to shorten the walk (pm_cli.routes.tsp)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from sqlmodel import Session

from pm_cli import validate as v
from pm_cli.checkpoints.models import Checkpoint
from pm_cli.errors import ConflictError, InputError, PmError, Problem
from pm_cli.routes.models import Route
from pm_cli.routes.read import list_routes as list_routes  # its home is routes.read
from pm_cli.routes.read import record as record
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.query import code_map, find_by_code, get_by_code, rows_by_id

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def get_route(session: Session, *, site: Site, code: str) -> Route:
    return get_by_code(
        session,
        Route,
        code,
        site_id=site.id,
        noun="route",
        where=site.code,
        hint="`pm route list` shows the routes",
    )


def _window(text: str | None) -> tuple[str | None, str | None]:
    """`08:00-10:00` (a window past midnight like 22:00-02:00 is allowed)."""
    if not text:
        return None, None
    parts = [p.strip() for p in text.replace("–", "-").split("-")]
    if len(parts) != 2 or not all(_HHMM.match(p) for p in parts):
        raise ValueError(f"a shift window is HH:MM-HH:MM, not {text!r}")
    if parts[0] == parts[1]:
        raise ValueError("the window starts and ends at the same time")
    start, end = (f"{int(p[:-3]):02d}:{p[-2:]}" for p in parts)
    return start, end


def _schedule(text: str | None) -> str | None:
    if not text:
        return None
    from pm_cli.recurrence import expand_shortcut, parse_rule

    v.check(parse_rule, text, field="--schedule")
    return expand_shortcut(text)


def _stops(
    session: Session, site: Site, codes: list[str], playbook: str | None, where: str
) -> list[dict[str, Any]]:
    cps = code_map(
        session,
        Checkpoint,
        site_id=site.id,
        noun="checkpoint",
        where=site.code,
        value=Checkpoint.id,
        codes=codes,
    )
    missing = [c for c in codes if c not in cps]
    if missing:
        raise PmError(
            f"no checkpoint {', '.join(missing)} at {site.code}",
            where=where,
            hint="`pm checkpoint list` shows them",
        )
    if not codes:
        raise PmError("a route needs at least one stop", where=where)
    pb = None
    if playbook:
        from pm_cli.playbooks.service import get

        pb = get(session, playbook).playbook.id
    return [{"checkpoint": cps[c], "playbook": pb} for c in codes]


def _owner(session: Session, site: Site, code: str | None) -> str | None:
    """The staff member who walks the route ('' or None: whoever is on shift)."""
    if not code:
        return None
    from pm_cli.staff.service import get_staff

    return get_staff(session, site=site, code=code).id


def grid_checkpoints(session: Session, site: Site, grid: str) -> list[str]:
    from pm_cli.checkpoints.service import list_checkpoints

    return [r["code"] for r in list_checkpoints(session, site=site, grid=grid)]


def add_route(
    session: Session,
    *,
    site: Site,
    code: str,
    name: str,
    stops: list[str] | None = None,
    from_grid: str | None = None,
    playbook: str | None = None,
    schedule: str | None = None,
    window: str | None = None,
    owner: str | None = None,
    created_at: str | None = None,
) -> Route:
    """A new route (`created_at` backdates it: walks are due from that day)."""
    code = v.check(v.code, code, field="CODE")
    if find_by_code(session, Route, code, site_id=site.id, noun="route", where=site.code):
        raise ConflictError(
            f"route {code} already exists at {site.code}", hint=f"pm route edit {code} …"
        )
    if bool(stops) == bool(from_grid):
        raise PmError(
            "give the stops: --stops CP1,CP2,… or --from-grid GRID", where="--stops/--from-grid"
        )
    codes = stops or grid_checkpoints(session, site, from_grid or "")
    start, end = v.check(_window, window, field="--window")
    return write.create(
        session,
        Route,
        site_id=site.id,
        code=code,
        created_at=created_at,
        name=v.check(v.name, name, field="--name"),
        stops=_stops(session, site, codes, playbook, "--stops"),
        schedule=_schedule(schedule),
        window_start=start,
        window_end=end,
        owner_id=_owner(session, site, owner),
    )


def edit_route(
    session: Session,
    *,
    site: Site,
    code: str,
    name: str | None = None,
    stops: list[str] | None = None,
    playbook: str | None = None,
    schedule: str | None = None,
    window: str | None = None,
    owner: str | None = None,
) -> Route:
    route = get_route(session, site=site, code=code)
    values: dict[str, Any] = {}
    if owner is not None:
        values["owner_id"] = _owner(session, site, owner)
    if name is not None:
        values["name"] = v.check(v.name, name, field="--name")
    if stops is not None:
        values["stops"] = _stops(session, site, stops, playbook, "--stops")
    elif playbook is not None:
        from pm_cli.playbooks.service import get

        pb = get(session, playbook).playbook.id
        values["stops"] = [{**s, "playbook": pb} for s in route.stops]
    if schedule is not None:
        values["schedule"] = _schedule(schedule)
    if window is not None:
        values["window_start"], values["window_end"] = v.check(_window, window, field="--window")
    write.update(session, route, **values)
    return route


def remove_route(session: Session, *, site: Site, code: str) -> Route:
    route = get_route(session, site=site, code=code)
    write.delete(session, route)
    return route


# ---- optimization ----------------------------------------------------------------------


def read_matrix(path: Path, codes: list[str]) -> list[list[float]]:
    """A square CSV: first row and column are checkpoint codes, metres in the cells
    (asymmetric allowed). Returns the rows/columns of `codes`, in that order."""
    from pm_cli.files import decode, read_bytes

    source = str(path)
    rows = list(csv.reader(io.StringIO(decode(read_bytes(path), source, None), newline="")))
    rows = [r for r in rows if any(c.strip() for c in r)]
    problems: list[Problem] = []
    if not rows:
        raise InputError([Problem(f"{source}:1", "the matrix file is empty")], source=source)
    header = [c.strip() for c in rows[0][1:]]
    index = {c: i for i, c in enumerate(header)}
    cells: dict[str, list[float]] = {}
    for n, r in enumerate(rows[1:], 2):
        code = r[0].strip() if r else ""
        if len(r) - 1 != len(header):
            problems.append(
                Problem(f"{source}:{n}", f"{len(r) - 1} cells, the header has {len(header)}")
            )
            continue
        values = []
        for col, cell in zip(header, r[1:], strict=True):
            try:
                value = float(cell.strip())
                if value < 0 or value != value:
                    raise ValueError
            except ValueError:
                problems.append(
                    Problem(f"{source}:{n}", f"not a distance in metres: {cell.strip()!r}", col)
                )
                value = 0.0
            values.append(value)
        cells[code] = values
    missing = [c for c in codes if c not in index or c not in cells]
    if missing:
        problems.append(Problem(f"{source}:1", "no row and column for " + ", ".join(missing)))
    if problems:
        raise InputError(problems, source=source)
    return [[cells[a][index[b]] for b in codes] for a in codes]


def optimize(
    session: Session,
    *,
    site: Site,
    code: str,
    start: str | None = None,
    end: str | None = None,
    open_route: bool = False,
    matrix: Path | None = None,
    time_limit: float | None = None,
    apply: bool = False,
    seed: int = 0,
    max_iterations: int | None = None,
) -> dict[str, Any]:
    """Reorder the stops to minimise the walk; `apply` saves the order."""
    from pm_cli.routes import tsp as opt

    route = get_route(session, site=site, code=code)
    by_id = {
        cp.id: cp
        for cp in rows_by_id(session, Checkpoint, [s["checkpoint"] for s in route.stops]).values()
        if cp.site_id == site.id
    }
    cps = [by_id[s["checkpoint"]] for s in route.stops]
    codes = [cp.code for cp in cps]
    if len(set(codes)) != len(codes):
        raise PmError(f"route {code} visits a checkpoint twice; optimize works on distinct stops")

    def index_of(c: str | None, where: str) -> int | None:
        if c is None:
            return None
        if c not in codes:
            raise PmError(f"{c} is not a stop of route {code}", where=where)
        return codes.index(c)

    kwargs: dict[str, Any] = {}
    plan = [(cp.x, cp.y) for cp in cps if cp.x is not None and cp.y is not None]
    globe = [(cp.lat, cp.lon) for cp in cps if cp.lat is not None and cp.lon is not None]
    if matrix is not None:
        kwargs["matrix"] = read_matrix(matrix, codes)
        metric = "matrix"
    elif len(plan) == len(cps):  # every stop has x/y
        kwargs["points"] = plan
        metric = "euclidean"
    elif len(globe) == len(cps):  # every stop has lat/lon
        kwargs["dist"] = opt.haversine(globe)
        metric = "haversine"
    else:
        no_pos = [cp.code for cp in cps if cp.x is None and cp.lat is None]
        raise PmError(
            "stops need positions: all x/y or all lat/lon"
            + (f" (none for {', '.join(no_pos[:5])})" if no_pos else ""),
            hint="pm checkpoint edit CODE --x X --y Y, or pass --matrix FILE.csv",
        )
    if time_limit is not None and time_limit <= 0:
        raise PmError("the time limit must be positive", where="--time-limit")
    tour = opt.solve(
        len(cps),
        start=index_of(start, "--start"),
        end=index_of(end, "--end"),
        closed=not open_route,
        time_limit=time_limit,
        seed=seed,
        max_iterations=max_iterations,
        **kwargs,
    )
    order = [codes[i] for i in tour.order]
    before, after = tour.initial_length, tour.length
    if after > before:  # never worse than what the site walks now
        order, after = codes, before
    if apply and order != codes:
        write.update(session, route, stops=[route.stops[codes.index(c)] for c in order])
    return {
        "route": route.code,
        "metric": metric,
        "closed": not open_route,
        "before_m": round(before, 1),
        "after_m": round(after, 1),
        "saving_pct": round(100 * (before - after) / before, 1) if before else 0.0,
        "order": order,
        "applied": apply and order != codes,
        "iterations": tour.iterations,
    }
