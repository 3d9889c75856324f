"""First tours and candidate lists: who is near whom, and a reasonable tour to improve.

The local search only tries to join a stop to one of its few nearest neighbours, so these
lists bound its work. A symmetric problem starts from a greedy-edge tour, an asymmetric one from
nearest-neighbour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pm_cli.routes.tsp.matrix import Row

__all__ = [
    "add_depot_neighbours",
    "greedy_edge",
    "knn_points",
    "knn_rows",
    "nearest_neighbour",
]


def knn_rows(rows: Sequence[Row], count: int, neighbour_count: int) -> list[list[int]]:
    """The ``neighbour_count`` cheapest targets of each node, read from its row of costs."""
    result = []
    for node in range(count):
        row = rows[node]
        by_cost = sorted(range(count), key=row.__getitem__)
        result.append(
            [other for other in by_cost[: neighbour_count + 1] if other != node][:neighbour_count]
        )
    return result


def knn_points(points: Sequence[tuple[float, float]], neighbour_count: int) -> list[list[int]]:
    """The ``neighbour_count`` nearest neighbours of each point (Euclidean), from a bucket grid.

    The square around the points is cut into cells; rings of cells around a point's own are
    searched outwards until the farthest of the nearest found lies within the rings searched
    (or the rings have covered the grid).
    """
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    count = len(xs)
    x0, y0 = min(xs), min(ys)
    width = max(max(xs) - x0, max(ys) - y0) or 1.0
    cells_per_side = max(1, int(math.sqrt(count / 2.0)))
    cell_size = width / cells_per_side
    cells: dict[tuple[int, int], list[int]] = {}
    cell_of = []
    for point in range(count):
        cx = min(cells_per_side - 1, int((xs[point] - x0) / cell_size))
        cy = min(cells_per_side - 1, int((ys[point] - y0) / cell_size))
        cell_of.append((cx, cy))
        cells.setdefault((cx, cy), []).append(point)
    hypot = math.hypot
    result = []
    for point in range(count):
        cx, cy = cell_of[point]
        px, py = xs[point], ys[point]
        found: list[tuple[float, int]] = []
        ring = 0
        while True:
            for column in range(cx - ring, cx + ring + 1):
                if column < 0 or column >= cells_per_side:
                    continue
                side = column == cx - ring or column == cx + ring  # whole column, or its two ends
                for row in range(cy - ring, cy + ring + 1) if side else (cy - ring, cy + ring):
                    for other in cells.get((column, row), ()):
                        if other != point:
                            found.append((hypot(px - xs[other], py - ys[other]), other))
            if len(found) >= neighbour_count:
                found.sort()
                if found[neighbour_count - 1][0] <= ring * cell_size or ring > cells_per_side:
                    break
            elif ring > cells_per_side:
                found.sort()
                break
            ring += 1
        result.append([other for _, other in found[:neighbour_count]])
    return result


def add_depot_neighbours(
    neighbours: list[list[int]], rows: Sequence[Row], depot: int, neighbour_count: int
) -> None:
    """Put the depot into the candidate lists of the stops it may join at cost 0."""
    row = rows[depot]
    zero = [stop for stop in range(depot) if row[stop] == 0]
    for stop in zero:
        neighbours[stop] = [depot] + neighbours[stop][: neighbour_count - 1]
    rest = [stop for stop in range(depot) if row[stop] != 0]
    neighbours.append((zero + rest)[:neighbour_count])


def greedy_edge(rows: Sequence[Row], neighbours: list[list[int]], count: int) -> list[int]:
    """Greedy-edge tour: shortest candidate edges first, fragments joined nearest-first.

    An edge is taken when neither end already has two and it closes no cycle (union-find);
    the paths this leaves are then chained, each time to the nearest free fragment end.
    """
    edges = sorted(
        {
            (rows[stop][other], min(stop, other), max(stop, other))
            for stop in range(count)
            for other in neighbours[stop]
        }
    )
    degree = [0] * count
    adjacent: list[list[int]] = [[] for _ in range(count)]
    parent = list(range(count))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _, low, high in edges:
        if degree[low] < 2 and degree[high] < 2:
            root_low, root_high = find(low), find(high)
            if root_low != root_high:
                parent[root_low] = root_high
                degree[low] += 1
                degree[high] += 1
                adjacent[low].append(high)
                adjacent[high].append(low)
    fragments = _fragments(adjacent, degree, count)
    # Join fragments: from the current end, go to the nearest free fragment end.
    fragment_at = {}  # a fragment's index, by either of its end stops
    for index, fragment in enumerate(fragments):
        fragment_at[fragment[0]] = index
        fragment_at[fragment[-1]] = index
    used = [False] * len(fragments)
    tour = list(fragments[0])
    used[0] = True
    alive = list(range(1, len(fragments)))
    for _ in range(len(fragments) - 1):
        tail = tour[-1]
        from_tail = rows[tail]
        best: tuple[int, int] | None = None  # (fragment index, the end to enter it by)
        for stop in neighbours[tail]:
            near = fragment_at.get(stop)
            if near is not None and not used[near]:
                best = (near, stop)
                break
        if best is None:
            alive = [f for f in alive if not used[f]]
            index = min(
                alive, key=lambda f: min(from_tail[fragments[f][0]], from_tail[fragments[f][-1]])
            )
            ends = fragments[index]
            best = (index, ends[0] if from_tail[ends[0]] <= from_tail[ends[-1]] else ends[-1])
        index, entry = best
        used[index] = True
        fragment = fragments[index]
        tour.extend(fragment if fragment[0] == entry else reversed(fragment))
    return tour


def _fragments(adjacent: list[list[int]], degree: list[int], count: int) -> list[list[int]]:
    """The paths of the chosen edges, each walked from one of its ends (lone stops included)."""
    seen = [False] * count
    fragments = []
    for first in range(count):
        if seen[first] or degree[first] == 2:
            continue
        fragment = [first]
        seen[first] = True
        current = first
        while True:
            following = next((x for x in adjacent[current] if not seen[x]), None)
            if following is None:
                break
            fragment.append(following)
            seen[following] = True
            current = following
        fragments.append(fragment)
    return fragments


def nearest_neighbour(rows: Sequence[Row], count: int) -> list[int]:
    """From node 0, always on to the cheapest node not yet visited (ties: the lowest index)."""
    tour = [0]
    left = set(range(1, count))
    while left:
        row = rows[tour[-1]]
        following = min(left, key=lambda node: (row[node], node))
        left.remove(following)
        tour.append(following)
    return tour
