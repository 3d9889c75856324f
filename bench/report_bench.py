"""Reports on the company-scale site (issue #17): the year of a 2,000-grid site that
`bench/scale_bench.py` builds and keeps, timed as fresh `pm` processes next to `pm --version`.

    python bench/scale_bench.py --levels 1 --keep /tmp/scale      # builds the year once
    python bench/report_bench.py --keep /tmp/scale [--level 1] [--repeat 3]

Targets (issue #17): `pm report kpi --by grid` and `pm report score` for a year within 2 s on
the laptop; `pm dashboard` (one frame) under 0.5 s. The figures are of reports reading the
per-day rollups (the usual case: any report keeps them current); the first line is the one
report that counts a year into them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_bench  # noqa: E402  (the site it builds, and its timer)

COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("pm --version", ["--version"], None),
    ("report kpi (30 days)", ["report", "kpi"], None),
    ("report kpi --by grid (year)", ["report", "kpi", "--by", "grid", "--from", "-365"], 2.0),
    ("report score (year)", ["report", "score", "--from", "-365"], 2.0),
    ("report score --by grid (year)", ["report", "score", "--by", "grid", "--from", "-365"], None),
    ("report daily", ["report", "daily"], None),
    ("dashboard --once", ["dashboard", "--once"], 0.5),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=Path, required=True, help="scale_bench.py's --keep folder")
    ap.add_argument("--level", default="1", help="which kept level (1 = 100 %%)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    db = args.keep / f"site-{args.level}.db"
    work = args.keep / f"work-{args.level}"
    if not db.exists():
        sys.exit(f"no {db}: run bench/scale_bench.py --levels {args.level} --keep {args.keep}")
    env = {
        **os.environ,
        "PM_DB": str(db),
        "PM_CONFIG": str(work / "config.toml"),
        "PM_SITE": scale_bench.SITE,
        "COLUMNS": "160",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # the first report after a year of work counts every day once into the per-day rollups
    # (reports.rollup); it is timed alone, from a file whose rollups are forgotten
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("DELETE FROM kpi_day_done")
    con.commit()
    con.close()
    cold = scale_bench.timed([*scale_bench.PM, "report", "score", "--from", "-365"], env)
    print(
        f"{'report score (year), cold':<32} {cold[0]:7.2f} {cold[1]:8.0f}  (counts the "
        "rollups of every day once)"
    )
    print(f"{'command':<32} {'wall s':>7} {'peak MB':>8}  target")
    for name, argv, target in COMMANDS:
        runs = [scale_bench.timed([*scale_bench.PM, *argv], env) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        verdict = (
            "" if target is None else (f"≤ {target} s  {'met' if wall <= target else 'MISSED'}")
        )
        print(f"{name:<32} {wall:7.2f} {peak:8.0f}  {verdict}")
    took = statistics.median(redraws(env))
    print(
        f"{'dashboard redraw (live screen)':<32} {took:7.2f} {'':>8}  ≤ 0.5 s  "
        f"{'met' if took <= 0.5 else 'MISSED'} (nothing written between redraws)"
    )


def redraws(env: dict[str, str], frames: int = 6) -> list[float]:
    """`pm dashboard --every 1` on a pseudo-terminal: the seconds each redraw took beyond
    the one-second wait (nothing is written meanwhile, as on a quiet site)."""
    import time

    import pexpect

    child = pexpect.spawn(
        scale_bench.PM[0],
        [*scale_bench.PM[1:], "dashboard", "--every", "1"],
        env=env,
        encoding="utf-8",
        timeout=300,
        dimensions=(60, 200),
    )
    child.expect("hottest grids")  # the first frame
    marks = []
    for _ in range(frames):
        child.expect("hottest grids")
        marks.append(time.monotonic())
    child.sendintr()
    child.expect(pexpect.EOF)
    return [b - a - 1.0 for a, b in zip(marks, marks[1:], strict=False)]


if __name__ == "__main__":
    main()
