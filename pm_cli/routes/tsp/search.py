"""The heuristic: a first tour, local search, then iterated local search with double bridges.

Each kick of the iterated search is a segment double bridge: two adjacent stretches of the
tour, of log-uniform random lengths, swap places. The stops at its six ends are queued, local
search repairs the region, and the result is kept if it is no longer; otherwise the previous
tour is restored.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence

from pm_cli.routes.tsp.asymmetric import local_search_asym
from pm_cli.routes.tsp.construction import (
    add_depot_neighbours,
    greedy_edge,
    knn_points,
    knn_rows,
    nearest_neighbour,
)
from pm_cli.routes.tsp.local_search import local_search_sym
from pm_cli.routes.tsp.matrix import Row

__all__ = ["iterated_local_search", "search"]

# Local search over (tour, pos, queue, queued), returning its gain.
Improve = Callable[[list[int], list[int], deque[int], list[bool]], float]

_NEIGHBOURS = 10  # candidate list length for the local search
# Longest stretch a double-bridge kick moves (also at most about n / 2). Lengths are drawn
# log-uniformly: mostly a few stops, sometimes a long stretch (which clustered stops need).
_KICK_SEGMENT = 1_000_000


def search(
    work: Sequence[Row],
    count: int,
    symmetric: bool,
    points: Sequence[tuple[float, float]] | None,
    use_depot: bool,
    rng: random.Random,
    max_iterations: int | None,
    deadline: float | None,
    stall: int | None,
    maxedge: float,
) -> tuple[list[int], int]:
    """(a short closed tour over the ``count`` working nodes, the number of kicks made).

    ``points`` (symmetric problems only) find the neighbour lists through a grid instead of a
    sort of every row; with ``use_depot`` the last node is the depot. The search ends after
    ``max_iterations`` kicks, at ``deadline`` (a ``time.perf_counter()`` value) or after
    ``stall`` kicks without improvement, whichever comes first.
    """
    eps = 1e-9 * max(1.0, maxedge)
    neighbour_count = min(_NEIGHBOURS, count - 1)
    improve: Improve
    if symmetric:
        if points is not None:
            neighbours = knn_points(points, neighbour_count)
            if use_depot:
                add_depot_neighbours(neighbours, work, count - 1, neighbour_count)
        else:
            neighbours = knn_rows(work, count, neighbour_count)
        tour = greedy_edge(work, neighbours, count)

        def improve(
            tour: list[int], pos: list[int], queue: deque[int], queued: list[bool]
        ) -> float:
            return local_search_sym(tour, pos, work, neighbours, queue, queued, eps, deadline)
    else:
        out_near = knn_rows(work, count, neighbour_count)
        in_near = knn_rows(
            [list(column) for column in zip(*work, strict=True)], count, neighbour_count
        )
        tour = nearest_neighbour(work, count)

        def improve(
            tour: list[int], pos: list[int], queue: deque[int], queued: list[bool]
        ) -> float:
            return local_search_asym(
                tour, pos, work, out_near, in_near, queue, queued, eps, deadline
            )

    return iterated_local_search(tour, work, improve, rng, max_iterations, deadline, stall, eps)


def iterated_local_search(
    start_tour: list[int],
    rows: Sequence[Row],
    improve: Improve,
    rng: random.Random,
    max_iterations: int | None,
    deadline: float | None,
    stall: int | None,
    eps: float,
) -> tuple[list[int], int]:
    """Improve ``start_tour`` fully, then kick and repair it; (best tour, kicks made)."""
    count = len(start_tour)
    tour = list(start_tour)
    pos = [0] * count
    for position, stop in enumerate(tour):
        pos[stop] = position
    queue = deque(tour)
    queued = [True] * count
    improve(tour, pos, queue, queued)
    saved_tour = tour[:]
    saved_pos = pos[:]
    kick = max(1, min(_KICK_SEGMENT, (count - 2) // 2))
    log_kick = math.log(kick + 1)
    rand = rng.random
    exp = math.exp
    randrange = rng.randrange
    clock = time.perf_counter
    iteration = 0
    last_gain = 0  # the kick that last made the tour shorter
    while max_iterations is None or iteration < max_iterations:
        if deadline is not None and clock() >= deadline:
            break
        if stall is not None and iteration - last_gain > stall:
            break
        iteration += 1
        # Local double bridge: A B C D -> A C B D, with B and C short stretches after `origin`.
        len_b = min(kick, int(exp(rand() * log_kick)))
        len_c = min(kick, int(exp(rand() * log_kick)))
        origin = randrange(count)
        window = [tour[(origin + q) % count] for q in range(len_b + len_c + 2)]
        end_a, first_b, last_b = window[0], window[1], window[len_b]
        first_c, last_c, start_d = window[len_b + 1], window[-2], window[-1]
        delta = (
            rows[end_a][first_c]
            + rows[last_c][first_b]
            + rows[last_b][start_d]
            - rows[end_a][first_b]
            - rows[last_b][first_c]
            - rows[last_c][start_d]
        )
        swapped = window[len_b + 1 : -1] + window[1 : len_b + 1]
        position = origin + 1
        for stop in swapped:
            if position >= count:
                position -= count
            tour[position] = stop
            pos[stop] = position
            position += 1
        for node in (end_a, first_b, last_b, first_c, last_c, start_d):
            if not queued[node]:
                queued[node] = True
                queue.append(node)
        delta -= improve(tour, pos, queue, queued)
        if delta <= eps:
            if delta < -eps:
                last_gain = iteration
            saved_tour[:] = tour
            saved_pos[:] = pos
        else:
            tour[:] = saved_tour
            pos[:] = saved_pos
    return saved_tour, iteration
