"""Head office's `/reports` ranking over many sites (issue #17, item 10): the demo site synced
to a real `pm server run` on loopback, cloned in SQL to N sites (new ids, every reference
rewritten), then `GET /reports` timed cold (each site counted and its row stored) and warm
(the ranking of ended days read back, as long as no change of a site arrived).

    python bench/server_report_bench.py [--sites 300] [--database-url URL] [--repeat 3]

Target: `/reports` for 300 sites within 2 s on the server. The clones are demo-sized; a
warm ranking reads one stored row per site whatever its size, a cold one counts each site
(`bench/report_bench.py` times that at company scale).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_bench import free_port  # noqa: E402  (a free port on loopback)

PM = [sys.executable, "-m", "pm_cli"]


def pm(env: dict[str, str], *args: str) -> str:
    r = subprocess.run([*PM, *args], env=env, capture_output=True, text=True, check=False)
    if r.returncode:
        sys.exit(f"pm {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def clone(url: str, n: int) -> None:
    """N copies of site CH on the server: ids suffixed, references rewritten."""
    from pm_cli.protocol.entities import reference_columns, registry
    from pm_cli.server import db

    engine = db.make_engine(url)
    refs: dict[str, set[str]] = {}
    for table, column, _ in reference_columns():
        refs.setdefault(table, set()).add(column)
    with engine.begin() as conn:
        src = conn.execute(sa.text("SELECT id FROM site WHERE code = 'CH'")).scalar_one()
        for i in range(1, n + 1):
            suffix = f"~{i:03d}"
            new_site = src + suffix
            for name, ent in registry().items():
                if name in ("playbook", "conflict"):
                    continue
                cols = list(ent.table.c.keys())
                exprs = []
                for c in cols:
                    if c == "id" or c in refs.get(name, set()) and c != "site_id":
                        exprs.append(f"CASE WHEN {c} IS NULL THEN NULL ELSE {c} || '{suffix}' END")
                    elif c == "site_id":
                        exprs.append(f"'{new_site}'")
                    elif name == "site" and c == "code":
                        exprs.append(f"'S{i:03d}'")
                    else:
                        exprs.append(f'"{c}"')
                key = "id" if name == "site" else "site_id"
                conn.execute(
                    sa.text(
                        f'INSERT INTO "{name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                        f'SELECT {", ".join(exprs)} FROM "{name}" WHERE {key} = :src'
                    ),
                    {"src": src},
                )
            conn.execute(
                db.server_site.insert().values(
                    site_id=new_site,
                    code=f"S{i:03d}",
                    name=f"克隆 Clone {i}",
                    created_at="2026-01-01T00:00:00.000Z",
                )
            )
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pm-server-bench-"))
    url = args.database_url or f"sqlite:///{work / 'server.db'}"
    env = {
        **os.environ,
        "PM_CONFIG": str(work / "config.toml"),
        "PM_DB": str(work / "a.db"),
        "PM_SERVER_DATABASE_URL": url,
    }
    pm(env, "server", "migrate")
    pm(env, "server", "user", "add", "boss", "--role", "admin")
    token = pm(env, "server", "token", "issue", "boss", "--device", "bench").splitlines()[-1]
    port = free_port()
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [*PM, "server", "run", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        pm(env, "demo")
        pm(env, "sync", "login", base, "--token", token)
        pm(env, "sync")
        t0 = time.perf_counter()
        clone(url, args.sites - 1)
        print(f"cloned the demo site to {args.sites} sites in {time.perf_counter() - t0:.1f} s")
        h = {"Authorization": f"Bearer {token}"}
        t0 = time.perf_counter()
        r = httpx.get(base + "/reports", headers=h, timeout=3600)
        cold = time.perf_counter() - t0
        assert r.status_code == 200 and f"Sites by score ({args.sites})" in r.text, r.text[:500]
        warm = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = httpx.get(base + "/reports", headers=h, timeout=600)
            warm.append(time.perf_counter() - t0)
            assert r.status_code == 200
        t0 = time.perf_counter()
        one = httpx.get(base + "/reports/S001.json", headers=h, timeout=600)
        site = time.perf_counter() - t0
        assert one.status_code == 200
        print(f"{'GET /reports, cold (each site counted)':<44} {cold:8.2f} s")
        print(
            f"{'GET /reports, warm (median)':<44} {statistics.median(warm):8.2f} s  "
            f"target ≤ 2 s {'met' if statistics.median(warm) <= 2 else 'MISSED'}"
        )
        print(f"{'GET /reports/SITE.json (one demo site)':<44} {site:8.2f} s")
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
