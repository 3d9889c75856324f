"""The demo's year of drills: each scenario planned and run at 90–100% of its targets, one
run missing the evacuation target so a finding and an item show."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

# (code, scenario, grid, schedule, months between runs)
DRILLS = (
    ("FIRE-A", "fire", "A", "FREQ=MONTHLY;INTERVAL=6", 6),
    ("FIRE-B", "fire", "B", None, 6),
    ("FLOOD-P", "flood", "P", None, 12),
    ("LIFT-A1", "elevator_entrapment", "A-EL-1", None, 6),
    ("POWER", "power_outage", None, None, 3),
    ("TYPHOON", "typhoon", None, None, 12),
)


def build_drills(session: Session, site: Site, *, seed: int = 11) -> int:
    """Drills planned per scenario, a year of runs at 90–100% of each target, one missing
    the evacuation target (12 minutes against 10) so a finding and an item show; how many
    drill runs."""
    import random
    from datetime import UTC, datetime, timedelta

    from pm_cli.drills import scenario as scenarios
    from pm_cli.drills import service as drills

    rnd = random.Random(seed)
    lib = scenarios.library()
    now = datetime.now(UTC)
    made = 0
    for code, sc_id, grid, schedule, months in DRILLS:
        if sc_id not in lib:
            continue
        drills.plan(session, site=site, code=code, scenario=sc_id, grid=grid, schedule=schedule)
        sc = lib[sc_id]
        for k in range(12 // months):
            t0 = (now - timedelta(days=30 * months * (k + 1) - 10)).replace(
                hour=6, minute=0, second=0, microsecond=0
            )  # 14:00 in Shanghai
            run = drills.start(
                session,
                site=site,
                code=code,
                at=t0,
                participants=rnd.randint(15, 60),
                observers="街道消防站 / sub-district fire station" if sc_id == "fire" else None,
                weather=rnd.choice(["晴 sunny", "多云 cloudy", "小雨 light rain"]),
            )
            last = 0.0
            for m in sc.milestones[1:]:
                target = m.target if m.target is not None else last + 5
                minutes = max(last, target * rnd.uniform(0.9, 1.0))
                if code == "FIRE-A" and k == 0 and m.id == "evacuated":
                    minutes = target + 2  # the miss the demo shows
                last = minutes
                drills.event(
                    session,
                    site=site,
                    run=run,
                    milestone=m.id,
                    at=t0 + timedelta(minutes=round(minutes, 2)),
                )
            drills.finish(session, site=site, run=run, at=t0 + timedelta(minutes=last + 10))
            made += 1
    return made
