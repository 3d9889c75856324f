"""Bulk import and export. Every row is validated before anything is written; one
transaction; upsert by code, so importing the same file twice changes nothing."""

from __future__ import annotations

import enum
import gc
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlmodel import Session, col, select

from pm_cli import validate as v
from pm_cli.errors import InputError, PmError, Problem, UsageError
from pm_cli.grids.models import Grid, GridDuty
from pm_cli.grids.service import SiteView, cycle_through
from pm_cli.sites import service as sites_service
from pm_cli.sites.models import Site
from pm_cli.staff import service as staff_service
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.ids import new_id
from pm_cli.store.query import CodeMap, code_map, live
from pm_cli.transfer.kinds import KINDS, keys, match
from pm_cli.transfer.readers import Row, Table, read_table

Progress = Callable[[int], object]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}", hint="use " + ", ".join(KINDS))
    return kind


@dataclass
class ImportReport:
    kind: str
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    rows: int = 0


@dataclass
class _Plan:
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    # grids only: (grid id, wanted duty texts) where the list changed
    duties: list[tuple[str, list[str]]] = field(default_factory=list)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Bulk work makes ~10 objects a row and frees none until it is done: the cyclic GC
    would walk them all again and again (~20% of a 100 k-row import) for nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read(path: Path, *, kind: str, encoding: str | None = None,
         sheet: str | None = None) -> Table:
    key, required = match(_kind(kind))
    if path.suffix.lower() == ".tsp":
        if kind != "checkpoints":
            raise UsageError("a TSPLIB file holds checkpoints", hint="--kind checkpoints")
        return _read_tsp(path)
    with _no_gc():
        return read_table(path, KINDS[kind], encoding=encoding, match=key, required=required,
                          sheet=sheet)


class _Bad(enum.Enum):
    """A cell that failed to parse (its problem is already recorded)."""

    BAD = enum.auto()


_BAD: Final = _Bad.BAD  # a one-member enum, so `x is _BAD` narrows x for the type checker


def _cell(row: Row, key: str, parse: Callable[[Any], Any], problems: list[Problem],
          *, multi: bool = False) -> Any:
    """Parse one cell; on failure record `FILE:ROW: column: reason` and return _BAD."""
    raw = row.values[key]
    if raw is None:
        raw = ""
    elif not isinstance(raw, str) and not (multi and isinstance(raw, list)):
        problems.append(Problem(row.where, "expected text, not a list", key))
        return _BAD
    try:
        return parse(raw)
    except ValueError as e:
        problems.append(Problem(row.where, str(e), key))
        return _BAD


def _duplicates(rows: list[Row], problems: list[Problem]) -> dict[str, Row]:
    """The first row of each code; a code twice in one file is a problem on each such row."""
    seen: dict[str, Row] = {}
    repeats: dict[str, list[Row]] = {}
    for row in rows:
        raw = row.values.get("code")
        if not isinstance(raw, str):
            continue
        code = raw.strip()
        if code in seen:
            repeats.setdefault(code, [seen[code]]).append(row)
        elif code:
            seen[code] = row
    for code, group in repeats.items():
        at = ", ".join(r.at for r in group)
        for row in group:
            problems.append(Problem(row.where, f"code {code} appears more than once ({at})",
                                    "code"))
    return seen


def _values(row: Row, specs: Mapping[str, Callable[[str], Any]],
            problems: list[Problem]) -> dict:
    out = {}
    for key, parse in specs.items():
        if key in row.values:
            value = _cell(row, key, parse, problems)
            if value is not _BAD:
                out[key] = value
    return out


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def run(text: str) -> Any:
        return parse(text) if text.strip() else None

    return run


def _diff(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in values.items() if getattr(row, k) != val}


def _plan_simple(
    table: Table, existing: dict[str, Any], specs: Mapping[str, Callable[[str], Any]],
    required: tuple[str, ...], noun: str, progress: Progress | None,
) -> _Plan:
    """Sites and staff: plain fields, matched by code."""
    plan = _Plan()
    problems = plan.problems
    first = _duplicates(table.rows, problems)
    for row in table.rows:
        code = _cell(row, "code", v.code, problems) if "code" in row.values else _BAD
        values = _values(row, specs, problems)
        if code is _BAD or first.get(code) is not row:
            continue
        current = existing.get(code)
        if current is None:
            missing = [k for k in required if k not in row.values]
            for key in missing:
                problems.append(Problem(row.where, f"required for a new {noun}", key))
            if not missing:
                plan.creates.append({"id": new_id(), "code": code, **values})
        elif diff := _diff(current, values):
            plan.updates.append((current, diff))
        else:
            plan.unchanged += 1
    if progress:
        progress(len(table.rows))
    return plan


_SITE_FIELDS = {"name": v.name, "tz": _optional(v.tz), "address": v.optional_text}
_STAFF_FIELDS = {"name": v.name, "role": v.role, "phone": v.optional_text,
                 "team": v.optional_text}


def _memo(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse` remembered per cell text: a column of a few repeated values (tags, duty lists,
    levels) is parsed once per value, not once per row. A list comes back as a new list."""
    seen: dict[str, tuple[bool, Any]] = {}

    def run(raw: Any) -> Any:
        if type(raw) is not str:
            return parse(raw)
        hit = seen.get(raw)
        if hit is None:
            try:
                hit = (True, parse(raw))
            except ValueError as e:
                hit = (False, str(e))
            if len(seen) < 100_000:
                seen[raw] = hit
        ok, value = hit
        if not ok:
            raise ValueError(value)
        return list(value) if type(value) is list else value

    return run


def _ref(row: Row, key: str, problems: list[Problem]) -> Any:
    """A code cell naming another record: the stripped code, "" for none, or _BAD."""
    return _cell(row, key, str.strip, problems)


def _plan_grids(session: Session, table: Table, site: Site, progress: Progress | None) -> _Plan:
    plan = _Plan()
    problems = plan.problems
    first = _duplicates(table.rows, problems)
    view = SiteView(session, site)
    existing = CodeMap(((g.code, g) for g in view.grids), noun="grid", where=site.code)
    staff_ids = code_map(session, Staff, site_id=site.id, noun="staff member",
                         where=site.code, value=Staff.id)
    ids = {code: (existing[code].id if code in existing else new_id()) for code in first}
    id_code = {g.id: g.code for g in view.grids} | {i: c for c, i in ids.items()}
    parents: dict[str, str | None] = {g.id: g.parent_id for g in view.grids}
    other_sites: set[str] | None = None
    parsed: list[tuple[Row, str, dict[str, Any], list[str] | None]] = []
    risk_level, tags, duties_of = _memo(v.risk_level), _memo(v.tags), _memo(v.duties)

    for row in table.rows:
        vals = row.values
        code = _cell(row, "code", v.code, problems) if "code" in vals else _BAD
        values: dict[str, Any] = {}
        if "name" in vals:
            x = _cell(row, "name", v.name, problems)
            if x is not _BAD:
                values["name"] = x
        if vals.get("risk_level"):  # an empty cell keeps the level (minor for a new grid)
            x = _cell(row, "risk_level", risk_level, problems)
            if x is not _BAD:
                values["risk_level"] = x
        if "tags" in vals:
            x = _cell(row, "tags", tags, problems, multi=True)
            if x is not _BAD:
                values["tags"] = x
        duties = None
        if "responsibilities" in vals:
            x = _cell(row, "responsibilities", duties_of, problems, multi=True)
            duties = None if x is _BAD else x
        if "owner" in vals:
            owner = _ref(row, "owner", problems)
            if owner is _BAD:
                pass
            elif not owner:
                values["owner_id"] = None
            elif owner in staff_ids:
                values["owner_id"] = staff_ids[owner]
            else:
                problems.append(Problem(row.where, f"{owner} is not staff of site {site.code}; "
                                        "import staff first (pm import FILE --kind staff)",
                                        "owner"))
        if "parent" in vals:
            parent = _ref(row, "parent", problems)
            if parent is _BAD:
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
                    other_sites = set(session.exec(
                        select(Grid.code).where(Grid.site_id != site.id,
                                                Grid.deleted == False)  # noqa: E712
                    ).all())
                why = (f"grid {parent} belongs to another site, not {site.code}"
                       if parent in other_sites else
                       f"no grid {parent} in the file or at site {site.code}")
                problems.append(Problem(row.where, why, "parent"))
        if code is _BAD or first.get(code) is not row:
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
                plan.creates.append({
                    "id": ids[code], "code": code, "name": values["name"],
                    "parent_id": values.get("parent_id"), "owner_id": values.get("owner_id"),
                    "risk_level": values.get("risk_level", "minor"),
                    "tags": values.get("tags", []),
                })
                if duties:
                    plan.duties.append((ids[code], duties))
            continue
        diff = _diff(current, values)
        duty_change = duties is not None and duties != current_duties.get(current.id, [])
        if duty_change:
            plan.duties.append((current.id, duties or []))
        if diff or duty_change:
            plan.updates.append((current, diff))
        else:
            plan.unchanged += 1
    if progress:
        progress(len(table.rows) - len(table.rows) // 2)
    plan.updates = _load_rows(session, Grid, plan.updates)
    return plan


def _load_rows(session: Session, model: type[Any], updates: list[tuple[Any, dict]]) -> list:
    """The ORM rows (with their field stamps) for planned updates found on plain rows."""
    out = []
    for start in range(0, len(updates), 500):
        chunk = updates[start:start + 500]
        rows = {r.id: r for r in session.exec(
            select(model).where(model.id.in_([row.id for row, _ in chunk])))}
        out += [(rows[row.id], diff) for row, diff in chunk]
    return out


def _apply_duties(session: Session, site: Site, wanted: list[tuple[str, list[str]]],
                  fresh: set[str] | frozenset[str] = frozenset()) -> None:
    """Make each grid's duty list the wanted one; `fresh`: grids this import created, which
    have none yet (not looked up)."""
    if not wanted:
        return
    grid_ids = [gid for gid, _ in wanted if gid not in fresh]
    have: dict[str, list[GridDuty]] = {}
    for chunk_start in range(0, len(grid_ids), 500):
        chunk = grid_ids[chunk_start:chunk_start + 500]
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


# ---- entry points ----------------------------------------------------------------------


def _read_tsp(path: Path) -> Table:
    """A TSPLIB coordinate file (NODE_COORD_SECTION, EUC_2D) as checkpoint rows: codes
    `<file stem>-<node>` (zero-padded, so code order is file order), x/y in metres."""
    from pm_cli.routes.tsplib import read_tsplib
    from pm_cli.transfer.readers import decode, read_bytes

    source = str(path)
    try:
        nodes = read_tsplib(decode(read_bytes(path), source, None), source)
    except ValueError as e:
        raise InputError([Problem(source, str(e))], source=source) from None
    width = len(str(len(nodes)))
    table = Table(source, ["code", "name", "x", "y"])
    for n, (node, x, y) in enumerate(nodes, 1):
        label = node.zfill(width) if node.isdigit() else node
        table.rows.append(Row(source, f"#{n}", {"code": f"{path.stem}-{label}",
                                                 "name": f"{path.stem} {node}",
                                                 "x": str(x), "y": str(y)}))
    return table


def _plan(session: Session, table: Table, *, kind: str, site: Site | None,
          progress: Progress | None) -> _Plan:
    if kind == "sites":
        sites = code_map(session, Site, site_id=None, noun="site", where="this database")
        return _plan_simple(table, sites, _SITE_FIELDS, ("name",), "site", progress)
    if site is None:
        raise UsageError(f"importing {kind} needs a site", hint="pass --site CODE")
    if kind == "staff":
        staff = code_map(session, Staff, site_id=site.id, noun="staff member",
                         where=site.code)
        return _plan_simple(table, staff, _STAFF_FIELDS, ("name", "role"), "staff member",
                            progress)
    return _plan_grids(session, table, site, progress)


def import_table(
    session: Session, table: Table, *, kind: str, site: Site | None, dry_run: bool = False,
    progress: Progress | None = None, grid: str | None = None,
) -> ImportReport:
    """Validate every row, then (unless dry_run) write them all in the caller's transaction.

    Consumes `table.rows` (the plan keeps what is written, so the parsed file can go).
    """
    rows = len(table.rows)
    if kind == "survey":
        from pm_cli.transfer.surveys import import_surveys

        if site is None:
            raise UsageError("importing surveys needs a site", hint="pass --site CODE")
        created, updated, unchanged = import_surveys(session, table, site=site,
                                                     dry_run=dry_run)
        return ImportReport(kind=kind, file=table.source, created=created, updated=updated,
                            unchanged=unchanged, dry_run=dry_run, rows=rows)
    if kind in ("risks", "items", "checkpoints"):
        from pm_cli.transfer import registers

        if site is None:
            raise UsageError(f"importing {kind} needs a site", hint="pass --site CODE")
        if kind == "checkpoints":
            created, updated, unchanged = registers.import_checkpoints(
                session, table, site=site, dry_run=dry_run, grid=grid)
        else:
            run = registers.import_risks if kind == "risks" else registers.import_items
            created, updated, unchanged = run(session, table, site=site, dry_run=dry_run)
        return ImportReport(kind=kind, file=table.source, created=created, updated=updated,
                            unchanged=unchanged, dry_run=dry_run, rows=rows)
    with _no_gc():
        plan = _plan(session, table, kind=kind, site=site, progress=progress)
        table.rows.clear()
        if plan.problems:
            raise InputError(sorted(plan.problems, key=_problem_order), source=table.source)
        report = ImportReport(kind=kind, file=table.source, created=len(plan.creates),
                              updated=len(plan.updates), unchanged=plan.unchanged,
                              dry_run=dry_run, rows=rows)
        if dry_run:
            return report
        if kind == "sites":
            for values in plan.creates:
                write.create(session, Site, site_id=values["id"], **values)
            for row, diff in plan.updates:
                write.update(session, row, **diff)
        else:
            assert site is not None
            model = Staff if kind == "staff" else Grid
            write.bulk_update(session, model, plan.updates)
            creates, plan.creates = plan.creates, []
            fresh = {c["id"] for c in creates}
            write.bulk_create(session, model, site_id=site.id, rows=_drain(creates))
            _apply_duties(session, site, plan.duties, fresh)
        return report


def _drain(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield and release each item, so written rows do not stay in memory."""
    items.reverse()
    while items:
        yield items.pop()


def _problem_order(p: Problem) -> tuple:
    tail = p.where.rsplit(":", 1)[-1].lstrip("#")
    return (int(tail) if tail.isdigit() else 0, p.column or "")


def records(session: Session, *, kind: str, site: Site | None) -> list[dict[str, Any]]:
    """What `pm export KIND` writes: the same records `pm … list --json` prints."""
    _kind(kind)
    if kind == "sites":
        return [sites_service.record(s) for s in sites_service.list_sites(session)]
    assert site is not None
    if kind == "staff":
        return [staff_service.record(s) for s in staff_service.list_staff(session, site=site)]
    if kind == "risks":
        from pm_cli.risks import service as risks

        return risks.list_risks(session, site=site)
    if kind == "items":
        from pm_cli.pdca import service as pdca

        return pdca.list_items(session, site=site, include_closed=True)
    if kind == "checkpoints":
        from pm_cli.checkpoints import service as checkpoints

        return checkpoints.list_checkpoints(session, site=site)
    if kind == "survey":
        from pm_cli.transfer import surveys

        return surveys.records(session, site=site)
    return SiteView(session, site).records()


def render(rows: list[dict[str, Any]], *, kind: str, fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(rows, allow_unicode=True, sort_keys=False,
                              default_flow_style=False).encode("utf-8")
    from pm_cli import sheets

    cols = keys(kind)
    if kind == "survey":  # each question its own column, in the order first met
        cols = [k for k in cols if k != "building"]
        cols += list(dict.fromkeys(k for r in rows for k in r if k not in cols))
    if fmt == "xlsx":
        return sheets.xlsx_bytes(kind, cols, rows)
    if fmt != "csv":
        raise UsageError(f"unknown format {fmt!r}", hint="use csv, json, yaml or xlsx")
    return sheets.csv_bytes(cols, rows)


def write_file(path: Path, data: bytes) -> None:
    """Write whole or not at all: a temporary file renamed over the target."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PmError(f"cannot write the file: {e.strerror}", where=str(path)) from None
