"""The demo's checkpoints (data/checkpoints.csv, loaded as `pm import --kind checkpoints`
loads them), a day and a night route through them, and the walks since the routes began."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

# (code, name, checkpoints in a walking order nobody optimised, playbook, schedule, window)
ROUTES = (
    (
        "DAY-1",
        "白班巡检 Day round",
        (
            "CP-G06",
            "CP-B01",
            "CP-A01",
            "CP-G05",
            "CP-A03",
            "CP-B02",
            "CP-G04",
            "CP-A06",
            "CP-G02",
            "CP-G03",
            "CP-G01",
        ),
        "security.patrol",
        "daily@09:00",
        "09:00-11:00",
    ),
    (
        "NIGHT-1",
        "夜班巡检 Night round",
        (
            "CP-P05",
            "CP-A02",
            "CP-P01",
            "CP-B04",
            "CP-P03",
            "CP-A04",
            "CP-P06",
            "CP-B03",
            "CP-P02",
            "CP-A05",
            "CP-P04",
            "CP-G01",
        ),
        "security.patrol",
        "daily@21:00",
        "21:00-23:30",
    ),
)

# walks the demo leaves undone (days ago → route → why): one missed, one cut short
DEMO_MISSED = {2: ("NIGHT-1", None), 4: ("NIGHT-1", "门锁未开 / door locked")}
WALKERS = {"DAY-1": "T06", "NIGHT-1": "T07"}


def build_routes(
    session: Session, site: Site, *, store_dir: Path, days: int = 6
) -> tuple[int, int]:
    """Checkpoints, a day and a night route (created `days` ago) and their walks since:
    every stop's checklist done, except one night missed and one night with a stop skipped
    (and today's walks that are not over yet). How many checkpoints and routes."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from pm_cli.demo.registers import load
    from pm_cli.demo.runs import answer_for
    from pm_cli.routes import service as routes
    from pm_cli.routes import walks
    from pm_cli.runs import service as runs
    from pm_cli.staff.service import get_staff
    from pm_cli.store.ids import utc_text

    zone = ZoneInfo(site.tz or "Asia/Shanghai")
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    checkpoints = load(session, "checkpoints", site=site)
    for code, name, stops, playbook, schedule, window in ROUTES:
        routes.add_route(
            session,
            site=site,
            code=code,
            name=name,
            stops=list(stops),
            playbook=playbook,
            schedule=schedule,
            window=window,
            created_at=utc_text(today - timedelta(days=days)),
        )
    session.flush()
    for day in range(days, -1, -1):
        for code, *_, window in ROUTES:
            missed_route, skip_reason = DEMO_MISSED.get(day, (None, None))
            if code == missed_route and skip_reason is None:
                continue
            at = (
                today
                - timedelta(days=day)
                + timedelta(hours=int(window[:2]), minutes=int(window[3:5]) + 4)
            )
            if at + timedelta(hours=2) > datetime.now(zone):
                continue  # today's walk not done yet
            by = get_staff(session, site=site, code=WALKERS[code])
            walk, _ = walks.start(session, site=site, code=code, by=by, at=at)
            wv = walks.view(session, walk)
            for stop in wv.stops:
                at += timedelta(minutes=5)
                if code == missed_route and stop.index == len(wv.stops) // 2:
                    walks.skip(
                        session,
                        site=site,
                        walk=walk,
                        stop=stop.index,
                        reason=skip_reason or "",
                        at=at,
                    )
                    continue
                st = walks.arrive(session, site=site, walk=walk, stop=stop.index, at=at)
                session.flush()
                if st.run is None:
                    continue  # a whole-route checklist is done at the last stop only
                for step in runs.view(session, st.run).steps:
                    runs.record(
                        session,
                        site=site,
                        run=st.run,
                        store_dir=store_dir,
                        answer=answer_for(step, False, store_dir / "none.jpg"),
                    )
                runs.finish(session, run=st.run, at=utc_text(at + timedelta(minutes=3)))
            walks.finish(session, walk=walk, at=at + timedelta(minutes=4))
    return checkpoints, len(ROUTES)
