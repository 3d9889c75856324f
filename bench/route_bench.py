"""Route optimisation: pm's tour lengths and times against OR-Tools and the TSPLIB optima.

    python bench/route_bench.py [--sizes 300 1000] [--ortools 10 60] [--no-ortools]

Instances are seeded: uniform (points in a 1 km square), clustered (Gaussian blobs) and
campus-like (checkpoints at the doors, corners and inner rooms of buildings laid out on a grid
of paths). pm runs at its default time limit; OR-Tools (guided local search from
PATH_CHEAPEST_ARC, installed with pip if missing) at each of the given limits, on the same
distances scaled to integer centimetres; every length is re-measured in plain metres.

Targets: pm no longer than OR-Tools GLS at 60 s on each instance, in at most 2 s at 300 stops
and 10 s at 1,000; TSPLIB eil51, berlin52, kroA100 within 1% of optimal.
"""

from __future__ import annotations

import argparse
import importlib
import math
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pm_cli.routes.tsp import default_time_limit, solve  # noqa: E402
from pm_cli.routes.tsplib import read_tsplib  # noqa: E402

TSPLIB = ROOT.parent / "shared" / "data" / "tsplib"
OPTIMA = {"eil51": (426, 428.872), "berlin52": (7542, 7544.366), "kroA100": (21282, 21285.443)}
Point = tuple[float, float]


# ----------------------------------------------------------------------------- instances


def uniform(n: int, seed: int) -> list[Point]:
    rng = random.Random(seed)
    return [(rng.uniform(0, 1000), rng.uniform(0, 1000)) for _ in range(n)]


def clustered(n: int, seed: int) -> list[Point]:
    rng = random.Random(seed)
    centres = [(rng.uniform(0, 1000), rng.uniform(0, 1000)) for _ in range(max(3, n // 30))]
    pts = []
    for _ in range(n):
        cx, cy = rng.choice(centres)
        pts.append((rng.gauss(cx, 25.0), rng.gauss(cy, 25.0)))
    return pts


def campus(n: int, seed: int) -> list[Point]:
    """Buildings in the blocks of a street grid; checkpoints on their walls and inside."""
    rng = random.Random(seed)
    blocks = max(2, round(math.sqrt(n / 12)))
    pitch, road = 120.0, 15.0
    pts: list[Point] = []
    while len(pts) < n:
        bx, by = rng.randrange(blocks), rng.randrange(blocks)
        x0 = bx * pitch + road + rng.uniform(0, 20)
        y0 = by * pitch + road + rng.uniform(0, 20)
        w, h = rng.uniform(30, pitch - 2 * road - 20), rng.uniform(30, pitch - 2 * road - 20)
        for _ in range(rng.randint(4, 16)):
            kind = rng.random()
            if kind < 0.25:  # corners
                pts.append((x0 + w * rng.randint(0, 1), y0 + h * rng.randint(0, 1)))
            elif kind < 0.7:  # doors / wall checkpoints
                t = rng.uniform(0, 2 * (w + h))
                if t < w:
                    pts.append((x0 + t, y0))
                elif t < w + h:
                    pts.append((x0 + w, y0 + t - w))
                elif t < 2 * w + h:
                    pts.append((x0 + t - w - h, y0 + h))
                else:
                    pts.append((x0, y0 + t - 2 * w - h))
            else:  # rooms on a corridor grid inside
                pts.append(
                    (x0 + round(rng.uniform(0, w) / 5) * 5, y0 + round(rng.uniform(0, h) / 5) * 5)
                )
            if len(pts) == n:
                break
    return pts


def length(pts: list[Point], order: list[int]) -> float:
    return sum(math.dist(pts[a], pts[b]) for a, b in zip(order, order[1:] + order[:1], strict=True))


# ----------------------------------------------------------------------------- OR-Tools


def ortools_available() -> bool:
    try:
        importlib.import_module("ortools")
        return True
    except ImportError:
        pass
    print("installing ortools (pip install ortools) ...", flush=True)
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "ortools"], capture_output=True, text=True
    )
    if r.returncode != 0:
        print(f"could not install ortools; skipping it\n{r.stderr.strip()[-500:]}")
        return False
    importlib.invalidate_caches()
    return True


def ortools_tour(pts: list[Point], seconds: int) -> list[int]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(pts)
    matrix = [[round(100 * math.dist(p, q)) for q in pts] for p in pts]
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    if hasattr(routing, "RegisterTransitMatrix"):
        cb = routing.RegisterTransitMatrix(matrix)
    else:

        def cost(i: int, j: int) -> int:
            return matrix[manager.IndexToNode(i)][manager.IndexToNode(j)]

        cb = routing.RegisterTransitCallback(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.seconds = seconds
    sol = routing.SolveWithParameters(params)
    order, index = [], routing.Start(0)
    while not routing.IsEnd(index):
        order.append(manager.IndexToNode(index))
        index = sol.Value(routing.NextVar(index))
    return order


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    ap.add_argument("--ortools", type=int, nargs="+", default=[10, 60], metavar="SECONDS")
    ap.add_argument("--no-ortools", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    print("TSPLIB (closed tours, seed 0, default time limit)")
    print(f"{'instance':10} {'metric':9} {'pm':>10} {'optimum':>10} {'ratio':>7} {'s':>6}")
    for name, (opt_round, opt_plain) in OPTIMA.items():
        stops = read_tsplib((TSPLIB / f"{name}.tsp").read_text(), f"{name}.tsp")
        pts = [(x, y) for _, x, y in stops]
        for metric, opt, rounded in (("EUC_2D", opt_round, True), ("euclid", opt_plain, False)):
            t = time.perf_counter()
            tour = solve(len(pts), points=pts, rounded=rounded)
            s = time.perf_counter() - t
            print(
                f"{name:10} {metric:9} {tour.length:10.1f} {opt:10.1f} "
                f"{tour.length / opt:7.4f} {s:6.2f}"
            )

    use_ortools = not args.no_ortools and ortools_available()
    print()
    head = f"{'instance':14} {'n':>5} {'pm':>10} {'pm s':>6} {'limit':>6}"
    for sec in args.ortools if use_ortools else []:
        head += f" {f'OR {sec}s':>10} {f'pm/OR{sec}':>9}"
    print(head)
    for n in args.sizes:
        for kind in (uniform, clustered, campus):
            pts = kind(n, args.seed)
            t = time.perf_counter()
            tour = solve(n, points=pts)
            s = time.perf_counter() - t
            row = (
                f"{kind.__name__ + f'-{n}':14} {n:5} {tour.length:10.1f} {s:6.2f} "
                f"{default_time_limit(n):6.1f}"
            )
            for sec in args.ortools if use_ortools else []:
                ol = length(pts, ortools_tour(pts, sec))
                row += f" {ol:10.1f} {tour.length / ol:9.4f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
