"""Routes read with Core (`store.tables`): `pm route list|show` build no model class. The
service passes its session (its transaction) after a write."""

from __future__ import annotations

from typing import Any

from pm_cli.store import read, tables


def record(
    db: Any, route: Any, codes: tuple[dict[str, str], dict[str, str]] | None = None
) -> dict[str, Any]:
    """The route as `pm route show --json` prints it; `codes` (checkpoint and staff codes by
    id) when listing many, else only this route's are read."""
    if codes is None:
        conn = read.connection(db)
        codes = (
            read.codes_by_id(conn, tables.checkpoint, [s["checkpoint"] for s in route.stops]),
            read.codes_by_id(conn, tables.staff, [route.owner_id] if route.owner_id else []),
        )
    cps, staff = codes
    return {
        "code": route.code,
        "name": route.name,
        "owner": staff.get(route.owner_id) if route.owner_id else None,
        "stops": [
            {"checkpoint": cps.get(s["checkpoint"]), "playbook": s.get("playbook")}
            for s in route.stops
        ],
        "schedule": route.schedule,
        "window": (f"{route.window_start}-{route.window_end}" if route.window_start else None),
    }


def show(db: Any, *, site: Any, code: str) -> dict[str, Any]:
    conn = read.connection(db)
    route = read.get_by_code(
        conn,
        tables.route,
        code,
        site_id=site.id,
        noun="route",
        where=site.code,
        hint="`pm route list` shows the routes",
    )
    return record(conn, route)


def list_routes(db: Any, *, site: Any) -> list[dict[str, Any]]:
    """Every route, with two queries for the codes they name (not one per route)."""
    conn, t = read.connection(db), tables.route
    routes = conn.execute(read.live(t, site.id).order_by(t.c.code)).all()
    codes = (
        read.codes_by_id(
            conn, tables.checkpoint, [s["checkpoint"] for r in routes for s in r.stops]
        ),
        read.codes_by_id(conn, tables.staff, [r.owner_id for r in routes if r.owner_id]),
    )
    return [record(conn, r, codes) for r in routes]
