"""Head office's view of its sites (the sync server's `/reports`): each site's score, its
categories, its grids ranked and its weekly trend, the overdue items, and a grid split by
service; every figure from one `kpi.compute` of the site, the same as `pm report` on a
laptop. It reads whatever database it is given a session of (the server's typed tables are
the laptops' own)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from pm_cli.reports import kpi as kpis
from pm_cli.reports import score as scoring
from pm_cli.sites.models import Site

OVERDUE_SHOWN = 25


def _computed(
    session: Session,
    site: Site,
    frm: str | None,
    to: str | None,
    now: datetime | None,
    dims: tuple[str, ...],
) -> kpis.Kpis:
    from pm_cli.reports.service import period

    return kpis.compute(
        session, site=site, p=period(site, frm, to, now or datetime.now(UTC)), dims=dims
    )


def _head(site: Site, k: kpis.Kpis, s: scoring.Score) -> dict[str, Any]:
    from pm_cli.store.ids import utc_text

    p = k.period
    return {
        "site": site.code,
        "name": site.name,
        "tz": site.tz,
        "from": utc_text(p.since),
        "to": utc_text(p.until),
        "counted_to": utc_text(p.end),
        "score": s.score,
        "band": s.band,
        "categories": scoring.by_category(s),
        "overdue_critical": len(k.overdue_critical),
    }


def ended_days(site: Site, now: datetime | None = None, days: int = 30) -> tuple[str, str]:
    """The last `days` whole days up to yesterday (site time), as --from and --to: what the
    ranking of sites shows by default (an ended period: the same data, the same figures)."""
    from datetime import timedelta

    from pm_cli.dates import zone

    yesterday = (now or datetime.now(UTC)).astimezone(zone(site.tz)).date() - timedelta(days=1)
    return (yesterday - timedelta(days=days - 1)).isoformat(), yesterday.isoformat()


def summary(
    session: Session,
    *,
    site: Site,
    frm: str | None = None,
    to: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A site's row in the ranking: its score, band and the points of each category."""
    k = _computed(session, site, frm, to, now, ())
    return _head(site, k, scoring.score(k))


def site_overview(
    session: Session,
    *,
    site: Site,
    frm: str | None = None,
    to: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One site: the score with its lines and deductions, the KPIs, the grids ranked, the
    score of each ISO week of the period, and the items overdue at its end."""
    from pm_cli.pdca import read as pdca

    k = _computed(session, site, frm, to, now, ("grid", "week"))
    s = scoring.score(k)
    weeks = sorted(scoring.by(k, "week"), key=lambda g: g["week"])
    overdue = pdca.list_items(session, site=site, overdue_only=True, now=k.period.end)
    rank = {"critical": 0, "major": 1, "minor": 2}
    overdue.sort(key=lambda i: (rank.get(i["severity"], 3), i["respond_by"]))
    return {
        **_head(site, k, s),
        "lines": s.lines,
        "dropped": s.dropped,
        "deductions": s.deductions,
        "scaled_from": s.scaled_from,
        "kpis": [x.record() for x in k.kpis],
        "kpis_by_grid": [
            {
                "grid": grid,
                "kpis": [
                    {key: v for key, v in x.record().items() if key != "what"}
                    for x in group
                    if x.denominator
                ],
            }
            for grid, group in k.facts.by("grid").items()
        ],
        "grids": [
            {
                "grid": g["grid"],
                "score": g["score"],
                "band": g["band"],
                "measured": len(g["lines"]),
                "deductions": round(sum(d["points"] for d in g["deductions"]), 1),
            }
            for g in scoring.by(k, "grid")
        ],
        "trend": [{"week": w["week"], "score": w["score"]} for w in weeks],
        "overdue": {
            "count": len(overdue),
            "items": [
                {
                    "label": i["label"],
                    "severity": i["severity"],
                    "title": i["title"],
                    "grid": i["grid"],
                    "owner": i["owner"],
                    "respond_by": i["respond_by"],
                    "resolve_by": i["resolve_by"],
                    "overdue": i["overdue"],
                }
                for i in overdue[:OVERDUE_SHOWN]
            ],
        },
    }


def grid_overview(
    session: Session,
    *,
    site: Site,
    grid: str,
    frm: str | None = None,
    to: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One grid of a site split by service: each service's score and KPIs."""
    from pm_cli.errors import NotFoundError
    from pm_cli.store import read, tables
    from pm_cli.store.ids import utc_text

    conn = read.connection(session)
    row = read.find_by_code(conn, tables.grid, grid, site_id=site.id, noun="grid", where=site.code)
    if row is None:
        raise NotFoundError(f"no grid {grid} at {site.code}")
    k = _computed(session, site, frm, to, now, ("grid", "service"))
    facts = k.facts.only("grid", grid)
    mine = scoring.score_of(facts.total(), scoring.deductions(k, "grid", grid))
    services: list[dict[str, Any]] = []
    for service, group in facts.by("service").items():
        sc = scoring.score_of(group, [])
        services.append(
            {
                "service": service,
                "score": sc.score,
                "band": sc.band,
                "kpis": [x.record() for x in group if x.denominator],
            }
        )
    services.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["service"]))
    p = k.period
    return {
        "site": site.code,
        "grid": grid,
        "name": row.name,
        "from": utc_text(p.since),
        "to": utc_text(p.until),
        "counted_to": utc_text(p.end),
        "score": mine.score,
        "band": mine.band,
        "lines": mine.lines,
        "deductions": mine.deductions,
        "services": services,
    }


CSV_COLUMNS = ("site", "grid", "kpi", "label", "numerator", "denominator", "rate")


def kpi_rows(ov: dict[str, Any]) -> list[dict[str, Any]]:
    """A site's KPIs as rows for a spreadsheet or a BI tool: the site's own (grid empty),
    then each grid's."""
    rows = [{"site": ov["site"], "grid": None, **k} for k in ov["kpis"]]
    for g in ov["kpis_by_grid"]:
        rows += [{"site": ov["site"], "grid": g["grid"], **k} for k in g["kpis"]]
    return rows
