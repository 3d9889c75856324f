"""Checkpoints: the places inspections stop at, in a grid, with a position on the site plan
(x, y metres) or on the globe (lat, lon), and an optional QR/NFC tag."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlmodel import Session, col, select

from pm_cli import validate as v
from pm_cli.checkpoints.models import Checkpoint
from pm_cli.errors import ConflictError, PmError
from pm_cli.grids.models import Grid
from pm_cli.grids.service import get_grid
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.query import find_by_code, get_by_code, live, one_or_none


class Position(TypedDict):
    x: float | None
    y: float | None
    lat: float | None
    lon: float | None


def position(x: float | None, y: float | None, lat: float | None, lon: float | None) -> Position:
    """Both of x/y or neither, both of lat/lon or neither, lat/lon in range; ValueError."""
    if (x is None) != (y is None):
        raise ValueError("give both x and y (metres on the site plan), or neither")
    if (lat is None) != (lon is None):
        raise ValueError("give both lat and lon, or neither")
    if lat is not None and not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat} is outside -90…90")
    if lon is not None and not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon} is outside -180…180")
    return {"x": x, "y": y, "lat": lat, "lon": lon}


def number(text: str | float | None) -> float | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = float(str(text).strip().replace("，", "."))
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def record(cp: Checkpoint, grid_codes: dict[str, str]) -> dict[str, Any]:
    return {
        "code": cp.code,
        "name": cp.name,
        "grid": grid_codes.get(cp.grid_id),
        "x": cp.x,
        "y": cp.y,
        "lat": cp.lat,
        "lon": cp.lon,
        "tag_uid": cp.tag_uid,
        "tags": list(cp.tags or []),
    }


def grid_codes(session: Session, site: Site) -> dict[str, str]:
    return dict(session.exec(select(Grid.id, Grid.code).where(Grid.site_id == site.id)).all())


def get_checkpoint(session: Session, *, site: Site, code: str) -> Checkpoint:
    return get_by_code(
        session,
        Checkpoint,
        code,
        site_id=site.id,
        noun="checkpoint",
        where=site.code,
        hint="`pm checkpoint list` shows them",
    )


def _tag_owner(session: Session, site: Site, tag: str) -> Checkpoint | None:
    return one_or_none(
        session,
        live(Checkpoint, site.id).where(Checkpoint.tag_uid == tag),
        what=f"tag {tag}",
        where=site.code,
    )


def add_checkpoint(
    session: Session,
    *,
    site: Site,
    code: str,
    name: str,
    grid: str,
    x: float | None = None,
    y: float | None = None,
    lat: float | None = None,
    lon: float | None = None,
    tag_uid: str | None = None,
    tags: Any = None,
) -> Checkpoint:
    code = v.check(v.code, code, field="CODE")
    if find_by_code(session, Checkpoint, code, site_id=site.id, noun="checkpoint", where=site.code):
        raise ConflictError(
            f"checkpoint {code} already exists at {site.code}", hint=f"pm checkpoint edit {code} …"
        )
    g = get_grid(session, site=site, code=grid)
    pos = v.check(lambda _: position(x, y, lat, lon), None, field="--x/--y/--lat/--lon")
    tag = v.optional_text(tag_uid)
    if tag and (other := _tag_owner(session, site, tag)):
        raise ConflictError(f"tag {tag} is already on checkpoint {other.code}", where="--tag-uid")
    return write.create(
        session,
        Checkpoint,
        site_id=site.id,
        code=code,
        name=v.check(v.name, name, field="--name"),
        grid_id=g.id,
        tag_uid=tag,
        tags=v.check(v.tags, tags, field="--tag"),
        **pos,
    )


def edit_checkpoint(session: Session, *, site: Site, code: str, **changes: Any) -> Checkpoint:
    cp = get_checkpoint(session, site=site, code=code)
    values: dict[str, Any] = {}
    if changes.get("new_code") is not None:
        values["code"] = v.check(v.code, changes["new_code"], field="--code")
        other = find_by_code(
            session, Checkpoint, values["code"], site_id=site.id, noun="checkpoint", where=site.code
        )
        if other is not None and other.id != cp.id:
            raise ConflictError(f"checkpoint {values['code']} already exists")
    if changes.get("name") is not None:
        values["name"] = v.check(v.name, changes["name"], field="--name")
    if changes.get("grid") is not None:
        values["grid_id"] = get_grid(session, site=site, code=changes["grid"]).id
    pos = {
        k: changes[k] if k in changes and changes[k] is not None else getattr(cp, k)
        for k in ("x", "y", "lat", "lon")
    }
    values.update(v.check(lambda _: position(**pos), None, field="--x/--y/--lat/--lon"))
    if changes.get("tag_uid") is not None:
        tag = v.optional_text(changes["tag_uid"])
        if tag and (other := _tag_owner(session, site, tag)) and other.id != cp.id:
            raise ConflictError(f"tag {tag} is already on checkpoint {other.code}")
        values["tag_uid"] = tag
    if changes.get("tags") is not None:
        values["tags"] = v.check(v.tags, changes["tags"], field="--tags")
    write.update(session, cp, **values)
    return cp


def remove_checkpoint(session: Session, *, site: Site, code: str) -> Checkpoint:
    cp = get_checkpoint(session, site=site, code=code)
    write.delete(session, cp)
    return cp


def list_checkpoints(
    session: Session, *, site: Site, grid: str | None = None, tag: str | None = None
) -> list[dict[str, Any]]:
    stmt = live(Checkpoint, site.id)
    if grid:
        from pm_cli.grids.service import SiteView

        root = get_grid(session, site=site, code=grid)
        kids = SiteView(session, site).children()
        ids, stack = set(), [root.id]
        while stack:  # the grid and all its sub-grids
            gid = stack.pop()
            if gid not in ids:
                ids.add(gid)
                stack.extend(k.id for k in kids.get(gid, []))
        stmt = stmt.where(col(Checkpoint.grid_id).in_(ids))
    codes = grid_codes(session, site)
    rows = [record(cp, codes) for cp in session.exec(stmt.order_by(Checkpoint.code))]
    if tag:
        rows = [r for r in rows if tag in r["tags"]]
    return rows


def show(session: Session, *, site: Site, code: str) -> dict[str, Any]:
    return record(get_checkpoint(session, site=site, code=code), grid_codes(session, site))


def check_position(x: Any, y: Any, lat: Any, lon: Any) -> Position:
    """Parse and check a position given as text (bulk import)."""
    try:
        return position(number(x), number(y), number(lat), number(lon))
    except ValueError as e:
        raise PmError(str(e)) from None
