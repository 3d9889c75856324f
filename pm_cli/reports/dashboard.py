"""`pm dashboard`: one screen of the site: today's progress, overdue items, the hottest
grids, and the score with its weekly trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from pm_cli.sites.models import Site
from pm_cli.store.ids import utc_text

WEEKS = 6  # the trend: the score of each of the last six weeks
TOP = 10  # rows of each list
MAX_AGE_S = 300.0  # a live screen counts its figures again at least this often


class Changes:
    """Whether anything was written to the database since the last look: SQLite's
    `data_version`, read on a connection of the screen's own kept open for its life (it
    moves when any other connection commits a change; a redraw with nothing new reuses
    the figures instead of counting them again)."""

    def __init__(self, path: Path):
        import sqlite3

        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        self._last = self._version()

    def _version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        now = self._version()
        moved, self._last = now != self._last, now
        return moved

    def close(self) -> None:
        self._conn.close()


def refresh(session: Session, site: Site, now: datetime | None = None) -> int:
    """Bring the rollups the screen reads (its weeks and 30 days) up to date."""
    from pm_cli.reports import rollup

    t = now or datetime.now(UTC)
    return rollup.refresh(session, site=site, since=t - timedelta(weeks=WEEKS + 1), until=t, now=t)


def trend(session: Session, *, site: Site, now: datetime) -> list[dict[str, Any]]:
    """The score of each of the last calendar weeks (ISO, Monday to Sunday, site time; the
    current one so far), from one pass over the six weeks grouped by week. A week's score
    has no deductions (those are as at now) and counts risk reviews only in the current
    week (they are judged at the end)."""
    from pm_cli.dates import zone
    from pm_cli.reports import kpi, score

    local = now.astimezone(zone(site.tz))
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    since = (monday - timedelta(weeks=WEEKS - 1)).astimezone(UTC)
    facts = kpi.compute(session, site=site, p=kpi.Period(since, now, now), dims=("week",)).facts.by(
        "week"
    )
    out = []
    for w in range(WEEKS - 1, -1, -1):
        year, week, _ = (monday - timedelta(weeks=w)).isocalendar()
        name = f"{year}-W{week:02d}"
        s = score.score_of(facts[name], []) if name in facts else None
        out.append({"week": name, "score": s.score if s else None, "band": s.band if s else None})
    return out


def snapshot(
    session: Session,
    *,
    site: Site,
    now: datetime | None = None,
    with_trend: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the screen shows, at `now`; `with_trend` reuses a trend already worked out (it
    changes by the week, the rest by the minute)."""
    from pm_cli.pdca import service as pdca
    from pm_cli.reports import kpi, score
    from pm_cli.risks import service as risks
    from pm_cli.schedules import service as schedules

    t = now or datetime.now(UTC)
    day = schedules.today(session, site=site, now=t)
    counts = {
        k: day["counts"].get(k, 0) for k in ("done", "in progress", "to do", "upcoming", "missed")
    }
    overdue = pdca.list_items(session, site=site, overdue_only=True, now=t)
    rank = {"critical": 0, "major": 1, "minor": 2}
    overdue.sort(key=lambda i: (rank.get(i["severity"], 3), i["respond_by"]))
    heat = sorted(
        (g for g in risks.grid_heat(session, site=site, now=t) if g["heat"]),
        key=lambda g: (-g["heat"], g["grid"]),
    )
    month = score.score(
        kpi.compute(session, site=site, p=kpi.Period(t - timedelta(days=30), t, t), dims=())
    )
    return {
        "site": site.code,
        "name": site.name,
        "at": utc_text(t),
        "today": {
            "counts": counts,
            "due": len(day["due"]),
            "drills_due": len(day["drills"]),
            "reviews_due": len(day["reviews"]),
        },
        "overdue": {
            "count": len(overdue),
            "items": [
                {
                    "label": i["label"],
                    "severity": i["severity"],
                    "title": i["title"],
                    "owner": i["owner"],
                    "overdue": ", ".join(i["overdue"]),
                }
                for i in overdue[:TOP]
            ],
        },
        "heat": [
            {
                "grid": g["grid"],
                "name": g["name"],
                "heat": g["heat"],
                "level": g["level"],
                "failures": g["failures"],
                "overdue_items": g["overdue_items"],
            }
            for g in heat[:TOP]
        ],
        "score": {"score": month.score, "band": month.band, "days": 30},
        "trend": with_trend if with_trend is not None else trend(session, site=site, now=t),
    }


BARS = " ▁▂▃▄▅▆▇█"


def sparkline(scores: list[float | None]) -> str:
    """Scores 0–1000 as bars; a week with no score is a dot."""
    return "".join("·" if s is None else BARS[min(8, int(s / 1000 * 8 + 0.5))] for s in scores)
