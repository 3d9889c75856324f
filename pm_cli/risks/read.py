"""The risk register read with Core (`store.tables`): `pm risk list|show|heatmap` build no
model class. The rules of a risk's level and review clock live here too; the service passes
its session (its transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from pm_cli import validate as v
from pm_cli.store import read, tables

REVIEW = {"critical": "FREQ=MONTHLY", "major": "FREQ=MONTHLY;INTERVAL=3", "minor": "FREQ=YEARLY"}


def level(likelihood: int, impact: int, *, legal: bool = False) -> str:
    """R = L × I: 1–6 minor, 8–12 major, 15–25 critical; impact 5 or an open legal
    non-compliance is at least major."""
    r = likelihood * impact
    out = "critical" if r >= 15 else "major" if r >= 8 else "minor"
    if out == "minor" and (impact == 5 or legal):
        out = "major"
    return out


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def review_rule(risk: Any) -> str:
    return risk.review or REVIEW[level(risk.likelihood, risk.impact, legal=risk.legal)]


@dataclass
class RiskState:
    risk: Any
    level: str
    score: int
    last_review: str | None
    next_review: str | None
    review_overdue: bool


def state(risk: Any, events: list[Any], now: datetime | None = None) -> RiskState:
    from pm_cli.recurrence import parse_rule
    from pm_cli.store.ids import utc_text

    lvl = level(risk.likelihood, risk.impact, legal=risk.legal)
    reviews = [e.created_at for e in events if e.kind == "review"]
    last = max(reviews) if reviews else None
    since = _parse(last or risk.created_at).replace(tzinfo=None)
    rule = parse_rule(review_rule(risk), dtstart=since)
    nxt = rule.after(since)
    next_text = utc_text(nxt.replace(tzinfo=UTC)) if nxt else None
    t = now or datetime.now(UTC)
    overdue = bool(nxt and risk.status == "open" and nxt.replace(tzinfo=UTC) < t)
    return RiskState(risk, lvl, risk.likelihood * risk.impact, last, next_text, overdue)


def events_of(db: Any, risk: Any) -> list[Any]:
    t = tables.risk_event
    return list(
        read.connection(db).execute(sa.select(t).where(t.c.risk_id == risk.id).order_by(t.c.hlc))
    )


def record(
    db: Any,
    site: Any,
    rs: RiskState,
    *,
    history: bool = False,
    codes: tuple[dict[str, str], dict[str, str]] | None = None,
) -> dict[str, Any]:
    grids, staff = codes or read.id_codes(read.connection(db), site.id)
    r = rs.risk
    rec: dict[str, Any] = {
        "code": r.code,
        "title": r.title,
        "area": r.area,
        "grid": grids.get(r.grid_id) if r.grid_id else None,
        "likelihood": r.likelihood,
        "impact": r.impact,
        "score": rs.score,
        "level": rs.level,
        "legal": r.legal,
        "cause": r.cause,
        "consequence": r.consequence,
        "controls": r.controls,
        "playbook_steps": list(r.playbook_steps or []),
        "owner": staff.get(r.owner_id) if r.owner_id else None,
        "review": r.review,
        "review_rule": review_rule(r),
        "last_review": rs.last_review,
        "next_review": rs.next_review,
        "review_overdue": rs.review_overdue,
        "status": r.status,
    }
    if history:
        rec["history"] = [
            {
                "at": e.created_at,
                "kind": e.kind,
                "likelihood": e.likelihood,
                "impact": e.impact,
                "by": staff.get(e.by_id) if e.by_id else None,
                "note": e.note,
            }
            for e in events_of(db, r)
        ]
    return rec


def show(db: Any, *, site: Any, code: str) -> dict[str, Any]:
    risk = read.get_by_code(
        read.connection(db),
        tables.risk,
        code,
        site_id=site.id,
        noun="risk",
        where=site.code,
        hint="`pm risk list` shows the register",
    )
    return record(db, site, state(risk, events_of(db, risk)), history=True)


def list_risks(
    db: Any,
    *,
    site: Any,
    level_: str | None = None,
    grid: str | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    conn, t = read.connection(db), tables.risk
    risks = conn.execute(read.live(t, site.id).order_by(t.c.code)).all()
    events = read.children(conn, tables.risk_event, "risk_id", [r.id for r in risks])
    codes = read.id_codes(conn, site.id)
    want = v.check(v.risk_level, level_, field="--level") if level_ else None
    out = []
    for r in risks:
        rs = state(r, events.get(r.id, []), now)
        rec = record(conn, site, rs, codes=codes)
        if want and rs.level != want:
            continue
        if grid and rec["grid"] != grid:
            continue
        if overdue and not rs.review_overdue:
            continue
        out.append(rec)
    return out


def heatmap(db: Any, *, site: Any) -> dict[str, Any]:
    """Open risks counted in the likelihood × impact matrix (rows L 5→1, columns I 1→5)."""
    cells: dict[tuple[int, int], list[str]] = {
        (li, im): [] for li in range(1, 6) for im in range(1, 6)
    }
    t = tables.risk
    for r in read.connection(db).execute(read.live(t, site.id).where(t.c.status == "open")):
        cells[(r.likelihood, r.impact)].append(r.code)
    return {
        "cells": [
            {
                "likelihood": li,
                "impact": im,
                "score": li * im,
                "level": level(li, im),
                "count": len(codes),
                "risks": sorted(codes),
            }
            for (li, im), codes in sorted(cells.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
        ]
    }
