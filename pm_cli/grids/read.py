"""A site's grids read with Core (`store.tables`): `pm grid list` and the records every grid
command prints build no model class. Services pass their session (its transaction)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from pm_cli import validate as v
from pm_cli.store import read, tables


class SiteView:
    """A site's grids, staff codes and duties loaded once, to build records without N+1."""

    def __init__(self, db: Any, site: Any):
        """`db`: a Session or a Connection; `site`: anything with the site's `id`."""
        conn = read.connection(db)
        self.site = site
        g, st, d = tables.grid, tables.staff, tables.grid_duty
        # plain rows: a site may have 100 k grids and this only reads them
        self.grids: list[Any] = list(
            conn.execute(
                sa.select(
                    g.c.id,
                    g.c.site_id,
                    g.c.code,
                    g.c.name,
                    g.c.parent_id,
                    g.c.owner_id,
                    g.c.risk_level,
                    g.c.tags,
                )
                .where(g.c.site_id == site.id, g.c.deleted == sa.false())
                .order_by(g.c.code)
            )
        )
        self.by_id = {row.id: row for row in self.grids}
        staff = conn.execute(sa.select(st.c.id, st.c.code).where(st.c.site_id == site.id))
        self.staff_code: dict[str, str] = dict(staff.all())
        self.duties: dict[str, list[str]] = defaultdict(list)
        for grid_id, text in conn.execute(
            sa.select(d.c.grid_id, d.c.text)
            .where(d.c.site_id == site.id, d.c.deleted == sa.false())
            .order_by(d.c.grid_id, d.c.position, d.c.created_at)
        ):
            self.duties[grid_id].append(text)

    def record(self, g: Any) -> dict[str, Any]:
        parent = self.by_id.get(g.parent_id) if g.parent_id else None
        return {
            "code": g.code,
            "name": g.name,
            "parent": parent.code if parent else None,
            "owner": self.staff_code.get(g.owner_id) if g.owner_id else None,
            "risk_level": g.risk_level,
            "tags": list(g.tags or []),
            "responsibilities": list(self.duties.get(g.id, [])),
        }

    def records(self) -> list[dict[str, Any]]:
        return [self.record(g) for g in self.grids]

    def children(self) -> dict[str | None, list[Any]]:
        """Grids by live parent id; a missing or deleted parent puts a grid at the top."""
        out: dict[str | None, list[Any]] = defaultdict(list)
        for g in self.grids:
            out[g.parent_id if g.parent_id in self.by_id else None].append(g)
        return out


def list_grids(
    db: Any,
    *,
    site: Any,
    parent: str | None = None,
    owner: str | None = None,
    risk: str | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    view = SiteView(db, site)
    rows = view.records()
    if parent is not None:
        read.get_by_code(
            read.connection(db),
            tables.grid,
            parent,
            site_id=site.id,
            noun="grid",
            where=site.code,
            hint=f"`pm grid list --site {site.code}` shows the grids",
        )
        rows = [r for r in rows if r["parent"] == parent]
    if owner is not None:
        rows = [r for r in rows if r["owner"] == owner]
    if risk is not None:
        level = v.check(v.risk_level, risk, field="--risk")
        rows = [r for r in rows if r["risk_level"] == level]
    if tag is not None:
        rows = [r for r in rows if tag in r["tags"]]
    return rows


def show_grid(db: Any, *, site: Any, code: str) -> dict[str, Any]:
    conn = read.connection(db)
    grid = read.get_by_code(
        conn,
        tables.grid,
        code,
        site_id=site.id,
        noun="grid",
        where=site.code,
        hint=f"`pm grid list --site {site.code}` shows the grids",
    )
    view = SiteView(conn, site)
    rec = view.record(grid)
    rec["children"] = [c.code for c in view.children().get(grid.id, [])]
    st = tables.staff
    owner = (
        conn.execute(sa.select(st.c.name).where(st.c.id == grid.owner_id)).first()
        if grid.owner_id
        else None
    )
    rec["owner_name"] = owner.name if owner else None
    return rec


def tree(db: Any, *, site: Any, root: str | None = None) -> list[dict[str, Any]]:
    """Nested nodes {code, name, owner, owner_name, risk_level, children} for `pm grid tree`."""
    conn, st = read.connection(db), tables.staff
    view = SiteView(conn, site)
    kids = view.children()
    names: dict[str, str] = {
        row.id: row.name
        for row in conn.execute(sa.select(st.c.id, st.c.name).where(st.c.site_id == site.id))
    }
    seen: set[str] = set()

    def node(g: Any) -> dict[str, Any]:
        seen.add(g.id)
        return {
            "code": g.code,
            "name": g.name,
            "owner": view.staff_code.get(g.owner_id) if g.owner_id else None,
            "owner_name": names.get(g.owner_id) if g.owner_id else None,
            "risk_level": g.risk_level,
            "children": [node(c) for c in kids.get(g.id, []) if c.id not in seen],
        }

    if root is not None:
        return [
            node(
                read.get_by_code(
                    conn,
                    tables.grid,
                    root,
                    site_id=site.id,
                    noun="grid",
                    where=site.code,
                    hint=f"`pm grid list --site {site.code}` shows the grids",
                )
            )
        ]
    nodes = [node(g) for g in kids.get(None, [])]
    # Grids caught in a cycle (possible only after a sync merge) show at the top level.
    nodes += [node(g) for g in view.grids if g.id not in seen]
    return nodes
