"""Grids in files: fields, an owner (staff code), a parent (a grid of the file or of the
site, no cycle) and the list of responsibilities (grid duties). The bulk path: 100 k rows
are planned and written in seconds (bench/import_bench.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from pm_cli import validate as v
from pm_cli.errors import Problem
from pm_cli.grids.models import Grid, GridDuty
from pm_cli.grids.service import SiteView, cycle_through
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.ids import new_id
from pm_cli.store.query import CodeMap, code_map, live
from pm_cli.transfer.importer import (
    BAD,
    Importer,
    Plan,
    Progress,
    cell,
    code_duplicates,
    diff,
    drain,
    load_rows,
    memo,
)
from pm_cli.transfer.table import Column, Row, Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site


@dataclass
class GridPlan(Plan):
    # (grid id, wanted duty texts) where the list changed
    duties: list[tuple[str, list[str]]] = field(default_factory=list)


def _ref(row: Row, key: str, problems: list[Problem]) -> Any:
    """A code cell naming another record: the stripped code, "" for none, or BAD."""
    return cell(row, key, str.strip, problems)


class GridsImporter(Importer):
    kind = plural = "grids"
    columns = (
        Column("code", ("编码", "网格编码")),
        Column("name", ("名称", "网格名称")),
        Column("parent", ("上级", "上级网格", "parent_code")),
        Column("owner", ("责任人", "负责人")),
        Column("risk_level", ("风险等级", "risk")),
        Column("tags", ("标签",), multi=True),
        Column("responsibilities", ("责任清单", "职责", "duties"), multi=True),
    )

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,  # noqa: ARG002
        progress: Progress | None = None,
    ) -> GridPlan:
        assert site is not None
        plan = GridPlan(site)
        problems = plan.problems
        duplicates = code_duplicates(table.rows)
        view = SiteView(session, site)
        existing = CodeMap(((g.code, g) for g in view.grids), noun="grid", where=site.code)
        staff_ids = code_map(
            session, Staff, site_id=site.id, noun="staff member", where=site.code, value=Staff.id
        )
        ids = {
            code: (existing[code].id if code in existing else new_id()) for code in duplicates.first
        }
        id_code = {g.id: g.code for g in view.grids} | {i: c for c, i in ids.items()}
        parents: dict[str, str | None] = {g.id: g.parent_id for g in view.grids}
        other_sites: set[str] | None = None
        parsed: list[tuple[Row, str, dict[str, Any], list[str] | None]] = []
        risk_level, tags, duties_of = memo(v.risk_level), memo(v.tags), memo(v.duties)

        for row in table.rows:
            vals = row.values
            planned = duplicates.check(row, problems)
            code = cell(row, "code", v.code, problems)
            values: dict[str, Any] = {}
            if "name" in vals:
                x = cell(row, "name", v.name, problems)
                if x is not BAD:
                    values["name"] = x
            if vals.get("risk_level"):  # an empty cell keeps the level (minor for a new grid)
                x = cell(row, "risk_level", risk_level, problems)
                if x is not BAD:
                    values["risk_level"] = x
            if "tags" in vals:
                x = cell(row, "tags", tags, problems, multi=True)
                if x is not BAD:
                    values["tags"] = x
            duties = None
            if "responsibilities" in vals:
                x = cell(row, "responsibilities", duties_of, problems, multi=True)
                duties = None if x is BAD else x
            if "owner" in vals:
                owner = _ref(row, "owner", problems)
                if owner is BAD:
                    pass
                elif not owner:
                    values["owner_id"] = None
                elif owner in staff_ids:
                    values["owner_id"] = staff_ids[owner]
                else:
                    problems.append(
                        Problem(
                            row.where,
                            f"{owner} is not staff of site "
                            f"{site.code}; import staff first "
                            "(pm import FILE --kind staff)",
                            "owner",
                        )
                    )
            if "parent" in vals:
                parent = _ref(row, "parent", problems)
                if parent is BAD:
                    pass
                elif not parent:
                    values["parent_id"] = None
                elif parent == code:
                    problems.append(Problem(row.where, "a grid cannot be its own parent", "parent"))
                elif parent in ids:
                    values["parent_id"] = ids[parent]
                elif parent in existing:
                    values["parent_id"] = existing[parent].id
                else:
                    if other_sites is None:
                        other_sites = set(
                            session.exec(
                                select(Grid.code).where(
                                    Grid.site_id != site.id,
                                    Grid.deleted == False,  # noqa: E712
                                )
                            ).all()
                        )
                    why = (
                        f"grid {parent} belongs to another site, not {site.code}"
                        if parent in other_sites
                        else f"no grid {parent} in the file or at site {site.code}"
                    )
                    problems.append(Problem(row.where, why, "parent"))
            if code is BAD or not planned:
                continue
            if "parent_id" in values:
                parents[ids[code]] = values["parent_id"]
            parsed.append((row, code, values, duties))
        if progress:
            progress(len(table.rows) // 2)

        # A cycle among the parent links that the file and the database make together
        done: set[str] = set()
        for row, code, _values, _duties in parsed:
            path = cycle_through(parents, ids[code], done)
            if path:
                chain = " → ".join(id_code.get(p, p) for p in reversed(path))
                problems.append(Problem(row.where, f"parent links make a cycle: {chain}", "parent"))

        current_duties = view.duties
        for row, code, values, duties in parsed:
            current = existing.get(code)
            if current is None:
                if "name" not in row.values:
                    problems.append(Problem(row.where, "required for a new grid", "name"))
                elif "name" in values:
                    plan.creates.append(
                        {
                            "id": ids[code],
                            "code": code,
                            "name": values["name"],
                            "parent_id": values.get("parent_id"),
                            "owner_id": values.get("owner_id"),
                            "risk_level": values.get("risk_level", "minor"),
                            "tags": values.get("tags", []),
                        }
                    )
                    if duties:
                        plan.duties.append((ids[code], duties))
                continue
            change = diff(current, values)
            duty_change = duties is not None and duties != current_duties.get(current.id, [])
            if duty_change:
                plan.duties.append((current.id, duties or []))
            if change or duty_change:
                plan.updates.append((current, change))
            else:
                plan.unchanged += 1
        if progress:
            progress(len(table.rows) - len(table.rows) // 2)
        plan.updates = load_rows(session, Grid, plan.updates)
        return plan

    def apply(self, session: Session, plan: Plan) -> None:
        assert isinstance(plan, GridPlan) and plan.site is not None
        write.bulk_update(session, Grid, plan.updates)
        creates, plan.creates = plan.creates, []
        fresh = {c["id"] for c in creates}
        write.bulk_create(session, Grid, site_id=plan.site.id, rows=drain(creates))
        _apply_duties(session, plan.site, plan.duties, fresh)

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        assert site is not None
        return SiteView(session, site).records()


def _apply_duties(
    session: Session,
    site: Site,
    wanted: list[tuple[str, list[str]]],
    fresh: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Make each grid's duty list the wanted one; `fresh`: grids this import created, which
    have none yet (not looked up)."""
    if not wanted:
        return
    grid_ids = [gid for gid, _ in wanted if gid not in fresh]
    have: dict[str, list[GridDuty]] = {}
    for chunk_start in range(0, len(grid_ids), 500):
        chunk = grid_ids[chunk_start : chunk_start + 500]
        for d in session.exec(live(GridDuty, site.id).where(col(GridDuty.grid_id).in_(chunk))):
            have.setdefault(d.grid_id, []).append(d)
    creates: list[dict[str, Any]] = []
    moves: list[tuple[Any, dict[str, Any]]] = []
    for grid_id, texts in wanted:
        current = {d.text: d for d in have.get(grid_id, [])}
        for position, text in enumerate(texts, 1):
            row = current.pop(text, None)
            if row is None:
                creates.append({"grid_id": grid_id, "text": text, "position": position})
            elif row.position != position:
                moves.append((row, {"position": position}))
        for gone in current.values():
            write.delete(session, gone)
    write.bulk_update(session, GridDuty, moves)
    write.bulk_create(session, GridDuty, site_id=site.id, rows=creates)
