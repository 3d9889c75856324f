"""pm report …: the period from what people type, then the KPIs and the score of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from pm_cli.errors import UsageError
from pm_cli.reports import kpi as kpis
from pm_cli.reports import score as scoring
from pm_cli.sites.models import Site
from pm_cli.store.ids import utc_text

DEFAULT_DAYS = 30


def period(site: Site, frm: str | None, to: str | None, now: datetime | None = None) -> kpis.Period:
    """[the first day's local midnight, the day after the last day's) in the site's zone;
    by default the 30 days up to now."""
    from pm_cli.schedules.service import day_bounds, parse_day

    t = now or datetime.now(UTC)
    until = day_bounds(parse_day(to, site.tz, where="--to"), site.tz)[1] if to else t
    since = (
        day_bounds(parse_day(frm, site.tz, where="--from"), site.tz)[0]
        if frm
        else until - timedelta(days=DEFAULT_DAYS)
    )
    if since >= until:
        raise UsageError(
            f"--from comes after --to ({utc_text(since)} ≥ {utc_text(until)})",
            where="--from",
            hint="give the first day, then the last day",
        )
    return kpis.Period(since, until, t)


def refresh(session: Session, *, site: Site, since: datetime, until: datetime) -> int:
    """Bring the per-day rollups of [since, until) up to date (a write session); the
    days counted again."""
    from pm_cli.reports import rollup

    return rollup.refresh(session, site=site, since=since, until=until)


def refresh_period(
    session: Session,
    *,
    site: Site,
    frm: str | None = None,
    to: str | None = None,
    days_before: int = 0,
) -> int:
    """`refresh` for the period `pm report kpi|score` would count (and `days_before` more
    days before it: the previous quarter, the dashboard's weeks)."""
    p = period(site, frm, to)
    return refresh(session, site=site, since=p.since - timedelta(days=days_before), until=p.end)


def _head(k: kpis.Kpis) -> dict[str, Any]:
    p = k.period
    return {
        "site": k.site.code,
        "from": utc_text(p.since),
        "to": utc_text(p.until),
        "counted_to": utc_text(p.end),
    }


BY = ("site", "grid", "service", "staff", "month", "week")


def sites_held(session: Session) -> list[Site]:
    """Every live site of this database (`--by site`: each counted on its own)."""
    from sqlmodel import select

    return list(
        session.exec(
            select(Site)
            .where(Site.deleted == False)  # noqa: E712
            .order_by(Site.code)
        )
    )


def refresh_sites(session: Session, *, frm: str | None = None, to: str | None = None) -> int:
    """`refresh_period` for every site held (`--by site`)."""
    return sum(refresh_period(session, site=s, frm=frm, to=to) for s in sites_held(session))


def daily_report(
    session: Session,
    *,
    site: Site,
    day: str | None = None,
    shift: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    from pm_cli.reports import daily

    return daily.handover(session, site=site, day=day, shift=shift, now=now)


def sign_handover(
    session: Session,
    *,
    site: Site,
    giver: str,
    receiver: str,
    refuse: str | None = None,
    day: str | None = None,
    shift: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Sign the handover of a shift's report; the report as signed, with its sign-offs."""
    from pm_cli.reports import daily, handover

    t = now or datetime.now(UTC)
    rep = daily.handover(session, site=site, day=day, shift=shift, now=t)
    rec = handover.sign(
        session, site=site, rep=rep, giver=giver, receiver=receiver, refuse=refuse, now=t
    )
    rep["handover"].append(rec)
    return rep


def _dimension(by: str | None, *, extra: tuple[str, ...] = ()) -> str | None:
    if by is not None and by not in (*BY, *extra):
        raise UsageError(
            f"cannot group by {by!r}", where="--by", hint=f"use --by {'|'.join((*BY, *extra))}"
        )
    return by


def kpi_report(
    session: Session,
    *,
    site: Site,
    frm: str | None = None,
    to: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    dim = _dimension(by)
    k = kpis.compute(
        session,
        site=site,
        p=period(site, frm, to, now),
        dims=(dim,) if dim and dim != "site" else (),
    )
    rep = {
        **_head(k),
        "kpis": [x.record() for x in k.kpis],
        "figures": k.figures(),
        "drills": k.flow.drills,
        "satisfaction": _satisfaction(k),
    }
    if dim == "site":
        rep["by"] = "site"
        rep["groups"] = [
            {
                "site": s.code,
                "kpis": [
                    x.record()
                    for x in kpis.compute(session, site=s, p=period(s, frm, to, now), dims=()).kpis
                ],
            }
            for s in sites_held(session)
        ]
    elif dim:
        rep["by"] = dim
        # a group's KPIs without the sentence of what each counts (the site's `kpis` hold
        # it): 2,000 grids would repeat it 22,000 times
        rep["groups"] = [
            {dim: name, "kpis": [_short(x.record()) for x in group]}
            for name, group in k.facts.by(dim).items()
        ]
    return rep


def _short(rec: dict[str, Any]) -> dict[str, Any]:
    rec.pop("what", None)
    return rec


def _satisfaction(k: kpis.Kpis) -> dict[str, list[dict[str, Any]]]:
    """Owner satisfaction by grid and by month (its trend); empty lists with no survey."""
    out: dict[str, list[dict[str, Any]]] = {}
    for dim in ("grid", "month"):
        out[f"by_{dim}"] = [
            {dim: name, **rec}
            for name, group in k.facts.by(dim).items()
            for rec in [group[kpis.KEYS.index("satisfaction")].record()]
            if rec["denominator"]
        ]
    return out


def scheme(weights: Path | None) -> scoring.Scheme:
    """The score's rules: a company's weights file, else domain.md §7's."""
    if weights is None:
        return scoring.DEFAULT
    from pm_cli.reports.weights import load

    return load(weights)


def score_report(
    session: Session,
    *,
    site: Site,
    frm: str | None = None,
    to: str | None = None,
    by: str | None = None,
    weights: scoring.Scheme = scoring.DEFAULT,
    now: datetime | None = None,
) -> dict[str, Any]:
    dim = _dimension(by, extra=("category",))
    k = kpis.compute(
        session,
        site=site,
        p=period(site, frm, to, now),
        dims=(dim,) if dim and dim not in ("category", "site") else (),
    )
    s = scoring.score(k, weights)
    rep = {
        **_head(k),
        **s.record(),
        "weights": weights.source,
        "categories": scoring.by_category(s),
        "explain": scoring.explain(s),
    }
    if dim == "site":
        groups = []
        for other in sites_held(session):
            mine = kpis.compute(session, site=other, p=period(other, frm, to, now), dims=())
            groups.append({"site": other.code, **scoring.score(mine, weights).record()})
        rep["by"] = "site"
        rep["groups"] = sorted(
            groups, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["site"])
        )
    elif dim and dim != "category":
        rep["by"] = dim
        rep["groups"] = scoring.by(k, dim, weights)
    return rep


# ---- as files: the rows of a report ------------------------------------------------------


def kpi_rows(rep: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The KPI report as one table: a row per KPI (per group and KPI with --by)."""
    cols = ["kpi", "label", "numerator", "denominator", "rate", "what"]
    if "groups" in rep:
        dim = rep["by"]
        return [dim, *cols[:-1]], [
            {dim: g[dim], **k} for g in rep["groups"] for k in g["kpis"] if k["denominator"]
        ]
    return cols, rep["kpis"]


def score_rows(rep: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The score as one table: a row per line, per deduction, then the score itself (with
    --by: a row per group)."""
    if "groups" in rep:
        dim = rep["by"]
        return [dim, "score", "band", "measured", "deductions"], [
            {
                dim: g[dim],
                "score": g["score"],
                "band": g["band"],
                "measured": len(g["lines"]),
                "deductions": sum(d["points"] for d in g["deductions"]),
            }
            for g in rep["groups"]
        ]
    cols = ["kpi", "label", "category", "points", "max", "rate", "numerator", "denominator"]
    rows: list[dict[str, Any]] = [dict(ln) for ln in rep["lines"]]
    rows += [
        {"kpi": "deduction", "label": d["reason"], "points": -d["points"]}
        for d in rep["deductions"]
    ]
    rows.append(
        {
            "kpi": "score",
            "label": rep["band"] or "no score",
            "points": rep["score"],
            "max": 1000 if rep["score"] is not None else None,
        }
    )
    return cols, rows
