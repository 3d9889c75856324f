"""Cost rows: the distances the search reads, and the depot that turns open routes into tours.

``rows[i][j]`` is the cost of going from stop i to stop j. Up to a few thousand points the rows
are plain lists, computed once; above that, :class:`LazyRow` computes a Euclidean distance each
time it is read, so memory stays linear.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Protocol

from pm_cli.routes.tsp.metrics import Metric

__all__ = ["LazyRow", "Row", "metric_rows", "route_length", "with_depot"]


class Row(Protocol):
    """One row of costs as the search reads it: a list of floats or a :class:`LazyRow`."""

    def __getitem__(self, column: int, /) -> float: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[float]: ...


class LazyRow:
    """One row of a Euclidean distance matrix, computed on demand (large point sets)."""

    __slots__ = ("x", "y", "xs", "ys", "rounded", "extra")

    def __init__(self, index: int, xs: list[float], ys: list[float], rounded: bool) -> None:
        self.x, self.y, self.xs, self.ys, self.rounded = xs[index], ys[index], xs, ys, rounded
        self.extra: float | None = None

    def __getitem__(self, column: int) -> float:
        if column == len(self.xs):  # the depot's column: only rows with_depot made have it, set
            return self.extra  # type: ignore[return-value]
        dist = math.hypot(self.x - self.xs[column], self.y - self.ys[column])
        return math.floor(dist + 0.5) if self.rounded else dist

    def __len__(self) -> int:
        return len(self.xs)

    def __iter__(self) -> Iterator[float]:
        return (self[column] for column in range(len(self.xs)))


def metric_rows(
    count: int,
    dist: Metric | None,
    points: Sequence[tuple[float, float]] | None,
    matrix: Sequence[Sequence[float]] | None,
    rounded: bool,
    lazy_above: int,
) -> tuple[Sequence[Row], bool, float]:
    """(rows, symmetric, longest finite edge) for ``count`` stops from exactly one input.

    Points give Euclidean rows (lazy ones above ``lazy_above`` points); a matrix or a distance
    function gives plain rows, checked for negative or missing costs (``math.inf`` is allowed:
    a forbidden leg). ``rounded`` rounds every finite cost to the nearest integer.
    """
    if points is not None:
        if len(points) != count:
            raise ValueError(f"points has {len(points)} entries, expected {count}")
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        if not all(math.isfinite(v) for v in xs + ys):
            raise ValueError("points must have finite coordinates")
        if count == 0:
            return [], True, 0.0
        span = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
        if count > lazy_above:
            lazy = [LazyRow(index, xs, ys, rounded) for index in range(count)]
            return lazy, True, math.ceil(span) + 1
        hypot, floor = math.hypot, math.floor
        point_rows: list[list[float]] = []
        xy = list(zip(xs, ys, strict=True))
        for x_from, y_from in xy:
            if rounded:
                point_rows.append([floor(hypot(x_from - x, y_from - y) + 0.5) for x, y in xy])
            else:
                point_rows.append([hypot(x_from - x, y_from - y) for x, y in xy])
        return point_rows, True, max(map(max, point_rows))
    if matrix is not None:
        if len(matrix) != count or any(len(row) != count for row in matrix):
            raise ValueError(f"matrix must be {count} x {count}")
        rows = [[float(cost) for cost in row] for row in matrix]
    else:
        assert dist is not None  # solve() checked that exactly one input was given
        rows = [[float(dist(origin, target)) for target in range(count)] for origin in range(count)]
    for origin, row in enumerate(rows):
        row[origin] = 0.0
        for cost in row:
            if math.isnan(cost) or cost < 0:
                raise ValueError(
                    f"distances must be non-negative numbers (row {origin} has {cost})"
                )
    if rounded:
        rows = [
            [cost if math.isinf(cost) else math.floor(cost + 0.5) for cost in row] for row in rows
        ]
    symmetric = rows == [list(column) for column in zip(*rows, strict=True)]
    finite = [cost for row in rows for cost in row if not math.isinf(cost)]
    return rows, symmetric, max(finite, default=0.0)


def with_depot(
    rows: Sequence[Row],
    count: int,
    start: int | None,
    end: int | None,
    symmetric: bool,
    big: float,
) -> list[Row]:
    """Rows for the closed problem on count + 1 nodes: node count is a depot between end and start.

    Cost from the depot to x (``out``) and from x to the depot (``into``): 0 for an allowed end,
    ``big`` (a forbidden edge) elsewhere. A symmetric problem stays symmetric: both of the
    depot's neighbours come from the allowed ends, the second one at a constant cost when only
    one end is fixed.
    """
    if symmetric:
        allowed = {stop for stop in (start, end) if stop is not None}
        column = [0 if not allowed or x in allowed else big for x in range(count)]
        out = into = column
    else:
        out = [0 if start is None or x == start else big for x in range(count)]
        into = [0 if end is None or x == end else big for x in range(count)]
    work: list[Row] = []
    for x, row in enumerate(rows):
        if isinstance(row, LazyRow):
            lazy = LazyRow(x, row.xs, row.ys, row.rounded)
            lazy.extra = into[x]
            work.append(lazy)
        else:
            work.append(list(row) + [into[x]])
    work.append(list(out) + [0])
    return work


def route_length(rows: Sequence[Row], order: Sequence[int], closed: bool) -> float:
    """Length of walking ``order``; a closed route includes the leg back to its first stop."""
    if len(order) < 2:
        return 0
    total = sum(rows[a][b] for a, b in pairwise(order))
    if closed:
        total += rows[order[-1]][order[0]]
    return total
