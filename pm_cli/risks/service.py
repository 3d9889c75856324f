"""The risk register: likelihood × impact → level by the matrix of domain.md §4, controls,
review schedules, and an improvement item when a risk is assessed critical."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col

from pm_cli import validate as v
from pm_cli.errors import ConflictError, NotFoundError, PmError
from pm_cli.grids.models import Grid
from pm_cli.risks.models import Risk, RiskEvent

# their home is risks.read; named here too, for the features that take them from the service
from pm_cli.risks.read import REVIEW as REVIEW
from pm_cli.risks.read import RiskState as RiskState
from pm_cli.risks.read import _parse as _parse
from pm_cli.risks.read import events_of as events_of
from pm_cli.risks.read import heatmap as heatmap
from pm_cli.risks.read import level as level
from pm_cli.risks.read import list_risks as list_risks
from pm_cli.risks.read import record as record
from pm_cli.risks.read import review_rule as review_rule
from pm_cli.risks.read import show as show
from pm_cli.risks.read import state as state
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.query import find_by_code, get_by_code, live

# Review schedule by level when a risk names none (domain.md §4: monthly, quarterly, yearly)
LIBRARY = Path(__file__).resolve().parent / "library.yaml"


def _scale(value: int | str, name: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise PmError(
            f"{name} must be a whole number 1–5, not {value!r}", where=f"--{name}"
        ) from None
    if not 1 <= n <= 5:
        raise PmError(
            f"{name} must be 1–5, not {n}",
            where=f"--{name}",
            hint="1 rarer than once in 10 years … 5 monthly or more (likelihood); "
            "1 no injury … 5 death or ≥ ¥1M (impact)",
        )
    return n


def get_risk(session: Session, *, site: Site, code: str) -> Risk:
    return get_by_code(
        session,
        Risk,
        code,
        site_id=site.id,
        noun="risk",
        where=site.code,
        hint="`pm risk list` shows the register",
    )


def _owner_for(session: Session, site: Site, lvl: str, grid: Grid | None) -> str | None:
    """minor: the grid's owner; major: the site manager; critical: an admin (company level),
    else the manager (domain.md §4)."""
    if lvl == "minor" and grid is not None and grid.owner_id:
        return grid.owner_id
    roles = ("admin", "manager") if lvl == "critical" else ("manager",)
    for role in roles:
        staff = session.exec(
            live(Staff, site.id).where(Staff.role == role).order_by(Staff.code)
        ).first()
        if staff:
            return staff.id
    return grid.owner_id if grid is not None else None


def open_item_if_critical(session: Session, site: Site, risk: Risk, by_id: str | None) -> Any:
    """A critical risk opens its improvement item (`pm risk add|edit`, and the demo's risks)."""
    if level(risk.likelihood, risk.impact, legal=risk.legal) != "critical":
        return None
    from pm_cli.findings.service import raise_finding

    return raise_finding(
        session,
        site_id=site.id,
        source="risk",
        source_ref=risk.id,
        title=f"重大风险 Critical risk {risk.code}: {risk.title}",
        severity="critical",
        grid_id=risk.grid_id,
        key=f"risk:{risk.id}",
        by_id=by_id,
    )


def add_risk(
    session: Session,
    *,
    site: Site,
    code: str,
    title: str,
    likelihood: int | str,
    impact: int | str,
    grid: str | None = None,
    controls: str | None = None,
    review: str | None = None,
    cause: str | None = None,
    consequence: str | None = None,
    area: str | None = None,
    owner: str | None = None,
    legal: bool = False,
    playbook_steps: list[str] | None = None,
    by_id: str | None = None,
    open_item: bool = True,
) -> tuple[Risk, Any]:
    """Register a risk; assessed critical, it opens an improvement item (unless `open_item`
    is off: a bulk import moves a register whose items are imported on their own)."""
    code = v.check(v.code, code, field="CODE")
    if find_by_code(session, Risk, code, site_id=site.id, noun="risk", where=site.code):
        raise ConflictError(
            f"risk {code} already exists at {site.code}", hint=f"pm risk assess {code} …"
        )
    li, im = _scale(likelihood, "likelihood"), _scale(impact, "impact")
    grid_row = None
    if grid:
        grid_row = find_by_code(session, Grid, grid, site_id=site.id, noun="grid", where=site.code)
        if grid_row is None:
            raise NotFoundError(f"no grid {grid} at {site.code}", where="--grid")
    if review:
        from pm_cli.recurrence import expand_shortcut, parse_rule

        v.check(parse_rule, review, field="--review")
        review = expand_shortcut(review)
    owner_id = None
    if owner:
        staff = find_by_code(
            session, Staff, owner, site_id=site.id, noun="staff member", where=site.code
        )
        if staff is None:
            raise PmError(f"{owner} is not staff of site {site.code}", where="--owner")
        owner_id = staff.id
    else:
        owner_id = _owner_for(session, site, level(li, im, legal=legal), grid_row)
    risk = write.create(
        session,
        Risk,
        site_id=site.id,
        code=code,
        title=v.check(v.name, title, field="--title"),
        area=area,
        grid_id=grid_row.id if grid_row else None,
        cause=v.optional_text(cause),
        consequence=v.optional_text(consequence),
        likelihood=li,
        impact=im,
        legal=legal,
        controls=v.optional_text(controls),
        playbook_steps=list(playbook_steps or []),
        owner_id=owner_id,
        review=review,
        status="open",
    )
    write.append(
        session,
        RiskEvent,
        site_id=site.id,
        risk_id=risk.id,
        kind="assess",
        likelihood=li,
        impact=im,
        by_id=by_id,
        note="registered",
    )
    return risk, (open_item_if_critical(session, site, risk, by_id) if open_item else None)


def assess(
    session: Session,
    *,
    site: Site,
    code: str,
    likelihood: int | str,
    impact: int | str,
    note: str | None = None,
    legal: bool | None = None,
    by_id: str | None = None,
    open_item: bool = True,
) -> tuple[Risk, Any]:
    risk = get_risk(session, site=site, code=code)
    li, im = _scale(likelihood, "likelihood"), _scale(impact, "impact")
    values: dict[str, Any] = {"likelihood": li, "impact": im}
    if legal is not None:
        values["legal"] = legal
    write.update(session, risk, **values)
    write.append(
        session,
        RiskEvent,
        site_id=site.id,
        risk_id=risk.id,
        kind="assess",
        likelihood=li,
        impact=im,
        by_id=by_id,
        note=v.optional_text(note),
    )
    return risk, (open_item_if_critical(session, site, risk, by_id) if open_item else None)


def review_risk(
    session: Session, *, site: Site, code: str, note: str | None = None, by_id: str | None = None
) -> Risk:
    risk = get_risk(session, site=site, code=code)
    write.append(
        session,
        RiskEvent,
        site_id=site.id,
        risk_id=risk.id,
        kind="review",
        likelihood=risk.likelihood,
        impact=risk.impact,
        by_id=by_id,
        note=v.optional_text(note),
    )
    return risk


def import_library(
    session: Session, *, site: Site, grid: str | None = None, by_id: str | None = None
) -> dict[str, int]:
    """Add the starter library's risks the site does not have yet (matched by code)."""
    from pm_cli.yamlfile import load_bundled

    items = load_bundled(LIBRARY.read_text(encoding="utf-8")) or []
    added = skipped = 0
    have = {r.code for r in session.exec(live(Risk, site.id))}
    for item in items:
        if item["code"] in have:
            skipped += 1
            continue
        add_risk(
            session,
            site=site,
            code=item["code"],
            title=item["title"],
            likelihood=item["likelihood"],
            impact=item["impact"],
            grid=grid,
            controls=item.get("controls"),
            cause=item.get("cause"),
            consequence=item.get("consequence"),
            area=item.get("area"),
            playbook_steps=item.get("playbook_steps"),
            by_id=by_id,
        )
        added += 1
    return {"added": added, "skipped": skipped, "library": len(items)}


def failed_steps_by_grid(session: Session, *, site_id: str, since: str) -> dict[str, int]:
    """Grid id → steps whose newest answer is a fail, in runs started since `since` (not
    aborted): one grouped query, whatever the history's length."""
    from sqlalchemy import func
    from sqlalchemy import select as sa_select

    from pm_cli.runs.models import Run, failed_answers

    run = Run.__table__
    f, fails = failed_answers()
    stmt = (
        sa_select(run.c.grid_id, func.count())
        .select_from(run.join(f, f.c.run_id == run.c.id))
        .where(
            run.c.site_id == site_id,
            run.c.deleted == False,  # noqa: E712
            run.c.started_at >= since,
            run.c.status != "aborted",
            run.c.grid_id.is_not(None),
            fails,
        )
        .group_by(run.c.grid_id)
    )
    return {str(gid): int(n) for gid, n in session.execute(stmt)}


def grid_heat(
    session: Session, *, site: Site, days: int = 30, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per grid: its worst open risk, failed steps in the last `days`, overdue items."""
    from pm_cli.pdca import service as pdca
    from pm_cli.store.ids import utc_text

    t = now or datetime.now(UTC)
    grids = list(session.exec(live(Grid, site.id).order_by(col(Grid.code))))
    worst: dict[str, str] = {}
    rank = {"minor": 1, "major": 2, "critical": 3}
    for r in session.exec(live(Risk, site.id).where(Risk.status == "open")):
        if r.grid_id:
            lvl = level(r.likelihood, r.impact, legal=r.legal)
            if rank[lvl] > rank.get(worst.get(r.grid_id, ""), 0):
                worst[r.grid_id] = lvl
    since = utc_text(t - timedelta(days=days))
    failures = failed_steps_by_grid(session, site_id=site.id, since=since)
    overdue: dict[str, int] = {}
    grid_id = {g.code: g.id for g in grids}
    for item in pdca.list_items(session, site=site, overdue_only=True, now=t):
        gid = grid_id.get(item["grid"])
        if gid:
            overdue[gid] = overdue.get(gid, 0) + 1
    out = []
    for g in grids:
        risk = worst.get(g.id)
        heat = rank.get(risk or "", 0) * 3 + failures.get(g.id, 0) + overdue.get(g.id, 0) * 2
        level_ = "critical" if heat >= 9 else "major" if heat >= 4 else "minor" if heat else None
        out.append(
            {
                "grid": g.code,
                "name": g.name,
                "risk": risk,
                "failures": failures.get(g.id, 0),
                "overdue_items": overdue.get(g.id, 0),
                "heat": heat,
                "level": level_,
            }
        )
    return sorted(out, key=lambda r: (-r["heat"], r["grid"]))
