"""Checkpoints in files, matched by code: a grid (or `--grid` for rows that name none), a
position on the site plan or the globe, a QR/NFC tag no other checkpoint has. A TSPLIB
coordinate file reads as checkpoints too."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_cli import validate as v
from pm_cli.errors import InputError, Problem
from pm_cli.transfer.importer import (
    BAD,
    Importer,
    Plan,
    Progress,
    cell,
    code_duplicates,
    diff,
    reference,
    site_codes,
)
from pm_cli.transfer.table import Column, Row, Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

POSITION = ("x", "y", "lat", "lon")


class CheckpointsImporter(Importer):
    kind = plural = "checkpoints"
    columns = (
        Column("code", ("编码", "点位编码", "巡检点编码")),
        Column("name", ("名称", "点位名称", "巡检点")),
        Column("grid", ("网格", "网格编码")),
        Column("x", ("X", "横坐标")),
        Column("y", ("Y", "纵坐标")),
        Column("lat", ("纬度", "latitude")),
        Column("lon", ("经度", "longitude", "lng")),
        Column("tag_uid", ("标签码", "二维码", "NFC", "tag")),
        Column("tags", ("标签",), multi=True),
    )

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,
        progress: Progress | None = None,  # noqa: ARG002
    ) -> Plan:
        """Checkpoints by code; `grid` is the grid of rows that name none (and of TSPLIB
        files)."""
        from pm_cli.checkpoints import service as checkpoints
        from pm_cli.checkpoints.models import Checkpoint
        from pm_cli.store.query import code_map

        assert site is not None
        plan = Plan(site)
        problems = plan.problems
        grids, _staff = site_codes(session, site)
        if grid and grid not in grids:
            raise InputError(
                [Problem("--grid", f"no grid {grid} at site {site.code}")], source=table.source
            )
        existing = code_map(
            session, Checkpoint, site_id=site.id, noun="checkpoint", where=site.code
        )
        tags_in_use = {cp.tag_uid: cp.code for cp in existing.values() if cp.tag_uid}
        duplicates = code_duplicates(table.rows)
        for row in table.rows:
            planned = duplicates.check(row, problems)
            code = cell(row, "code", v.code, problems)
            if code is BAD or not planned:
                continue
            values: dict[str, Any] = {
                "name": cell(row, "name", v.name, problems),
                "tag_uid": cell(row, "tag_uid", v.optional_text, problems),
                "tags": cell(row, "tags", v.tags, problems),
                **{k: cell(row, k, checkpoints.number, problems) for k in POSITION},
            }
            g = reference(row, "grid", grids, "grid", site, problems)
            values = {k: val for k, val in values.items() if val is not BAD}
            current = existing.get(code)
            grid_code = g if g not in (BAD, None) else None
            if grid_code is None and current is None:
                grid_code = grid
                if grid_code is None and ("grid" not in row.values or g is None):
                    problems.append(
                        Problem(row.where, "required for a new checkpoint (or pass --grid)", "grid")
                    )
            if grid_code:
                values["grid_id"] = grids[grid_code]
            pos = {k: values.get(k, getattr(current, k) if current else None) for k in POSITION}
            try:
                checkpoints.position(**pos)
            except ValueError as e:
                problems.append(Problem(row.where, str(e), "x"))
            self._tag(row, code, values.get("tag_uid"), tags_in_use, problems)
            if current is None and "name" not in values:
                problems.append(Problem(row.where, "required for a new checkpoint", "name"))
            if current is None:
                plan.creates.append((code, values))
            elif change := diff(current, values):
                plan.updates.append((current, change))
            else:
                plan.unchanged += 1
        return plan

    @staticmethod
    def _tag(
        row: Row, code: str, tag: str | None, tags_in_use: dict[str, str], problems: list[Problem]
    ) -> None:
        """A tag is on one checkpoint only (of the site or of the file)."""
        if tag and tags_in_use.get(tag, code) != code:
            problems.append(
                Problem(
                    row.where, f"tag {tag} is already on checkpoint {tags_in_use[tag]}", "tag_uid"
                )
            )
        elif tag:
            tags_in_use[tag] = code

    def apply(self, session: Session, plan: Plan) -> None:
        from pm_cli.checkpoints.models import Checkpoint
        from pm_cli.store import write

        assert plan.site is not None
        for code, values in plan.creates:
            write.create(
                session,
                Checkpoint,
                site_id=plan.site.id,
                code=code,
                name=values["name"],
                grid_id=values["grid_id"],
                x=values.get("x"),
                y=values.get("y"),
                lat=values.get("lat"),
                lon=values.get("lon"),
                tag_uid=values.get("tag_uid"),
                tags=values.get("tags") or [],
            )
        for current, change in plan.updates:
            write.update(session, current, **change)

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        from pm_cli.checkpoints import service as checkpoints

        assert site is not None
        return checkpoints.list_checkpoints(session, site=site)

    def ordered(self, problems: list[Problem]) -> list[Problem]:
        """As found: row by row, each row's in the order they are checked."""
        return problems


def read_tsplib(path: Path) -> Table:
    """A TSPLIB coordinate file (NODE_COORD_SECTION, EUC_2D) as checkpoint rows: codes
    `<file stem>-<node>` (zero-padded, so code order is file order), x/y in metres."""
    from pm_cli.files import decode, read_bytes
    from pm_cli.routes.tsplib import read_tsplib as parse

    source = str(path)
    try:
        nodes = parse(decode(read_bytes(path), source, None), source)
    except ValueError as e:
        raise InputError([Problem(source, str(e))], source=source) from None
    width = len(str(len(nodes)))
    table = Table(source, ["code", "name", "x", "y"])
    for n, (node, x, y) in enumerate(nodes, 1):
        label = node.zfill(width) if node.isdigit() else node
        table.rows.append(
            Row(
                source,
                f"#{n}",
                {
                    "code": f"{path.stem}-{label}",
                    "name": f"{path.stem} {node}",
                    "x": str(x),
                    "y": str(y),
                },
            )
        )
    return table
