"""Route optimiser: quality on TSPLIB, constraints, asymmetric costs, tiny inputs, invariants.

Search quality is checked with a seed and an iteration budget, never a time limit (the
figures against time live in bench/route_bench.py).
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_cli.routes.tsp import Tour, default_time_limit, euclidean, haversine, solve
from pm_cli.routes.tsp import solver as optimize  # holds _EXACT_MAX and _MATRIX_MAX
from pm_cli.routes.tsplib import read_tsplib

TSPLIB = Path(__file__).resolve().parents[1] / "fixtures" / "tsplib"  # copies of shared/data
OPTIMA = {"eil51": (426, 428.872), "berlin52": (7542, 7544.366), "kroA100": (21282, 21285.443)}


def tsplib_points(name: str) -> list[tuple[float, float]]:
    path = TSPLIB / f"{name}.tsp"
    return [(x, y) for _, x, y in read_tsplib(path.read_text(), path.name)]


def route_length(cost, order: list[int], closed: bool) -> float:
    legs = list(itertools.pairwise(order))
    if closed and len(order) > 1:
        legs.append((order[-1], order[0]))
    return sum(cost(a, b) for a, b in legs)


def brute_force(m: list[list[float]], closed: bool, start=None, end=None) -> float:
    n = len(m)
    best = math.inf
    for perm in itertools.permutations(range(n)):
        if closed and perm[0] != 0:
            continue
        if start is not None and perm[0] != start:
            continue
        if end is not None and perm[-1] != end:
            continue
        best = min(best, route_length(lambda a, b: m[a][b], list(perm), closed))
    return best


def random_asymmetric(n: int, seed: int) -> list[list[float]]:
    """Points on a hillside: going up costs more than coming down, plus one-way detours."""
    rng = random.Random(seed)
    pts = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
    m = [[0.0] * n for _ in range(n)]
    for i, (xi, yi) in enumerate(pts):
        for j, (xj, yj) in enumerate(pts):
            if i != j:
                climb = max(0.0, yj - yi)
                m[i][j] = round(math.hypot(xi - xj, yi - yj) + 2 * climb + rng.uniform(0, 5), 3)
    return m


# ----------------------------------------------------------------------------- TSPLIB


@pytest.mark.parametrize("name", sorted(OPTIMA))
def test_tsplib_rounded_within_one_percent(name: str) -> None:
    pts = tsplib_points(name)
    tour = solve(len(pts), points=pts, rounded=True, seed=0, max_iterations=2000)
    assert sorted(tour.order) == list(range(len(pts)))
    assert tour.length <= OPTIMA[name][0] * 1.01
    assert tour.length >= OPTIMA[name][0]  # the optimum is the optimum
    assert tour.iterations == 2000
    nint = lambda a, b: math.floor(math.dist(pts[a], pts[b]) + 0.5)  # noqa: E731
    assert tour.length == route_length(nint, tour.order, closed=True)


@pytest.mark.parametrize("name", sorted(OPTIMA))
def test_tsplib_plain_euclidean_within_one_percent(name: str) -> None:
    pts = tsplib_points(name)
    tour = solve(len(pts), points=pts, seed=0, max_iterations=2000)
    assert tour.length <= OPTIMA[name][1] * 1.01
    assert tour.length == pytest.approx(route_length(euclidean(pts), tour.order, True))


def test_same_seed_same_tour() -> None:
    pts = tsplib_points("kroA100")
    a = solve(len(pts), points=pts, seed=3, max_iterations=300)
    b = solve(len(pts), points=pts, seed=3, max_iterations=300)
    assert a == b


# ----------------------------------------------------------------------------- open routes


def test_open_route_keeps_fixed_start_and_end() -> None:
    rng = random.Random(7)
    pts = [(rng.uniform(0, 500), rng.uniform(0, 500)) for _ in range(60)]
    tour = solve(len(pts), points=pts, start=12, end=40, closed=False, max_iterations=500)
    assert tour.order[0] == 12 and tour.order[-1] == 40
    assert sorted(tour.order) == list(range(60))
    given_order = [12] + [i for i in range(60) if i not in (12, 40)] + [40]
    assert tour.initial_length == pytest.approx(route_length(euclidean(pts), given_order, False))
    assert tour.length <= tour.initial_length
    assert tour.length == pytest.approx(route_length(euclidean(pts), tour.order, False))


def test_open_route_is_shorter_than_closed_and_ends_free() -> None:
    # Stops on a line: the best path walks it end to end, the best tour goes there and back.
    pts = [(float(x), 0.0) for x in (5, 1, 9, 3, 7, 0, 8, 2, 6, 4, 10, 11, 12)]
    path = solve(len(pts), points=pts, closed=False, max_iterations=50)
    assert path.length == pytest.approx(12.0)
    assert {pts[path.order[0]][0], pts[path.order[-1]][0]} == {0.0, 12.0}
    loop = solve(len(pts), points=pts, max_iterations=50)
    assert loop.length == pytest.approx(24.0)


def test_start_only_and_end_only() -> None:
    rng = random.Random(2)
    pts = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(30)]
    a = solve(30, points=pts, start=9, closed=False, max_iterations=200)
    assert a.order[0] == 9
    b = solve(30, points=pts, end=9, closed=False, max_iterations=200)
    assert b.order[-1] == 9
    assert a.length == pytest.approx(b.length, rel=0.02)  # a path reversed is the same path
    c = solve(30, points=pts, start=4, max_iterations=200)
    assert c.order[0] == 4
    d = solve(30, points=pts, end=4, max_iterations=200)
    assert d.order[-1] == 4


def test_closed_with_start_and_end_and_round_trip() -> None:
    rng = random.Random(5)
    pts = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(25)]
    t = solve(25, points=pts, start=3, end=8, closed=True, max_iterations=200)
    assert t.order[0] == 3 and t.order[-1] == 8
    assert t.length == pytest.approx(route_length(euclidean(pts), t.order, True))
    rt = solve(25, points=pts, start=6, end=6, closed=False, max_iterations=200)
    assert rt.order[0] == 6 and len(rt.order) == 25
    assert rt.length == pytest.approx(route_length(euclidean(pts), rt.order, True))


# ----------------------------------------------------------------------------- asymmetric


# One-way doors: going round 0 -> 1 -> ... -> 5 -> 0 costs 1 a leg, the other way round 10.
ONE_WAY = [
    [0, 1, 7, 9, 8, 10],
    [10, 0, 1, 8, 9, 7],
    [7, 10, 0, 1, 9, 8],
    [9, 8, 10, 0, 1, 7],
    [8, 9, 7, 10, 0, 1],
    [1, 7, 8, 9, 10, 0],
]


def test_asymmetric_six_stops_known_optimum() -> None:
    assert brute_force(ONE_WAY, closed=True) == 6
    tour = solve(6, matrix=ONE_WAY, max_iterations=50)
    assert tour.length == 6
    assert tour.order == [0, 1, 2, 3, 4, 5]
    back = solve(6, matrix=[list(r) for r in zip(*ONE_WAY, strict=True)], max_iterations=50)
    assert back.length == 6 and back.order == [0, 5, 4, 3, 2, 1]
    path = solve(6, matrix=ONE_WAY, start=3, closed=False, max_iterations=50)
    assert path.order == [3, 4, 5, 0, 1, 2] and path.length == 5


@pytest.mark.parametrize("seed", range(4))
def test_asymmetric_heuristic_matches_brute_force(seed: int, monkeypatch) -> None:
    monkeypatch.setattr(optimize, "_EXACT_MAX", 0)  # no dynamic programming: the search itself
    m = random_asymmetric(9, seed)
    assert m != [list(r) for r in zip(*m, strict=True)]
    tour = solve(9, matrix=m, seed=seed, max_iterations=300)
    assert tour.length == pytest.approx(brute_force(m, closed=True))
    assert tour.length == pytest.approx(route_length(lambda a, b: m[a][b], tour.order, True))
    path = solve(9, matrix=m, start=2, end=7, closed=False, seed=seed, max_iterations=300)
    assert path.order[0] == 2 and path.order[-1] == 7
    assert path.length == pytest.approx(brute_force(m, closed=False, start=2, end=7))


def test_asymmetric_larger_is_consistent() -> None:
    m = random_asymmetric(80, 11)
    tour = solve(80, matrix=m, max_iterations=300)
    assert sorted(tour.order) == list(range(80))
    assert tour.length == pytest.approx(route_length(lambda a, b: m[a][b], tour.order, True))
    assert tour.length < 0.5 * tour.initial_length
    # reading the matrix the other way round must not give the same cost for the same order
    rev = [list(r) for r in zip(*m, strict=True)]
    assert route_length(lambda a, b: rev[a][b], tour.order, True) != pytest.approx(tour.length)


def test_forbidden_legs_are_avoided() -> None:
    n = 12
    m = [[abs(i - j) * 1.0 for j in range(n)] for i in range(n)]
    m[0][1] = m[1][0] = math.inf
    tour = solve(n, matrix=m, max_iterations=100)
    assert math.isfinite(tour.length)
    legs = set(zip(tour.order, tour.order[1:] + tour.order[:1], strict=True))
    assert (0, 1) not in legs and (1, 0) not in legs


# ----------------------------------------------------------------------------- tiny inputs


def test_tiny_inputs() -> None:
    assert solve(0, points=[]) == Tour([], 0.0, 0, 0.0)
    assert solve(1, points=[(3.0, 4.0)]).order == [0]
    assert solve(1, points=[(3.0, 4.0)], closed=False, start=0, end=0).length == 0
    two = solve(2, points=[(0.0, 0.0), (3.0, 4.0)])
    assert two.order == [0, 1] and two.length == 10.0
    assert solve(2, points=[(0.0, 0.0), (3.0, 4.0)], closed=False).length == 5.0
    assert solve(2, points=[(0.0, 0.0), (3.0, 4.0)], closed=False, start=1).order == [1, 0]
    three = solve(3, matrix=[[0, 1, 5], [5, 0, 1], [1, 5, 0]])
    assert three.order == [0, 1, 2] and three.length == 3
    three_back = solve(3, matrix=[[0, 5, 1], [1, 0, 5], [5, 1, 0]])
    assert three_back.order == [0, 2, 1] and three_back.length == 3


def test_duplicate_points() -> None:
    same = [(1.0, 1.0)] * 15
    assert solve(15, points=same, max_iterations=20).length == 0
    pts = [(0.0, 0.0), (0.0, 0.0), (10.0, 0.0), (10.0, 0.0), (10.0, 10.0), (10.0, 10.0)] * 4
    tour = solve(len(pts), points=pts, max_iterations=100)
    assert sorted(tour.order) == list(range(len(pts)))
    assert tour.length == pytest.approx(10 + 10 + math.hypot(10, 10))


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        solve(2)
    with pytest.raises(ValueError, match="exactly one"):
        solve(2, euclidean([(0, 0), (1, 1)]), points=[(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="start 5"):
        solve(2, points=[(0, 0), (1, 1)], start=5)
    with pytest.raises(ValueError, match="2 x 2"):
        solve(2, matrix=[[0, 1]])
    with pytest.raises(ValueError, match="non-negative"):
        solve(2, matrix=[[0, -1], [1, 0]])


# ----------------------------------------------------------------------------- metrics


def test_metrics_and_callable_input() -> None:
    assert haversine([(0.0, 0.0), (0.0, 1.0)])(0, 1) == pytest.approx(111_195, rel=1e-4)
    # Shanghai to Beijing, about 1,067 km as the crow flies
    assert haversine([(31.2304, 121.4737), (39.9042, 116.4074)])(0, 1) == pytest.approx(
        1_067_000, rel=0.01
    )
    pts = tsplib_points("eil51")
    by_points = solve(len(pts), points=pts, max_iterations=200)
    by_dist = solve(len(pts), euclidean(pts), max_iterations=200)
    assert by_dist.length == pytest.approx(by_points.length, rel=0.02)
    geo = [(31.23 + i * 0.001 * (i % 3), 121.47 + 0.0013 * (i % 7)) for i in range(20)]
    tour = solve(20, haversine(geo), max_iterations=100)
    assert tour.length == pytest.approx(route_length(haversine(geo), tour.order, True))


def test_default_time_limit_scales() -> None:
    assert default_time_limit(10) == 0.5
    assert default_time_limit(300) == 2.0
    assert default_time_limit(1000) == 10.0
    assert default_time_limit(5000) == 10.0


def test_large_point_sets_compute_distances_on_demand(monkeypatch) -> None:
    monkeypatch.setattr(optimize, "_MATRIX_MAX", 20)
    pts = tsplib_points("eil51")
    tour = solve(len(pts), points=pts, rounded=True, max_iterations=500)
    assert tour.length <= 426 * 1.02
    path = solve(len(pts), points=pts, start=0, end=1, closed=False, max_iterations=100)
    assert path.order[0] == 0 and path.order[-1] == 1


# ----------------------------------------------------------------------------- invariants

coords = st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda p: (float(p[0]), float(p[1])))


@given(
    pts=st.lists(coords, max_size=40),
    closed=st.booleans(),
    rounded=st.booleans(),
    ends=st.tuples(st.integers(0, 50), st.integers(0, 50), st.booleans(), st.booleans()),
    seed=st.integers(0, 3),
)
def test_order_is_a_permutation_and_length_is_right(pts, closed, rounded, ends, seed) -> None:
    n = len(pts)
    start = ends[0] % n if n and ends[2] else None
    end = ends[1] % n if n and ends[3] else None
    tour = solve(
        n,
        points=pts,
        start=start,
        end=end,
        closed=closed,
        rounded=rounded,
        seed=seed,
        max_iterations=30,
    )
    assert sorted(tour.order) == list(range(n))
    if start is not None:
        assert tour.order[0] == start
    if end is not None and end != start:
        assert tour.order[-1] == end
    metric = euclidean(pts)
    cost = (lambda a, b: math.floor(metric(a, b) + 0.5)) if rounded else metric
    round_trip = closed or (start is not None and start == end)
    assert tour.length == pytest.approx(route_length(cost, tour.order, round_trip), abs=1e-6)
    assert tour.length <= tour.initial_length + 1e-6


@given(n=st.integers(0, 16), seed=st.integers(0, 1000), closed=st.booleans())
def test_matrix_order_is_a_permutation(n, seed, closed) -> None:
    m = random_asymmetric(n, seed)
    tour = solve(n, matrix=m, closed=closed, seed=seed, max_iterations=30)
    assert sorted(tour.order) == list(range(n))
    assert tour.length == pytest.approx(route_length(lambda a, b: m[a][b], tour.order, closed))


# ----------------------------------------------------------------------------- TSPLIB reader


def test_read_tsplib() -> None:
    stops = read_tsplib((TSPLIB / "eil51.tsp").read_text(), "eil51.tsp")
    assert len(stops) == 51 and stops[0] == ("1", 37.0, 52.0)
    text = "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n"
    assert read_tsplib(text + "1 0 0\n2 3.5 4e1\nEOF\n", "x.tsp") == [
        ("1", 0.0, 0.0),
        ("2", 3.5, 40.0),
    ]
    with pytest.raises(ValueError, match=r"^x\.tsp:7: coordinates must be numbers"):
        read_tsplib(text + "1 0 0\n2 3.5 north\n", "x.tsp")
    with pytest.raises(ValueError, match=r"^x\.tsp:6: expected 'id x y'"):
        read_tsplib(text + "1 0\n", "x.tsp")
    with pytest.raises(ValueError, match=r"^x\.tsp:7: node 1 repeats line 6"):
        read_tsplib(text + "1 0 0\n1 2 2\n", "x.tsp")
    with pytest.raises(ValueError, match=r"^x\.tsp:3: DIMENSION is 2 but .* has 3"):
        read_tsplib(text + "1 0 0\n2 1 1\n3 2 2\n", "x.tsp")
    with pytest.raises(ValueError, match=r"^g\.tsp:4: EDGE_WEIGHT_TYPE GEO is not supported"):
        read_tsplib(text.replace("EUC_2D", "GEO") + "1 0 0\n2 1 1\n", "g.tsp")
    with pytest.raises(ValueError, match=r"^a\.tsp:2: TYPE ATSP is not supported"):
        read_tsplib(text.replace("TYPE: TSP", "TYPE: ATSP"), "a.tsp")
    with pytest.raises(ValueError, match=r"^h\.tsp:1: expected 'KEY: value'"):
        read_tsplib("what is this\n", "h.tsp")
    with pytest.raises(ValueError, match=r"^e\.tsp: no NODE_COORD_SECTION"):
        read_tsplib("NAME: e\nEDGE_WEIGHT_TYPE: EUC_2D\n", "e.tsp")
