"""Import of the risk register and of improvement items: every row checked first, then
written through the features' services (so levels, events and items follow the rules)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from pm_cli import validate as v
from pm_cli.errors import InputError, Problem
from pm_cli.grids.models import Grid
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store.fields import INT_MAX
from pm_cli.store.query import code_map, live
from pm_cli.transfer.readers import Row, Table

_BAD = object()


def _text(row: Row, key: str) -> str:
    raw = row.values.get(key)
    return "" if raw is None else str(raw).strip()


def _scale(text: str) -> int:
    if not text.isdigit() or len(text) > 1 or not 1 <= int(text) <= 5:
        raise ValueError(f"must be a whole number 1–5, not {text!r}")
    return int(text)


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("", "false", "no", "n", "0", "否"):
        return False
    if t in ("true", "yes", "y", "1", "是"):
        return True
    raise ValueError(f"yes or no, not {text!r}")


def _refs(session: Session, site: Site) -> tuple[dict[str, str], dict[str, str]]:
    grids = code_map(session, Grid, site_id=site.id, noun="grid", where=site.code,
                     value=Grid.id)
    staff = code_map(session, Staff, site_id=site.id, noun="staff member", where=site.code,
                     value=Staff.id)
    return grids, staff


class _Checker:
    def __init__(self, problems: list[Problem]):
        self.problems = problems

    def run(self, row: Row, key: str, parse: Any) -> Any:
        if key not in row.values:
            return _BAD
        raw = row.values[key]
        try:
            if isinstance(raw, list):  # JSON/YAML lists (multi-value columns)
                if parse is not v.split_list:
                    raise ValueError("expected text, not a list")
                return parse(raw)
            return parse(_text(row, key))
        except ValueError as e:
            self.problems.append(Problem(row.where, str(e), key))
            return _BAD

    def ref(self, row: Row, key: str, table: dict[str, str], noun: str, site: Site) -> Any:
        if key not in row.values:
            return _BAD
        code = _text(row, key)
        if not code:
            return None
        if code not in table:
            self.problems.append(Problem(row.where, f"no {noun} {code} at site {site.code}",
                                         key))
            return _BAD
        return code


def import_risks(session: Session, table: Table, *, site: Site,
                 dry_run: bool) -> tuple[int, int, int]:
    from pm_cli.risks import service as risks
    from pm_cli.risks.models import Risk
    from pm_cli.schedule import expand_shortcut, parse_rule

    problems: list[Problem] = []
    c = _Checker(problems)
    grids, staff = _refs(session, site)
    existing = code_map(session, Risk, site_id=site.id, noun="risk", where=site.code)
    seen: dict[str, str] = {}
    plans: list[tuple[str, Risk | None, dict[str, Any]]] = []
    for row in table.rows:
        code = c.run(row, "code", v.code)
        if code is _BAD:
            continue
        if code in seen:
            problems.append(Problem(row.where, f"code {code} appears more than once "
                                    f"({seen[code]}, {row.at})", "code"))
            continue
        seen[code] = row.at
        values = {
            "title": c.run(row, "title", v.name), "likelihood": c.run(row, "likelihood", _scale),
            "impact": c.run(row, "impact", _scale), "legal": c.run(row, "legal", _bool),
            "area": c.run(row, "area", v.optional_text),
            "cause": c.run(row, "cause", v.optional_text),
            "consequence": c.run(row, "consequence", v.optional_text),
            "controls": c.run(row, "controls", v.optional_text),
            "playbook_steps": c.run(row, "playbook_steps", v.split_list),
            "review": c.run(row, "review", lambda t: (parse_rule(t) and expand_shortcut(t))
                            if t else None),
            "status": c.run(row, "status", lambda t: _status(t)),
            "grid": c.ref(row, "grid", grids, "grid", site),
            "owner": c.ref(row, "owner", staff, "staff member", site),
        }
        values = {k: val for k, val in values.items() if val is not _BAD}
        current = existing.get(code)
        if current is None:
            missing = [k for k in ("title", "likelihood", "impact") if k not in values]
            for k in missing:
                problems.append(Problem(row.where, "required for a new risk", k))
            if not missing:
                plans.append((code, None, values))
        else:
            plans.append((code, current, values))
    if problems:
        raise InputError(problems, source=table.source)
    created = updated = unchanged = 0
    for code, current, values in plans:
        has_grid, has_owner = "grid" in values, "owner" in values
        grid_code, owner_code = values.pop("grid", None), values.pop("owner", None)
        grid_id = grids.get(grid_code) if grid_code else None
        owner_id = staff.get(owner_code) if owner_code else None
        if current is None:
            created += 1
            if not dry_run:
                risk, _ = risks.add_risk(
                    session, site=site, code=code, title=values["title"],
                    likelihood=values["likelihood"], impact=values["impact"],
                    legal=values.get("legal", False), controls=values.get("controls"),
                    cause=values.get("cause"), consequence=values.get("consequence"),
                    area=values.get("area"), playbook_steps=values.get("playbook_steps"),
                    review=values.get("review"), open_item=False)
                _set(session, risk, grid_id=grid_id, owner_id=owner_id,
                     status=values.get("status") or "open")
            continue
        li, im = values.pop("likelihood", current.likelihood), values.pop("impact",
                                                                          current.impact)
        fields = dict(values)
        if has_grid:
            fields["grid_id"] = grid_id
        if has_owner and owner_id:  # an empty owner keeps the one the rules chose
            fields["owner_id"] = owner_id
        diff = {k: val for k, val in fields.items() if getattr(current, k) != val}
        if not diff and (li, im) == (current.likelihood, current.impact):
            unchanged += 1
            continue
        updated += 1
        if not dry_run:
            if (li, im) != (current.likelihood, current.impact):
                risks.assess(session, site=site, code=code, likelihood=li, impact=im,
                             note="imported", open_item=False)
            _set(session, current, **diff)
    return created, updated, unchanged


def _status(text: str) -> str | None:
    t = text.strip().lower()
    if not t:
        return None
    if t not in ("open", "closed"):
        raise ValueError(f"open or closed, not {text!r}")
    return t


def _set(session: Session, row: Any, **values: Any) -> None:
    from pm_cli.store import write

    write.update(session, row, **{k: val for k, val in values.items()
                                  if val is not None or getattr(row, k) is not None})


ITEM_TEXT = ("description", "plan", "containment", "root_cause", "corrective", "preventive")


def import_items(session: Session, table: Table, *, site: Site,
                 dry_run: bool) -> tuple[int, int, int]:
    from pm_cli.pdca import service as pdca
    from pm_cli.pdca.models import Pdca

    problems: list[Problem] = []
    c = _Checker(problems)
    grids, staff = _refs(session, site)
    existing = {i.no: i for i in session.exec(live(Pdca, site.id)) if i.no}
    plans: list[tuple[int | None, Any, dict[str, Any]]] = []
    seen: dict[int, str] = {}
    for row in table.rows:
        no = c.run(row, "no", lambda t: _number(t)) if "no" in row.values else None
        if no is _BAD:
            continue
        if no is not None and no in seen:
            problems.append(Problem(row.where, f"item #{no} appears more than once", "no"))
            continue
        if no is not None:
            seen[no] = row.at
        values = {
            "title": c.run(row, "title", v.name),
            "severity": c.run(row, "severity", v.risk_level),
            "source": c.run(row, "source", lambda t: _source(t, pdca.SOURCES)),
            "source_ref": c.run(row, "source_ref", v.optional_text),
            "grid": c.ref(row, "grid", grids, "grid", site),
            "owner": c.ref(row, "owner", staff, "staff member", site),
            **{k: c.run(row, k, v.optional_text) for k in ITEM_TEXT},
        }
        values = {k: val for k, val in values.items() if val is not _BAD}
        current = existing.get(no) if no is not None else None
        if current is None:
            missing = [k for k in ("title", "severity") if k not in values]
            for k in missing:
                problems.append(Problem(row.where, "required for a new item", k))
            if not missing:
                plans.append((no, None, values))
        else:
            plans.append((no, current, values))
    if problems:
        raise InputError(problems, source=table.source)
    created = updated = unchanged = 0
    for no, current, values in plans:
        if current is None:
            created += 1
            if not dry_run:
                opened = pdca.add_item(
                    session, site=site, title=values["title"], severity=values["severity"],
                    grid=values.get("grid"), owner=values.get("owner"),
                    source=values.get("source") or "manual", source_ref=values.get("source_ref"),
                    description=values.get("description"), no=no)
                texts = {k: values[k] for k in ITEM_TEXT if values.get(k) and k != "description"}
                if texts:
                    pdca.edit(session, site=site, no=opened.item.no or 0, **texts)
            continue
        texts = {k: values[k] for k in ("title", *ITEM_TEXT) if k in values
                 and getattr(current, k) != values[k]}
        owner = values.get("owner")  # a staff code; None or absent: the owner stays
        new_owner: str | None = owner if owner and staff.get(owner) != current.owner_id else None
        if not texts and new_owner is None:
            unchanged += 1
            continue
        updated += 1
        if not dry_run:
            if texts:
                pdca.edit(session, site=site, no=no or 0, **texts)
            if new_owner is not None:
                pdca.assign(session, site=site, no=no or 0, staff=new_owner)
    return created, updated, unchanged


def _number(text: str) -> int | None:
    t = text.strip().lstrip("#")
    if not t:
        return None
    if not t.isdigit() or len(t) > 10 or not 1 <= int(t) <= INT_MAX:
        raise ValueError(f"an item number is a whole number from 1 to {INT_MAX:,} like 17, "
                         f"not {text[:20]!r}")
    return int(t)


def _source(text: str, sources: tuple[str, ...]) -> str | None:
    t = text.strip().lower()
    if not t:
        return None
    if t not in sources:
        raise ValueError(f"unknown source {text!r}: use {'|'.join(sources)}")
    return t


def import_checkpoints(session: Session, table: Table, *, site: Site, dry_run: bool,
                       grid: str | None = None) -> tuple[int, int, int]:
    """Checkpoints by code; `grid` is the grid of rows that name none (and of TSPLIB files)."""
    from pm_cli.checkpoints import service as checkpoints
    from pm_cli.checkpoints.models import Checkpoint

    problems: list[Problem] = []
    c = _Checker(problems)
    grids, _staff = _refs(session, site)
    if grid and grid not in grids:
        raise InputError([Problem("--grid", f"no grid {grid} at site {site.code}")],
                         source=table.source)
    existing = code_map(session, Checkpoint, site_id=site.id, noun="checkpoint",
                        where=site.code)
    tags_in_use = {cp.tag_uid: cp.code for cp in existing.values() if cp.tag_uid}
    seen: dict[str, str] = {}
    plans: list[tuple[str, Any, dict[str, Any]]] = []
    for row in table.rows:
        code = c.run(row, "code", v.code)
        if code is _BAD:
            continue
        if code in seen:
            problems.append(Problem(row.where, f"code {code} appears more than once "
                                    f"({seen[code]}, {row.at})", "code"))
            continue
        seen[code] = row.at
        values: dict[str, Any] = {
            "name": c.run(row, "name", v.name), "tag_uid": c.run(row, "tag_uid",
                                                                 v.optional_text),
            "tags": c.run(row, "tags", v.tags),
            **{k: c.run(row, k, checkpoints.number) for k in ("x", "y", "lat", "lon")},
        }
        g = c.ref(row, "grid", grids, "grid", site)
        values = {k: val for k, val in values.items() if val is not _BAD}
        current = existing.get(code)
        grid_code = g if g not in (_BAD, None) else None
        if grid_code is None and current is None:
            grid_code = grid
            if grid_code is None and ("grid" not in row.values or g is None):
                problems.append(Problem(row.where, "required for a new checkpoint (or pass "
                                        "--grid)", "grid"))
        if grid_code:
            values["grid_id"] = grids[grid_code]
        pos = {k: values.get(k, getattr(current, k) if current else None)
               for k in ("x", "y", "lat", "lon")}
        try:
            checkpoints.position(**pos)
        except ValueError as e:
            problems.append(Problem(row.where, str(e), "x"))
        tag = values.get("tag_uid")
        if tag and tags_in_use.get(tag, code) != code:
            problems.append(Problem(row.where, f"tag {tag} is already on checkpoint "
                                    f"{tags_in_use[tag]}", "tag_uid"))
        elif tag:
            tags_in_use[tag] = code
        if current is None and "name" not in values:
            problems.append(Problem(row.where, "required for a new checkpoint", "name"))
        plans.append((code, current, values))
    if problems:
        raise InputError(problems, source=table.source)
    created = updated = unchanged = 0
    from pm_cli.store import write

    for code, current, values in plans:
        if current is None:
            created += 1
            if not dry_run:
                write.create(session, Checkpoint, site_id=site.id, code=code,
                             name=values["name"], grid_id=values["grid_id"],
                             x=values.get("x"), y=values.get("y"), lat=values.get("lat"),
                             lon=values.get("lon"), tag_uid=values.get("tag_uid"),
                             tags=values.get("tags") or [])
            continue
        diff = {k: val for k, val in values.items() if getattr(current, k) != val}
        if not diff:
            unchanged += 1
            continue
        updated += 1
        if not dry_run:
            write.update(session, current, **diff)
    return created, updated, unchanged
