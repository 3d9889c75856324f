"""Grids (网格): a site's areas in a hierarchy, each with an owner, risk level, tags, duties."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from pm_cli import validate as v
from pm_cli.errors import ConflictError, PmError
from pm_cli.grids.models import Grid, GridDuty
from pm_cli.grids.read import SiteView as SiteView  # the Core reads, for the rest
from pm_cli.grids.read import list_grids as list_grids
from pm_cli.grids.read import show_grid as show_grid  # its home is grids.read
from pm_cli.grids.read import tree as tree
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.query import find_by_code, get_by_code, live

# ---- reading ---------------------------------------------------------------------------


def id_codes(session: Session, site: Site) -> tuple[dict[str, str], dict[str, str]]:
    """Grid and staff codes by id (deleted rows too, so history still names them)."""
    grids = dict(session.exec(select(Grid.id, Grid.code).where(Grid.site_id == site.id)).all())
    staff = dict(session.exec(select(Staff.id, Staff.code).where(Staff.site_id == site.id)).all())
    return grids, staff


def find_grid(session: Session, *, site: Site, code: str) -> Grid | None:
    return find_by_code(session, Grid, code, site_id=site.id, noun="grid", where=site.code)


def get_grid(session: Session, *, site: Site, code: str) -> Grid:
    return get_by_code(
        session,
        Grid,
        code,
        site_id=site.id,
        noun="grid",
        where=site.code,
        hint=f"`pm grid list --site {site.code}` shows the grids",
    )


# ---- rules -----------------------------------------------------------------------------


def cycle_through(
    parents: dict[str, str | None], start: str, done: set[str] | None = None
) -> list[str]:
    """The ids round a cycle of parent links through `start` (start first and last), or [].

    `done` collects ids known to lead to a root, so a caller checking many grids walks
    each chain once (a 100 k-row import stays linear).
    """
    done = set() if done is None else done
    if start in done:
        return []
    seen: set[str] = set()
    path: list[str] = []
    node: str | None = start
    while node is not None and node not in seen and node not in done:
        seen.add(node)
        path.append(node)
        node = parents.get(node)
    if node == start:
        return [*path, start]
    if node is None or node in done:
        done.update(seen)
    return []


def _owner(session: Session, site: Site, code: str | None) -> str | None:
    if code is None or not code.strip():
        return None
    staff = find_by_code(
        session, Staff, code.strip(), site_id=site.id, noun="staff member", where=site.code
    )
    if staff is None:
        raise PmError(
            f"owner {code} is not staff of site {site.code}",
            where="--owner",
            hint=f"add them first: pm staff add {code} --name NAME --role lead",
        )
    return staff.id


def _parent(session: Session, site: Site, code: str | None) -> Grid | None:
    if code is None or not code.strip():
        return None
    parent = find_grid(session, site=site, code=code.strip())
    if parent is None:
        other = session.exec(
            live(Grid).where(Grid.code == code.strip(), Grid.site_id != site.id)
        ).first()
        if other is not None:
            raise PmError(
                f"parent {code} is a grid of another site, not of {site.code}", where="--parent"
            )
        raise PmError(
            f"no parent grid {code} at {site.code}",
            where="--parent",
            hint="add the parent first, or leave --parent out for a top-level grid",
        )
    return parent


def add_grid(
    session: Session,
    *,
    site: Site,
    code: str,
    name: str,
    parent: str | None = None,
    owner: str | None = None,
    risk: str | None = None,
    tags: Iterable[str] | str | None = None,
    duties: Iterable[str] = (),
) -> Grid:
    code = v.check(v.code, code, field="code")
    if find_grid(session, site=site, code=code):
        raise ConflictError(
            f"grid {code} already exists at {site.code}", hint=f"pm grid edit {code} …"
        )
    parent_row = _parent(session, site, parent)
    grid = write.create(
        session,
        Grid,
        site_id=site.id,
        code=code,
        name=v.check(v.name, name, field="--name"),
        parent_id=parent_row.id if parent_row else None,
        owner_id=_owner(session, site, owner),
        risk_level=v.check(v.risk_level, risk, field="--risk") if risk else "minor",
        tags=v.check(v.tags, tags, field="--tag"),
    )
    for text in duties:
        add_duty(session, site=site, grid=grid, text=text)
    return grid


def edit_grid(
    session: Session,
    *,
    site: Site,
    code: str,
    new_code: str | None = None,
    name: str | None = None,
    parent: str | None = None,
    owner: str | None = None,
    risk: str | None = None,
    tags: Iterable[str] | str | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
) -> Grid:
    """Change what is given; `parent=""` moves to the top, `owner=""` clears the owner."""
    grid = get_grid(session, site=site, code=code)
    values: dict[str, Any] = {}
    if new_code is not None:
        values["code"] = v.check(v.code, new_code, field="--code")
        other = find_grid(session, site=site, code=values["code"])
        if other is not None and other.id != grid.id:
            raise ConflictError(f"grid {values['code']} already exists at {site.code}")
    if name is not None:
        values["name"] = v.check(v.name, name, field="--name")
    if parent is not None:
        parent_row = _parent(session, site, parent)
        values["parent_id"] = parent_row.id if parent_row else None
        check_no_cycle(session, site=site, grid=grid, parent_id=values["parent_id"])
    if owner is not None:
        values["owner_id"] = _owner(session, site, owner)
    if risk is not None:
        values["risk_level"] = v.check(v.risk_level, risk, field="--risk")
    new_tags = list(grid.tags or [])
    if tags is not None:
        new_tags = v.check(v.tags, tags, field="--tags")
    new_tags += [t for t in v.check(v.tags, list(add_tags), field="--tag") if t not in new_tags]
    drop = set(v.split_list(list(remove_tags)))
    new_tags = [t for t in new_tags if t not in drop]
    if new_tags != list(grid.tags or []):
        values["tags"] = new_tags
    write.update(session, grid, **values)
    return grid


def check_no_cycle(session: Session, *, site: Site, grid: Grid, parent_id: str | None) -> None:
    if parent_id is None:
        return
    rows = session.exec(
        select(Grid.id, Grid.parent_id, Grid.code).where(
            Grid.site_id == site.id,
            Grid.deleted == False,  # noqa: E712
        )
    )
    parents: dict[str, str | None] = {}
    codes: dict[str, str] = {}
    for gid, pid, gcode in rows:
        parents[gid], codes[gid] = pid, gcode
    parents[grid.id] = parent_id
    path = cycle_through(parents, grid.id)
    if path:
        chain = " → ".join(codes.get(p, p) for p in reversed(path))
        raise ConflictError(
            f"grid {grid.code} cannot move under {codes.get(parent_id, parent_id)}: that grid "
            f"is inside it ({chain})",
            where="--parent",
            hint="move the descendant out first, or pick a parent outside this branch",
        )


def assign(session: Session, *, site: Site, code: str, staff: str) -> Grid:
    grid = get_grid(session, site=site, code=code)
    write.update(session, grid, owner_id=_owner(session, site, staff))
    return grid


def remove_grid(session: Session, *, site: Site, code: str, recursive: bool = False) -> list[str]:
    """Tombstone a grid (and with `recursive` its whole branch); returns the removed codes."""
    grid = get_grid(session, site=site, code=code)
    view = SiteView(session, site)
    kids = view.children()
    if kids.get(grid.id) and not recursive:
        names = ", ".join(c.code for c in kids[grid.id][:5])
        raise ConflictError(
            f"grid {code} still has {len(kids[grid.id])} child grid(s): {names}",
            hint=f"move them first (pm grid edit CHILD --parent …), or pm grid remove {code} "
            "--recursive",
        )
    branch, stack, seen = [], [grid], set()
    while stack:
        g = stack.pop()
        if g.id in seen:
            continue
        seen.add(g.id)
        branch.append(g)
        stack.extend(kids.get(g.id, []))
    ids = [g.id for g in branch]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for d in session.exec(live(GridDuty, site.id).where(col(GridDuty.grid_id).in_(chunk))):
            write.delete(session, d)
        rows = {g.id: g for g in session.exec(select(Grid).where(col(Grid.id).in_(chunk)))}
        for gid in chunk:
            write.delete(session, rows[gid])
    return [g.code for g in branch]


# ---- duties ----------------------------------------------------------------------------


def duties(session: Session, *, grid: Grid) -> list[GridDuty]:
    return list(
        session.exec(
            live(GridDuty, grid.site_id)
            .where(GridDuty.grid_id == grid.id)
            .order_by(col(GridDuty.position), col(GridDuty.created_at))
        )
    )


def add_duty(session: Session, *, site: Site, grid: Grid, text: str) -> GridDuty:
    value = v.check(v.duty, text, field="TEXT")
    existing = duties(session, grid=grid)
    if any(d.text == value for d in existing):
        raise ConflictError(f"grid {grid.code} already has that duty")
    position = max((d.position for d in existing), default=0) + 1
    return write.create(
        session, GridDuty, site_id=site.id, grid_id=grid.id, text=value, position=position
    )


def remove_duty(session: Session, *, site: Site, code: str, number: int) -> GridDuty:
    grid = get_grid(session, site=site, code=code)
    rows = duties(session, grid=grid)
    if not 1 <= number <= len(rows):
        raise PmError(
            f"grid {code} has {len(rows)} duties; there is no number {number}",
            where="NUMBER",
            hint=f"pm grid show {code} lists them in order",
        )
    write.delete(session, rows[number - 1])
    return rows[number - 1]
