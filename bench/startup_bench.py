"""Start-up time of pm against the floor of any typer CLI, median wall time of whole processes.

    python bench/startup_bench.py [--runs 21]

Targets (issue #3): `pm --version` and `pm --help` within 1.15x of a two-command typer app's
`--help`; `pm grid list` on the demo database within 1.2x of `python -c "import typer, sqlmodel"`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TWO_COMMANDS = textwrap.dedent(
    """
    import typer
    app = typer.Typer()

    @app.command()
    def hello(name: str) -> None:
        print(name)

    @app.command()
    def bye(name: str) -> None:
        print(name)

    app()
    """
)


def median_ms(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        env = {**os.environ, "PM_DB": str(t / "demo.db"), "PM_CONFIG": str(t / "c.toml")}
        subprocess.run([py, "-m", "pm_cli", "demo"], env=env, check=True, capture_output=True)
        app = t / "two.py"
        app.write_text(TWO_COMMANDS)
        pm = [py, "-m", "pm_cli"]
        floor_help = median_ms([py, str(app), "--help"], env, args.runs)
        floor_import = median_ms([py, "-c", "import typer, sqlmodel"], env, args.runs)
        version = median_ms([*pm, "--version"], env, args.runs)
        help_ = median_ms([*pm, "--help"], env, args.runs)
        grid_list = median_ms([*pm, "--site", "CH", "grid", "list"], env, args.runs)
        grid_json = median_ms([*pm, "--site", "CH", "grid", "list", "--json"], env, args.runs)
    print(f"floor: two-command typer app --help   {floor_help:6.0f} ms")
    print(f"floor: python -c 'import typer, sqlmodel' {floor_import:4.0f} ms")
    print(
        f"pm --version                          {version:6.0f} ms  "
        f"{version / floor_help:.2f}x floor (target <= 1.15x)"
    )
    print(
        f"pm --help                             {help_:6.0f} ms  "
        f"{help_ / floor_help:.2f}x floor (target <= 1.15x)"
    )
    print(
        f"pm grid list (demo, 41 grids)         {grid_list:6.0f} ms  "
        f"{grid_list / floor_import:.2f}x import floor (target <= 1.2x)"
    )
    print(
        f"pm grid list --json                   {grid_json:6.0f} ms  "
        f"{grid_json / floor_import:.2f}x import floor"
    )


if __name__ == "__main__":
    main()
