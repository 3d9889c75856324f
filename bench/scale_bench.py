"""A company-size site with a year of work, and the everyday commands timed on it.

    python bench/scale_bench.py [--levels 0.1 1] [--keep DIR] [--repeat 3] [--only CMD…]

Builds, for each level (a fraction of the full site), a site of 2,000 grids, 200 staff,
20,000 checkpoints, 200 routes of 100 stops with daily schedules, the bundled playbooks and
a year of backdated work: ~105,000 checklist runs (~9 answers each), ~4,600 improvement items
moved along their phases, ~5,800 route walks of ~100 visits, 90 drill runs, ~430 risk reviews.
Set-up goes through pm's own import paths (`pm import` of staff, grids, checkpoints) and
services (`routes.service.add_route`, `pdca`, `drills`, `risks`); the year's runs, answers,
walks and visits through the store's bulk paths (`store.write.bulk_create`/`bulk_append`),
stamped and logged like every write (a laptop that never synced: its append-only rows wait
for the first sync's backlog). Built files are kept under --keep and reused.

Then it times each everyday command (wall, median of --repeat, fresh `pm` process) on the
demo (`pm demo`) and on each level, next to `pm --version` (the start-up floor), with the
peak memory of the biggest level and the file's size.

Targets (issue #16) at 100 %: every everyday command within 0.3 s of `pm --version` (wall,
same run) and under 200 MB; `pm db check` within 2 s; adding a 100-stop route under 0.2 s;
the file under 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pm_cli.sites.context import current_site

SITE = "BIG"
TZ = "Asia/Shanghai"
FULL = {
    "staff": 200,
    "grids": 2000,
    "checkpoints": 20_000,
    "routes": 200,
    "stops": 100,
    "runs": 104_958,
    "items": 4_638,
    "walks": 5_822,
    "drills": 90,
    "reviews": 431,
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
PLACES = [
    "大堂",
    "电梯厅",
    "楼梯间",
    "设备间",
    "走廊",
    "消防通道",
    "配电室",
    "水泵房",
    "屋面",
    "车位区",
]
PM = [sys.executable, "-m", "pm_cli"]


# The site's own 14-step daily round (the bundled dailies have 1–5 steps): three runs in
# five are of it, so a run has ~9 answers, as in the year the issue measured.
ROUND = (
    "\n".join(
        [
            "id: site.round",
            "version: 1",
            "title: 楼层日巡 Floor round, daily",
            "service: cleaning",
            'schedule: "FREQ=DAILY;BYHOUR=8;BYMINUTE=0"',
            "steps:",
            *(
                line
                for i in range(14)
                for line in (
                    f"  - id: s{i:02d}",
                    f"    title: 第{i + 1}项 Item {i + 1}",
                    "    instruction: 检查并记录 / Check and note",
                    "    acceptance: 合格 / As required",
                    "    severity: " + ("major" if i % 5 == 0 else "minor"),
                )
            ),
        ]
    )
    + "\n"
)


def sizes(scale: float) -> dict[str, int]:
    out = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    out["staff"] = max(out["staff"], 45)  # five managers, 35 leads, the rest techs
    out["grids"] = max(out["grids"], 100)
    out["checkpoints"] = max(out["checkpoints"], FULL["stops"])
    out["stops"] = FULL["stops"]
    return out


def pm(env: dict[str, str], *args: str) -> str:
    p = subprocess.run([*PM, *args], env=env, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"pm {' '.join(args)} failed:\n{p.stderr}")
    return p.stdout


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


# ---- building the site -------------------------------------------------------------------


def build(db: Path, scale: float, work: Path) -> dict[str, float]:
    """The site at `scale` in `db`; returns what it took (seconds) and per-route times."""
    n = sizes(scale)
    rnd = random.Random(16)
    env = {**os.environ, "PM_DB": str(db), "PM_CONFIG": str(work / "config.toml")}
    took: dict[str, float] = {}
    t = time.perf_counter()
    pm(env, "init")
    pm(env, "site", "add", SITE, "--name", "大型项目 Big site", "--tz", TZ)
    staff = [f"S{i:03d}" for i in range(n["staff"])]
    roles = ["manager" if i < 5 else "lead" if i < 40 else "tech" for i in range(len(staff))]
    write_csv(
        work / "staff.csv",
        ["code", "name", "role", "team"],
        [[c, SURNAMES[i % 20] + f"师傅{i}", roles[i], "工程部"] for i, c in enumerate(staff)],
    )
    pm(env, "--site", SITE, "import", str(work / "staff.csv"), "--kind", "staff")
    grid_rows: list[list[object]] = []
    tops = max(1, n["grids"] // 100)
    mids: list[str] = []
    leaves: list[str] = []
    for i in range(tops):
        code = f"B{i:02d}"
        grid_rows.append(
            [
                code,
                f"{i + 1}号楼 Building {i + 1}",
                "",
                staff[i % 5],
                "major",
                "楼栋",
                "楼栋总负责;每月综合检查",
            ]
        )
        for j in range(9):
            mid = f"{code}-F{j:02d}"
            mids.append(mid)
            grid_rows.append(
                [
                    mid,
                    f"{i + 1}号楼{j + 1}层",
                    code,
                    rnd.choice(staff[5:40]),
                    "minor",
                    "楼层",
                    "每日巡查;卫生保洁",
                ]
            )
    k = 0
    while len(grid_rows) < n["grids"]:
        parent = mids[k % len(mids)]
        code = f"{parent}-{k:04d}"
        leaves.append(code)
        place = PLACES[k % len(PLACES)]
        grid_rows.append(
            [
                code,
                f"{place}{k} {place} spot",
                parent,
                rnd.choice(staff[5:]),
                rnd.choice(["minor", "major", "critical"]),
                f"{place};巡检",
                "日常巡检;问题上报",
            ]
        )
        k += 1
    write_csv(
        work / "grids.csv",
        ["code", "name", "parent", "owner", "risk_level", "tags", "responsibilities"],
        grid_rows,
    )
    pm(env, "--site", SITE, "import", str(work / "grids.csv"), "--kind", "grids")
    grid_codes = [str(r[0]) for r in grid_rows]
    cps = [f"CP{i:05d}" for i in range(n["checkpoints"])]
    write_csv(
        work / "checkpoints.csv",
        ["code", "name", "grid", "x", "y", "tag_uid"],
        [
            [
                c,
                f"巡检点{i} Checkpoint {i}",
                grid_codes[i % len(grid_codes)],
                round(rnd.uniform(0, 2000), 1),
                round(rnd.uniform(0, 2000), 1),
                f"QR-{c}",
            ]
            for i, c in enumerate(cps)
        ],
    )
    pm(env, "--site", SITE, "import", str(work / "checkpoints.csv"), "--kind", "checkpoints")
    (work / "site.round.yaml").write_text(ROUND, encoding="utf-8")
    pm(env, "playbook", "import", str(work / "site.round.yaml"))
    took["set-up (init, imports)"] = time.perf_counter() - t

    os.environ["PM_DB"] = str(db)
    os.environ["PM_CONFIG"] = str(work / "config.toml")
    from pm_cli.context import AppContext
    from pm_cli.playbooks import service as playbooks
    from pm_cli.routes import service as routes
    from pm_cli.store.ids import utc_text

    ctx = AppContext(site=SITE)
    zone = ZoneInfo(TZ)
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    year_ago = today - timedelta(days=365)
    route_times = []
    with ctx.session(write=True) as s:
        site = current_site(ctx, s)
        for i in range(n["routes"]):
            stops = rnd.sample(cps, n["stops"])
            t1 = time.perf_counter()
            routes.add_route(
                s,
                site=site,
                code=f"R{i:03d}",
                name=f"巡检路线{i} Route {i}",
                stops=stops,
                schedule="daily@08:00",
                window="08:00-20:00",
                created_at=utc_text(year_ago),
            )
            s.flush()
            route_times.append(time.perf_counter() - t1)
        daily = [
            r["id"]
            for r in playbooks.list_playbooks(s)
            if r["schedule"] and "DAILY" in r["schedule"].upper()
        ]
        pinned = {pid: playbooks.get(s, pid) for pid in daily}
    took["add_route, median per 100-stop route"] = statistics.median(route_times)
    took["add_route, slowest"] = max(route_times)

    t = time.perf_counter()
    _year_of_work(ctx, n, rnd, grid_codes, staff, pinned, today)
    took["a year of work"] = time.perf_counter() - t
    return took


def _year_of_work(ctx, n, rnd, grid_codes, staff, pinned, today) -> None:  # noqa: ANN001
    from sqlmodel import select

    from pm_cli.checkpoints.models import Checkpoint
    from pm_cli.drills import scenario as scenarios
    from pm_cli.drills import service as drills
    from pm_cli.grids.models import Grid
    from pm_cli.pdca import service as pdca
    from pm_cli.risks import service as risks
    from pm_cli.routes.models import Route, RouteVisit, RouteWalk
    from pm_cli.runs.models import Run, StepResult
    from pm_cli.staff.models import Staff
    from pm_cli.store import write
    from pm_cli.store.ids import new_id, utc_text

    days = 365
    with ctx.session(write=True) as s:
        site = current_site(ctx, s)
        gid = {g.code: g.id for g in s.exec(select(Grid).where(Grid.site_id == site.id))}
        sid = {p.code: p.id for p in s.exec(select(Staff).where(Staff.site_id == site.id))}
        cp_grid = {c.id: c.grid_id for c in s.exec(select(Checkpoint))}
        route_rows = list(s.exec(select(Route).where(Route.site_id == site.id)))
        workers = [sid[c] for c in staff[5:]]
        grid_ids = [gid[c] for c in grid_codes]
        bundled = [p for p in pinned if p != "site.round"]
        per_day = n["runs"] / days
        p_item = n["items"] / max(1, n["runs"] * 9)
        runs: list[dict] = []
        results: list[dict] = []
        failures: list[tuple[str, str, str, object, datetime]] = []
        for d in range(days, 0, -1):
            day = today - timedelta(days=d)
            count = int(per_day * (days - d + 1)) - int(per_day * (days - d))
            for _ in range(count):
                pid = "site.round" if rnd.random() < 0.6 else rnd.choice(bundled)
                pb = pinned[pid]
                start = day + timedelta(minutes=rnd.randint(7 * 60, 20 * 60))
                run_id = new_id()
                by = rnd.choice(workers)
                grid = rnd.choice(grid_ids)
                at = start
                for step in pb.playbook.steps:
                    at += timedelta(minutes=step.minutes or 2)
                    fail = rnd.random() < p_item
                    value = None
                    if step.kind == "reading" and step.range is not None:
                        lo, hi = step.range.min, step.range.max
                        base = lo if lo is not None else (hi or 0) * 0.5
                        value = (hi or base) * 1.5 + 1 if fail else base * 1.05 + 0.1
                    rid = new_id()
                    results.append(
                        {
                            "id": rid,
                            "created_at": utc_text(at),
                            "run_id": run_id,
                            "step_id": step.id,
                            "outcome": "fail" if fail else "pass",
                            "value": value,
                            "by_id": by,
                            "note": "现场整改中 / being fixed" if fail else None,
                        }
                    )
                    if fail:
                        failures.append((rid, grid, step.severity, step.title, at))
                runs.append(
                    {
                        "id": run_id,
                        "created_at": utc_text(start),
                        "playbook_id": pid,
                        "playbook_version": pb.version,
                        "playbook_sha256": pb.sha256,
                        "grid_id": grid,
                        "by_id": by,
                        "started_at": utc_text(start),
                        "finished_at": utc_text(at),
                        "status": "finished",
                    }
                )
            if len(results) > 50_000:
                write.bulk_create(s, Run, site_id=site.id, rows=runs)
                write.bulk_append(s, StepResult, site_id=site.id, rows=results)
                runs, results = [], []
        write.bulk_create(s, Run, site_id=site.id, rows=runs)
        write.bulk_append(s, StepResult, site_id=site.id, rows=results)

        # walks: about one route walked a day in 12.5, every stop visited
        walks: list[dict] = []
        visits: list[dict] = []
        per_route = n["walks"] / len(route_rows)
        for i, route in enumerate(route_rows):
            count = int(per_route * (i + 1)) - int(per_route * i)
            for day_no in sorted(rnd.sample(range(1, days), min(count, days - 1))):
                start = today - timedelta(days=day_no, hours=-8, minutes=-rnd.randint(0, 60))
                walk_id = new_id()
                at = start
                by = rnd.choice(workers)
                for k, stop in enumerate(route.stops):
                    at += timedelta(minutes=2)
                    visits.append(
                        {
                            "created_at": utc_text(at),
                            "walk_id": walk_id,
                            "stop": k,
                            "checkpoint_id": stop["checkpoint"],
                            "kind": "arrive",
                            "at": utc_text(at),
                            "by_id": by,
                        }
                    )
                walks.append(
                    {
                        "id": walk_id,
                        "created_at": utc_text(start),
                        "route_id": route.id,
                        "by_id": by,
                        "started_at": utc_text(start),
                        "finished_at": utc_text(at),
                        "status": "finished",
                    }
                )
            if len(visits) > 50_000:
                write.bulk_create(s, RouteWalk, site_id=site.id, rows=walks)
                write.bulk_append(s, RouteVisit, site_id=site.id, rows=visits)
                walks, visits = [], []
        write.bulk_create(s, RouteWalk, site_id=site.id, rows=walks)
        write.bulk_append(s, RouteVisit, site_id=site.id, rows=visits)
        del cp_grid

        # improvement items from the failed steps, moved along as a site would
        now = datetime.now(UTC)
        moves = [
            ("do", {"plan": "先隔离再维修 / contain, then repair"}),
            ("check", {"note": "已整改 / fixed"}),
            ("act", {"result": "effective"}),
            ("closed", {"note": "纳入日常巡检 / added to the daily check"}),
        ]
        for rid, grid, severity, title, at in failures:
            found = at.astimezone(UTC)
            item = pdca.add_item(
                s,
                site=site,
                title=f"{title}: 不合格 failed",
                severity=str(severity),
                grid_id=grid,
                source="step",
                source_ref=rid,
                now=found,
            ).item
            age = (now - found).days
            reach = 4 if age > 30 else 2 if age > 7 else 0
            if reach == 4:
                pdca.edit(
                    s,
                    site=site,
                    no=item.no or 0,
                    root_cause="巡检频次不足 / too rare",
                    preventive="同类网格一并检查 / check similar grids",
                )
            for k, (to, kw) in enumerate(moves[:reach]):
                pdca.advance(
                    s,
                    site=site,
                    no=item.no or 0,
                    to=to,
                    now=found + timedelta(hours=2 * (k + 1)),
                    **kw,
                )

        # drills: a year of runs of six planned drills
        lib = scenarios.library()
        plans = [
            ("FIRE-A", "fire"),
            ("FLOOD", "flood"),
            ("POWER", "power_outage"),
            ("LIFT", "elevator_entrapment"),
            ("TYPHOON", "typhoon"),
            ("FIRE-B", "fire"),
        ]
        plans = [(c, sc) for c, sc in plans if sc in lib]
        for code, sc in plans:
            drills.plan(s, site=site, code=code, scenario=sc, grid=grid_codes[0])
        for k in range(n["drills"]):
            code, sc = plans[k % len(plans)]
            t0 = (now - timedelta(days=365 * (k + 1) / (n["drills"] + 1))).replace(microsecond=0)
            run = drills.start(s, site=site, code=code, at=t0, participants=30)
            last = 0.0
            for m in lib[sc].milestones[1:]:
                last = max(last, (m.target if m.target is not None else last + 5) * 0.95)
                drills.event(
                    s, site=site, run=run, milestone=m.id, at=t0 + timedelta(minutes=round(last, 2))
                )
            drills.finish(s, site=site, run=run, at=t0 + timedelta(minutes=last + 10))

        # the risk register: the starter library, reviewed through the year
        risks.import_library(s, site=site)
        codes = [r["code"] for r in risks.list_risks(s, site=site)]
        for k in range(n["reviews"]):
            risks.review_risk(s, site=site, code=codes[k % len(codes)], note="已复查 reviewed")


# ---- timing ------------------------------------------------------------------------------


def pick(db: Path, site: str) -> dict[str, str]:
    """Codes the commands are given: a top grid, a route, the newest run, an item, a person."""
    con = sqlite3.connect(db)
    try:
        sid = con.execute("SELECT id FROM site WHERE code = ?", (site,)).fetchone()[0]

        def one(sql: str) -> str:
            row = con.execute(sql, (sid,)).fetchone()
            return str(row[0]) if row else ""

        return {
            "grid": one(
                "SELECT code FROM grid WHERE site_id = ? AND parent_id IS NULL "
                "ORDER BY code LIMIT 1"
            ),
            "route": one("SELECT code FROM route WHERE site_id = ? ORDER BY code LIMIT 1"),
            "run": one(
                "SELECT substr(id, -8) FROM run WHERE site_id = ? ORDER BY started_at DESC LIMIT 1"
            ),
            "item": one("SELECT no FROM pdca WHERE site_id = ? ORDER BY no DESC LIMIT 1"),
            "staff": one(
                "SELECT s.code FROM staff s WHERE s.site_id = ? AND EXISTS "
                "(SELECT 1 FROM run r WHERE r.by_id = s.id) ORDER BY s.code LIMIT 1"
            ),
            "from": (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d"),
        }
    finally:
        con.close()


COMMANDS: list[tuple[str, list[str]]] = [
    ("today --by", ["today", "--by", "{staff}"]),
    ("today --all", ["today", "--all"]),
    ("grid list", ["grid", "list"]),
    ("grid tree", ["grid", "tree"]),
    ("grid show", ["grid", "show", "{grid}"]),
    ("grid heatmap", ["grid", "heatmap"]),
    ("route list", ["route", "list"]),
    ("route show", ["route", "show", "{route}"]),
    ("route missed", ["route", "missed"]),
    ("run list", ["run", "list"]),
    ("run list --failed --from", ["run", "list", "--failed", "--from", "{from}"]),
    ("run list --limit 20", ["run", "list", "--limit", "20"]),
    ("run show", ["run", "show", "{run}"]),
    ("pdca list", ["pdca", "list"]),
    ("pdca overdue", ["pdca", "overdue"]),
    ("pdca show", ["pdca", "show", "{item}"]),
    ("risk list", ["risk", "list"]),
    ("risk heatmap", ["risk", "heatmap"]),
    ("drill due", ["drill", "due"]),
    ("drill list", ["drill", "list"]),
    ("schedule export", ["schedule", "export", "--ics", "-"]),
    ("export grids", ["export", "grids"]),
    ("export items", ["export", "items"]),
    ("db check", ["db", "check"]),
    ("sync status", ["sync", "status"]),
    ("grid list --json", ["--json", "grid", "list"]),
    ("report kpi", ["report", "kpi"]),
    ("report score", ["report", "score"]),
]


# Started from a small process: Linux carries a parent's peak RSS into a child it forks.
LAUNCH = """
import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if hasattr(os, "wait4"):
    _, status, usage = os.wait4(p.pid, 0)
    print(time.perf_counter() - t, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
else:  # Windows: no rusage of a child; memory is not measured there
    code = p.wait()
    print(time.perf_counter() - t, 0, code)
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one fresh process."""
    out = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCH, *cmd],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2])


def measure(
    db: Path, site: str, work: Path, repeat: int, only: list[str], code: Path | None = None
) -> dict[str, tuple[float, float, int]]:
    env = {
        **os.environ,
        "PM_DB": str(db),
        "PM_CONFIG": str(work / "config.toml"),
        "PM_SITE": site,
        "COLUMNS": "160",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules load from .pyc
    if code is not None:  # another checkout's pm (--code), on the same file
        env["PYTHONPATH"] = str(code)
    else:
        subprocess.run([*PM, "db", "migrate"], env=env, check=True, capture_output=True)
    codes = pick(db, site)
    out: dict[str, tuple[float, float, int]] = {}
    for name, args in [("pm --version", ["--version"]), *COMMANDS]:
        if only and name != "pm --version" and not any(o in name for o in only):
            continue
        argv = [*PM, *(a.format(**codes) for a in args)]
        runs = [timed(argv, env) for _ in range(repeat)]
        out[name] = (
            statistics.median(r[0] for r in runs),
            max(r[1] for r in runs),
            max(r[2] for r in runs),
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", type=float, nargs="+", default=[0.1, 1.0])
    ap.add_argument(
        "--keep", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "pm-scale"
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument(
        "--code",
        type=Path,
        help="time the pm of this checkout instead (the "
        "'before' of a change: a copy of the built file at that schema)",
    )
    ap.add_argument("--db", type=Path, help="with --code: the file to time it on")
    args = ap.parse_args()
    if args.code:
        got = measure(args.db, SITE, args.keep, args.repeat, args.only, code=args.code)
        for name, (wall, mb, rc) in got.items():
            print(f"{name:28}{wall:10.2f}{mb:9.0f}" + (f"  (exit {rc})" if rc else ""))
        return
    args.keep.mkdir(parents=True, exist_ok=True)
    columns: dict[str, dict[str, tuple[float, float, int]]] = {}
    demo = args.keep / "demo.db"
    demo_env = {**os.environ, "PM_CONFIG": str(args.keep / "config.toml")}
    if not demo.exists():
        pm(demo_env, "demo", "--db", str(demo))
    columns["demo"] = measure(demo, "CH", args.keep, args.repeat, args.only)
    sizes_mb: dict[str, float] = {"demo": demo.stat().st_size / 2**20}
    for level in args.levels:
        label = f"{level:.0%}"
        db = args.keep / f"site-{level:g}.db"
        work = args.keep / f"work-{level:g}"
        if not db.exists():
            work.mkdir(exist_ok=True)
            tmp = db.with_suffix(".building")
            for p in tmp.parent.glob(tmp.name + "*"):
                p.unlink()
            took = build(tmp, level, work)
            tmp.rename(db)
            print(f"built {label}: " + ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
        con = sqlite3.connect(db)
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "grid",
                "checkpoint",
                "route",
                "run",
                "step_result",
                "pdca",
                "route_walk",
                "route_visit",
                "change",
            )
        }
        con.close()
        print(f"{label}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        sizes_mb[label] = db.stat().st_size / 2**20
        columns[label] = measure(db, SITE, work, args.repeat, args.only)
    labels = list(columns)
    floor = {lab: columns[lab]["pm --version"][0] for lab in labels}
    biggest = labels[-1]
    print()
    print(
        f"{'command':28}"
        + "".join(f"{lab:>10}" for lab in labels)
        + f"{'- floor':>10}{'peak MB':>9}  target"
    )
    for name in columns["demo"]:
        cells = "".join(
            f"{columns[lab][name][0]:10.2f}" if name in columns[lab] else f"{'':>10}"
            for lab in labels
        )
        wall, mb, rc = columns[biggest].get(name, (0.0, 0.0, 0))
        over = wall - floor[biggest]
        target = (
            "floor"
            if name == "pm --version"
            else "≤ 2 s"
            if name == "db check"
            else "≤ floor + 0.3 s, < 200 MB"
        )
        ok = name == "pm --version" or (
            (wall <= 2 if name == "db check" else over <= 0.3) and mb < 200
        )
        flag = "" if ok else "  MISSED"
        if rc:
            flag += f"  (exit {rc})"
        print(f"{name:28}{cells}{over:10.2f}{mb:9.0f}  {target}{flag}")
    print()
    print(
        "file size MB: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in sizes_mb.items())
        + "   (target at 100 %: < 1,024 MB)"
    )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
