"""Sync against PostgreSQL: a first sync (pull) of a site of 100,000 rows, an incremental sync
of 100 changes, and (with --load) concurrent laptops pushing at once.

    python bench/sync_bench.py [--rows 100000] [--load 50x1000] [--workers 4]

Run it at two sizes (e.g. --rows 20000 and 100000) to see the client's memory stay flat.

Needs PostgreSQL at PM_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test);
works in a schema of its own and drops it. Prints seconds, rows/s and the client's peak memory
(max RSS of the `pm sync` process), and the ratio to a plain pipeline in the same run that
reads the same rows from PostgreSQL with psycopg and executemany-inserts them into SQLite (no
HTTP, no merge, no stamps). Targets (issue #8): first sync within 3x of that pipeline with flat
client memory; incremental sync under 1 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_bench import MEASURE, make_csv  # noqa: E402

PG = os.environ.get("PM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PM = [sys.executable, "-m", "pm_cli"]

PIPELINE = textwrap.dedent(
    """
    import json, sqlite3, sys, psycopg
    url, schema, site, db = sys.argv[1:5]
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE grid (id TEXT PRIMARY KEY, site_id TEXT, code TEXT, name TEXT,"
                " parent_id TEXT, owner_id TEXT, risk_level TEXT, tags TEXT, created_at TEXT,"
                " deleted INTEGER, field_hlc TEXT, updated_hlc TEXT)")
    con.execute("BEGIN")
    with psycopg.connect(url, options=f"-csearch_path={schema}") as pg:
        with pg.cursor(name="rows") as cur:
            cur.itersize = 5000
            cur.execute("SELECT id, site_id, code, name, parent_id, owner_id, risk_level, "
                        "tags, created_at, deleted, field_hlc, updated_hlc FROM grid "
                        "WHERE site_id = %s", (site,))
            while batch := cur.fetchmany(5000):
                con.executemany("INSERT INTO grid VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [
                    (*r[:7], json.dumps(r[7]), r[8], int(bool(r[9])), json.dumps(r[10]),
                     r[11]) for r in batch])
    con.execute("COMMIT")
    """
)


def run(cmd: list[str], env: dict[str, str]) -> str:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    out = run([sys.executable, "-c", MEASURE, *cmd], env)
    secs, kb = out.split()
    return float(secs), int(kb) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--load", default="", help="CLIENTSxCHANGES, e.g. 50x1000")
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    import psycopg

    schema = f"pm_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}"
    server = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            env = {**os.environ, "PM_SERVER_DATABASE_URL": url}
            run([*PM, "server", "migrate"], env)
            run([*PM, "server", "user", "add", "root", "--role", "admin"], env)

            def token(device: str) -> str:
                return (
                    run([*PM, "server", "token", "issue", "root", "--device", device], env)
                    .strip()
                    .splitlines()[-1]
                )

            port = free_port()
            server = subprocess.Popen(
                [*PM, "server", "run", "--port", str(port), "--workers", str(args.workers)], env=env
            )
            base = f"http://127.0.0.1:{port}"
            import httpx

            for _ in range(100):
                try:
                    httpx.get(base + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)

            def laptop_env(name: str) -> dict[str, str]:
                return {
                    **os.environ,
                    "PM_DB": str(t / f"{name}.db"),
                    "PM_CONFIG": str(t / f"{name}.toml"),
                    "PM_SITE": "BENCH",
                }

            def laptop(name: str) -> dict[str, str]:
                e = laptop_env(name)
                run([*PM, "init"], e)
                run([*PM, "sync", "login", base, "--token", token(name)], e)
                return e

            a = laptop("a")
            run([*PM, "site", "add", "BENCH", "--name", "压测项目"], a)
            owners = [f"S{i:02d}" for i in range(20)]
            staff = t / "staff.csv"
            staff.write_text(
                "code,name,role\n" + "".join(f"{o},师傅{o},lead\n" for o in owners),
                encoding="utf-8",
            )
            run([*PM, "import", str(staff), "--kind", "staff"], a)
            src = t / "grids.csv"
            make_csv(src, args.rows, owners, duties=False)
            run([*PM, "import", str(src), "--kind", "grids"], a)
            t0 = time.perf_counter()
            run([*PM, "sync"], a)
            push_s = time.perf_counter() - t0
            print(
                f"setup: pushed {args.rows:,} grid rows (+ staff, site, playbooks) in "
                f"{push_s:.1f} s ({args.rows / push_s:,.0f} changes/s)"
            )

            # three fresh laptops, each timed right after a run of the pipeline (pairs, so a
            # drift of the machine's speed moves both sides of a ratio alike)
            site_id = (
                sqlite3.connect(t / "a.db")
                .execute("SELECT id FROM site WHERE code='BENCH'")
                .fetchone()[0]
            )
            pairs = []
            for i in range(3):
                bs, bmb = measure(
                    [sys.executable, "-c", PIPELINE, PG, schema, site_id, str(t / f"pipe{i}.db")],
                    env,
                )
                lp = laptop("b" if i == 0 else f"b{i}")
                secs, mb = measure([*PM, "sync"], lp)
                pairs.append((secs, mb, bs, bmb))
            con = sqlite3.connect(t / "b.db")
            got = con.execute("SELECT count(*) FROM grid").fetchone()[0]
            con.close()
            secs = statistics.median(p[0] for p in pairs)
            bs = statistics.median(p[2] for p in pairs)
            print(
                f"first sync (pull) : {secs:6.2f} s  {got / secs:9,.0f} rows/s  client peak "
                f"{max(p[1] for p in pairs):5.0f} MB  ({got:,} grids; median of 3)"
            )
            print(
                f"psycopg→SQLite    : {bs:6.2f} s  {got / bs:9,.0f} rows/s  peak "
                f"{max(p[3] for p in pairs):5.0f} MB"
            )
            print(
                f"ratio             : {statistics.median(p[0] / p[2] for p in pairs):.2f}x "
                f"(median of 3 pairs; {', '.join(f'{p[0] / p[2]:.2f}' for p in pairs)}; "
                "target ≤ 3x)"
            )

            # incremental: 100 edits on a, pushed; b pulls them
            edits = t / "edits.csv"
            with src.open(encoding="utf-8-sig") as f:
                lines = f.read().splitlines()
            edits.write_text(
                lines[0]
                + "\n"
                + "\n".join(ln.replace("号楼", "号楼改") for ln in lines[1:101])
                + "\n",
                encoding="utf-8",
            )
            run([*PM, "import", str(edits), "--kind", "grids"], a)
            run([*PM, "sync"], a)
            incs = [measure([*PM, "sync"], laptop_env(n))[0] for n in ("b", "b1", "b2")]
            inc = statistics.median(incs)
            print(
                f"incremental sync of 100 changes: {inc:.2f} s (median of 3 laptops; "
                f"{', '.join(f'{x:.2f}' for x in incs)}; target < 1 s, whole process "
                "incl. start-up)"
            )
            if args.load:
                load(args.load, base, t, laptop, a, server.pid)
    finally:
        if server:
            server.terminate()
            server.wait(10)
        with psycopg.connect(PG, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


LAPTOP = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from pm_cli.sync import client
    db, url, token, go = sys.argv[1:5]
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    t0, cpu0 = time.perf_counter(), sum(os.times()[:2])
    client.sync(Path(db), url=url, token=token, push_only=True)
    cpu = sum(os.times()[:2]) - cpu0
    print(time.perf_counter() - t0, cpu)
    """
)


def cpu_seconds(server_pid: int) -> tuple[float, dict[int, float]] | None:
    """CPU seconds used so far by the server (its process and workers), and by each of
    PostgreSQL's processes (Linux /proc; None elsewhere)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for d in proc.iterdir():
        if d.name.isdigit():
            try:
                raw = (d / "stat").read_text()
            except OSError:
                continue
            name, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :]
            f = rest.split()
            stats[int(d.name)] = (name, int(f[1]), (int(f[11]) + int(f[12])) / tick)
    tree, grew = {server_pid}, True
    while grew:
        more = {pid for pid, (_, ppid, _) in stats.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    server = sum(stats[p][2] for p in tree if p in stats)
    pg = {pid: cpu for pid, (name, _, cpu) in stats.items() if name.startswith("postgres")}
    return server, pg


def load(
    spec: str,
    base: str,
    t: Path,
    laptop,
    a: dict[str, str],  # type: ignore[no-untyped-def]
    server_pid: int,
) -> None:
    """Each laptop is a process of its own, as on 50 machines: its imports done before the
    start, its push timed from the moment all are released at once."""
    from concurrent.futures import ThreadPoolExecutor

    clients, changes = (int(x) for x in spec.lower().split("x"))
    print(f"load: {clients} laptops × {changes} changes, pushing at once")

    def ready(k: int) -> dict[str, str]:
        e = laptop(f"l{k}")
        run([*PM, "sync"], e)
        csv_ = t / f"l{k}.csv"
        csv_.write_text(
            "code,name\n" + "".join(f"L{k}-{i:05d},负载 {i}\n" for i in range(changes)),
            encoding="utf-8",
        )
        run([*PM, "import", str(csv_), "--kind", "grids"], e)
        return e

    with ThreadPoolExecutor(4) as pool:
        envs = list(pool.map(ready, range(clients)))
    go = t / "go"
    procs = []
    for e in envs:
        tok = Path(e["PM_CONFIG"]).read_text().split('token = "')[1].split('"')[0]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", LAPTOP, e["PM_DB"], base, tok, str(go)],
                env=e,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:  # every laptop started, its imports done
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    print("  laptops ready: pushing", flush=True)
    cpu0 = cpu_seconds(server_pid)
    t0 = time.perf_counter()
    go.write_text("go")
    times: list[float] = []
    laptops_cpu = 0.0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            sys.exit(f"a laptop's push failed (exit {p.returncode})")
        secs, cpu = out.split()[-2:]
        times.append(float(secs))
        laptops_cpu += float(cpu)
    wall = time.perf_counter() - t0
    cpu1 = cpu_seconds(server_pid)
    times.sort()
    total = clients * changes
    print(
        f"  all pushed in {wall:.1f} s ({total / wall:,.0f} changes/s); per laptop p50 "
        f"{statistics.median(times):.1f} s, p95 {times[int(len(times) * 0.95) - 1]:.1f} s"
    )
    if cpu0 and cpu1:
        pg = sum(cpu - cpu0[1].get(pid, 0.0) for pid, cpu in cpu1[1].items())
        print(
            f"  CPU seconds: server {cpu1[0] - cpu0[0]:.1f}, PostgreSQL {pg:.1f} (its "
            "processes still running at the end), "
            f"laptops {laptops_cpu:.1f} on {os.cpu_count()} cores"
        )
    t0 = time.perf_counter()
    run([*PM, "sync"], a)
    con = sqlite3.connect(a["PM_DB"])
    n = con.execute("SELECT count(*) FROM grid WHERE code LIKE 'L%'").fetchone()[0]
    con.close()
    print(f"  a pulled them all: {n:,} of {total:,} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
