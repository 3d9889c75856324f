"""Checklist runs: `pm run record` wall time, and the interactive flow's answer-to-prompt time.

    python bench/run_bench.py [--runs 21]

Targets (issue #4): `pm run record` median within 1.2x of `python -c "import typer, sqlmodel"`
(a scripted 98-step run must not take minutes); the time from an answer to the next prompt
in the interactive flow, in-process, under 30 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pm_cli.sites.context import current_site


def playbook_yaml(steps: int) -> str:
    lines = ["id: bench.checks", "version: 1", "title: 压测 Bench", "service: cleaning", "steps:"]
    for i in range(steps):
        lines += [
            f"  - id: s{i:03d}",
            f"    title: 第{i}项 Step {i}",
            "    instruction: 检查 / Check",
            "    acceptance: 合格 / OK",
        ]
    return "\n".join(lines) + "\n"


def median_ms(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def flow_latency(db: Path, steps: int) -> list[float]:
    """Run the interactive flow in-process with scripted keys; time answer → next prompt."""
    os.environ["PM_DB"] = str(db)
    from pm_cli.context import AppContext
    from pm_cli.output import Output
    from pm_cli.runs import flow, service

    ctx = AppContext(site="BENCH")
    with ctx.session(write=True) as s:
        site = current_site(ctx, s)
        run_id = service.start_run(s, site=site, playbook="bench.checks", by="S01").id
    gaps: list[float] = []
    state = {"answered_at": None}

    def ask(prompt: str) -> str:
        now = time.perf_counter()
        if prompt.startswith("p/f/n"):
            if state["answered_at"] is not None:
                gaps.append((now - state["answered_at"]) * 1000)
            return "p"
        if prompt.startswith("note"):
            state["answered_at"] = time.perf_counter()
            return ""
        raise SystemExit(f"unexpected prompt {prompt!r}")

    class Quiet(Output):
        def say(self, text: str) -> None:  # the terminal is not what is timed
            pass

    f = flow.Flow(ctx=ctx, out=Quiet(), run_id=run_id, ask=ask, store_dir=db.parent / "ev")
    f.run()
    assert f.saved == steps, f.saved
    return gaps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--steps", type=int, default=98)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        db = t / "bench.db"
        env = {**os.environ, "PM_DB": str(db), "PM_CONFIG": str(t / "c.toml"), "PM_SITE": "BENCH"}
        pm = [py, "-m", "pm_cli"]

        def call(*a: str) -> str:
            return subprocess.run(
                [*pm, *a], env=env, check=True, capture_output=True, text=True
            ).stdout

        call("init")
        call("site", "add", "BENCH", "--name", "压测")
        call("staff", "add", "S01", "--name", "王工", "--role", "lead")
        (t / "bench.yaml").write_text(playbook_yaml(args.steps), encoding="utf-8")
        call("playbook", "import", str(t / "bench.yaml"))
        import json

        run = json.loads(call("run", "start", "bench.checks", "--by", "S01", "--json"))["short"]
        floor = median_ms([py, "-c", "import typer, sqlmodel"], env, args.runs)
        steps = iter(range(args.steps))
        times = []
        for _ in range(min(args.runs, args.steps)):
            i = next(steps)
            t0 = time.perf_counter()
            subprocess.run(
                [*pm, "run", "record", run, f"s{i:03d}", "pass"],
                env=env,
                check=True,
                capture_output=True,
            )
            times.append((time.perf_counter() - t0) * 1000)
        record = statistics.median(times)
        gaps = flow_latency(db, args.steps)
    print(f"floor: python -c 'import typer, sqlmodel'   {floor:6.0f} ms")
    print(
        f"pm run record (median of {len(times)})        {record:6.0f} ms  "
        f"{record / floor:.2f}x floor (target <= 1.2x)"
    )
    print(f"  a scripted {args.steps}-step run ~ {record * args.steps / 1000:.0f} s")
    gaps.sort()
    print(
        f"interactive answer -> next prompt ({len(gaps)} steps): median "
        f"{statistics.median(gaps):.1f} ms, p95 {gaps[int(len(gaps) * 0.95) - 1]:.1f} ms, "
        f"max {gaps[-1]:.1f} ms (target < 30 ms)"
    )


if __name__ == "__main__":
    main()
