"""Import 100,000 grid rows (3 levels, Chinese names, two duties each: 300,000 records with
the duties) with `pm import`, and compare with a whole stdlib process that reads the same
CSV with `csv` and executemany-inserts it.

    python bench/import_bench.py [--rows 100000] [--repeat 3]

Prints wall time, rows/s and peak memory (max RSS) of each whole process, and the ratio.
Targets (issues #3, #16): within 3x of the stdlib process, change-log rows included; peak
< 300 MB. It also prints the SQLite floor: the rows pm stored (grids, duties, change log)
inserted again by a stdlib process into pm's own tables, nothing else done, so that what pm
adds over storing them can be told from what storing them costs.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

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

BASELINE = textwrap.dedent(
    """
    import csv, sqlite3, sys, uuid
    src, db = sys.argv[1], sys.argv[2]
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE grid (id TEXT PRIMARY KEY, code TEXT UNIQUE, name TEXT,"
                " parent TEXT, owner TEXT, risk_level TEXT, tags TEXT, responsibilities TEXT)")
    with open(src, encoding="utf-8-sig", newline="") as f:
        r = csv.reader(f)
        next(r)
        rows = [(str(uuid.uuid4()), *row) for row in r]
    con.execute("BEGIN")
    con.executemany("INSERT INTO grid VALUES (?,?,?,?,?,?,?,?)", rows)
    con.execute("COMMIT")
    """
)

# The floor under pm's figure: the rows pm stored for the file (grids, duties and their
# change-log rows), read back and executemany-inserted by a stdlib process into a fresh file
# with pm's own tables and indexes, timed from BEGIN to COMMIT. No parsing, no checks, no
# ids or stamps made: what SQLite alone takes to store what pm must store.
FLOOR = textwrap.dedent(
    """
    import os, sqlite3, sys, time
    src, db = sys.argv[1], sys.argv[2]
    names = ("grid", "grid_duty", "change")
    s = sqlite3.connect(src)
    ddl = [r[0] for r in s.execute(
        "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND tbl_name IN (?, ?, ?)", names)]
    data = {t: s.execute(f"SELECT * FROM {t}").fetchall() for t in names}
    s.close()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for sql in ddl:
        con.execute(sql)
    t = time.perf_counter()
    con.execute("BEGIN")
    for name, rows in data.items():
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES ({','.join('?' * len(rows[0]))})", rows)
    con.execute("COMMIT")
    print(time.perf_counter() - t, os.path.getsize(db))
    """
)

MEASURE = textwrap.dedent(
    """
    import resource, subprocess, sys, time
    t = time.perf_counter()
    p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if p.returncode:
        sys.stderr.write(p.stderr.decode()); sys.exit(p.returncode)
    print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """
)


def make_csv(path: Path, rows: int, owners: list[str], *, duties: bool = True) -> None:
    """The grid file; `duties=False`: the older layout (only floors have one duty), which
    the sync bench keeps so that its figures stay comparable."""
    rnd = random.Random(7)
    top = max(1, rows // 1000)
    mid_per = 30
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "parent", "owner", "risk_level", "tags", "responsibilities"])
        n = 0
        mids: list[str] = []
        for i in range(top):
            code = f"B{i:03d}"
            w.writerow(
                [
                    code,
                    f"{i + 1}号楼",
                    "",
                    rnd.choice(owners),
                    "major",
                    "楼栋",
                    "楼栋总负责;每月综合检查" if duties else "",
                ]
            )
            n += 1
            for j in range(mid_per):
                mid = f"{code}-{j:02d}"
                w.writerow(
                    [
                        mid,
                        f"{i + 1}号楼{j + 1}层",
                        code,
                        rnd.choice(owners),
                        "minor",
                        "楼层",
                        "每日巡查;卫生保洁" if duties else "每日巡查",
                    ]
                )
                mids.append(mid)
                n += 1
        k = 0
        while n < rows:
            parent = mids[k % len(mids)]
            place = rnd.choice(PLACES)
            w.writerow(
                [
                    f"{parent}-{k:06d}",
                    f"{place}{k}",
                    parent,
                    rnd.choice(owners),
                    rnd.choice(["minor", "major", "critical"]),
                    f"{place};巡检",
                    f"{place}日常巡检;问题上报" if duties else "",
                ]
            )
            k += 1
            n += 1


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], env=env, check=True, capture_output=True, text=True
    )
    secs, kb = out.stdout.split()
    return float(secs), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pm = [sys.executable, "-m", "pm_cli"]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        env = {**os.environ, "PM_CONFIG": str(t / "config.toml")}
        staff = t / "staff.csv"
        owners = [f"S{i:02d}" for i in range(20)]
        with staff.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["code", "name", "role"])
            for i, code in enumerate(owners):
                w.writerow([code, SURNAMES[i] + "师傅", "lead"])
        src = t / "grids.csv"
        make_csv(src, args.rows, owners)
        pm_times, pm_mem, base_times, base_mem = [], [], [], []
        for i in range(args.repeat):
            db = t / f"pm{i}.db"
            e = {**env, "PM_DB": str(db)}
            subprocess.run([*pm, "init"], env=e, check=True, capture_output=True)
            subprocess.run(
                [*pm, "site", "add", "BENCH", "--name", "压测项目"],
                env=e,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [*pm, "--site", "BENCH", "import", str(staff), "--kind", "staff"],
                env=e,
                check=True,
                capture_output=True,
            )
            secs, mb = measure([*pm, "--site", "BENCH", "import", str(src), "--kind", "grids"], e)
            pm_times.append(secs)
            pm_mem.append(mb)
            bdb = t / f"base{i}.db"
            secs, mb = measure([sys.executable, "-c", BASELINE, str(src), str(bdb)], env)
            base_times.append(secs)
            base_mem.append(mb)
        floors = []
        for i in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", FLOOR, str(t / "pm0.db"), str(t / f"floor{i}.db")],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            floors.append(float(out[0]))
        import sqlite3

        con = sqlite3.connect(t / "pm0.db")
        grids = con.execute("SELECT count(*) FROM grid").fetchone()[0]
        changes = con.execute("SELECT count(*) FROM change WHERE entity='grid'").fetchone()[0]
        duties = con.execute("SELECT count(*) FROM grid_duty").fetchone()[0]
        all_changes = con.execute("SELECT count(*) FROM change").fetchone()[0]
        con.close()
        size = (t / "pm0.db").stat().st_size
    pm_s, base_s = statistics.median(pm_times), statistics.median(base_times)
    print(f"rows: {args.rows}  (grids stored: {grids}, grid change-log rows: {changes})")
    print(
        f"pm import      : {pm_s:6.2f} s  {args.rows / pm_s:9,.0f} rows/s  peak "
        f"{max(pm_mem):5.0f} MB   runs {', '.join(f'{x:.2f}' for x in pm_times)}"
    )
    print(
        f"stdlib baseline: {base_s:6.2f} s  {args.rows / base_s:9,.0f} rows/s  peak "
        f"{max(base_mem):5.0f} MB   runs {', '.join(f'{x:.2f}' for x in base_times)}"
    )
    floor_s = statistics.median(floors)
    print(
        f"SQLite floor   : {floor_s:6.2f} s  ({grids:,} grids + {duties:,} duties + "
        f"{all_changes:,} change rows = pm's file of {size / 1e6:,.0f} MB, inserted alone)"
    )
    print(f"ratio pm/baseline: {pm_s / base_s:.2f}x   (target <= 3x; peak target < 300 MB)")
    print(
        f"ratio floor/baseline: {floor_s / base_s:.2f}x   pm over the floor: {pm_s / floor_s:.2f}x"
    )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
