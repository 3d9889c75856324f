"""The public entry: :func:`solve` checks its input, picks the exact or the heuristic search and
turns the tour found back into the order asked for."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pm_cli.routes.tsp.exact import held_karp
from pm_cli.routes.tsp.matrix import Row, metric_rows, route_length, with_depot
from pm_cli.routes.tsp.metrics import Metric
from pm_cli.routes.tsp.search import search

__all__ = ["Tour", "default_time_limit", "solve"]

_EXACT_MAX = 10  # closed problems with this many nodes or fewer are solved exactly
_MATRIX_MAX = 2500  # above this many points, distances are computed on demand


@dataclass
class Tour:
    """A solved route.

    ``order`` indexes the input points (or matrix rows) in visiting order. ``length`` is in
    the metric used; a closed tour includes the edge back to its first stop, an open route
    does not. ``initial_length`` is the length of the stops in the order given (with a fixed
    start moved to the front and a fixed end to the back), for "before/after/saving".
    """

    order: list[int]
    length: float
    iterations: int
    initial_length: float


def default_time_limit(n: int) -> float:
    """Seconds of search when neither a time limit nor an iteration budget is given.

    0.5 s up to 75 stops, 2 s at 300, rising linearly to 10 s at 1,000 and beyond.
    """
    if n <= 300:
        return max(0.5, n / 150.0)
    return min(10.0, 2.0 + (n - 300) * 8.0 / 700.0)


def solve(
    n: int,
    dist: Metric | None = None,
    *,
    points: Sequence[tuple[float, float]] | None = None,
    matrix: Sequence[Sequence[float]] | None = None,
    start: int | None = None,
    end: int | None = None,
    closed: bool = True,
    time_limit: float | None = None,
    max_iterations: int | None = None,
    seed: int = 0,
    rounded: bool = False,
) -> Tour:
    """Order ``n`` stops to make the route as short as possible.

    Give exactly one of ``points`` (Euclidean on x/y), ``matrix`` (``matrix[i][j]`` is the
    cost of going from i to j; it may be asymmetric, and ``math.inf`` marks a forbidden
    leg) or ``dist`` (called for every ordered pair once). ``rounded`` rounds each leg to the
    nearest integer, as TSPLIB's EUC_2D does.

    ``closed=True`` returns a round trip (``start``, if given, first in ``order``; ``end``, if
    given, last before returning). ``closed=False`` returns a path; ``start`` and ``end`` fix
    its first and last stop when given (``start == end`` means a round trip from there).

    The search stops after ``max_iterations`` kicks or ``time_limit`` seconds, whichever comes
    first. With neither, the limit is :func:`default_time_limit` (and the search also stops
    once it has stopped improving for a long while). With only ``max_iterations``, there is
    no time limit, so the result depends on ``seed`` and the input alone.
    """
    started = time.perf_counter()
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if sum(source is not None for source in (dist, points, matrix)) != 1:
        raise ValueError("give exactly one of dist, points or matrix")
    for name, stop in (("start", start), ("end", end)):
        if stop is not None and not 0 <= stop < n:
            raise ValueError(f"{name} {stop} is not a stop index (0..{n - 1})")
    if max_iterations is not None and max_iterations < 0:
        raise ValueError("max_iterations must not be negative")
    if time_limit is not None and time_limit < 0:
        raise ValueError("time_limit must not be negative")

    rows, symmetric, maxedge = metric_rows(n, dist, points, matrix, rounded, _MATRIX_MAX)

    if start is not None and start == end:
        closed, end = True, None
    # The constraint-respecting version of the order given: the "before" route.
    middle = [stop for stop in range(n) if stop != start and stop != end]
    given = ([start] if start is not None else []) + middle + ([end] if end is not None else [])
    initial_length = route_length(rows, given, closed)
    if n <= 1:
        return Tour(given, float(initial_length), 0, float(initial_length))

    # Reduce everything to a closed tour on `nodes` nodes, with a depot node (index n) if needed.
    use_depot = not closed or (start is not None and end is not None)
    big = (n + 2) * (maxedge + 1)  # more than any route's length: a forbidden edge
    work: Sequence[Row]
    if use_depot:
        work = with_depot(rows, n, start, end, symmetric, big)
        nodes = n + 1
    else:
        work = rows
        nodes = n
    if points is None and any(math.isinf(cost) for row in rows for cost in row):
        work = [[big if math.isinf(cost) else cost for cost in row] for row in work]

    iterations = 0
    if nodes <= max(_EXACT_MAX, 7):  # the local search needs a few stops to move around
        cycle = held_karp(work, nodes)
    else:
        limit = time_limit
        stall: int | None = None
        if time_limit is None and max_iterations is None:
            limit = default_time_limit(n)
            stall = 50 * nodes + 1000
        # stop searching a little early: finishing the current kick and the answer take time
        deadline = None if limit is None else started + limit - min(0.05, 0.02 * limit)
        cycle, iterations = search(
            work,
            nodes,
            symmetric,
            points if points is not None and symmetric else None,
            use_depot,
            random.Random(seed),
            max_iterations,
            deadline,
            stall,
            maxedge,
        )

    order = _decode(cycle, n, start, end, use_depot, symmetric)
    length = route_length(rows, order, closed)
    if (
        length > initial_length
        or (start is not None and order[0] != start)
        or (end is not None and order[-1] != end)
    ):  # never worse than the order given (cannot happen after a real search)
        order, length = given, initial_length
    return Tour(order, float(length), iterations, float(initial_length))


def _decode(
    cycle: list[int],
    count: int,
    start: int | None,
    end: int | None,
    use_depot: bool,
    symmetric: bool,
) -> list[int]:
    """Turn a closed tour over the working nodes into the requested order of the count stops."""
    if use_depot:
        cut = cycle.index(count)  # the depot
        order = cycle[cut + 1 :] + cycle[:cut]
        if symmetric and (
            (start is not None and order[0] != start)
            or (start is None and end is not None and order[-1] != end)
        ):
            order.reverse()
        return order
    anchor = start if start is not None else (end if end is not None else 0)
    cut = cycle.index(anchor)
    order = cycle[cut:] + cycle[:cut]
    if start is None and end is not None:
        order = order[1:] + order[:1]  # end last
    return order
