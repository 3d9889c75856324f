"""Distance functions over a list of points: straight lines on a plan, great circles on a map."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = ["EARTH_RADIUS_M", "Metric", "euclidean", "haversine"]

Metric = Callable[[int, int], float]

EARTH_RADIUS_M = 6_371_008.8


def euclidean(points: Sequence[tuple[float, float]]) -> Metric:
    """Straight-line distance between points given as (x, y)."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    hypot = math.hypot

    def dist(i: int, j: int) -> float:
        return hypot(xs[i] - xs[j], ys[i] - ys[j])

    return dist


def haversine(points: Sequence[tuple[float, float]]) -> Metric:
    """Great-circle distance in metres between points given as (lat, lon) in degrees."""
    lat = [math.radians(p[0]) for p in points]
    lon = [math.radians(p[1]) for p in points]
    coslat = [math.cos(v) for v in lat]
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    diameter = 2.0 * EARTH_RADIUS_M

    def dist(i: int, j: int) -> float:
        half_dlat = sin((lat[j] - lat[i]) * 0.5)
        half_dlon = sin((lon[j] - lon[i]) * 0.5)
        h = half_dlat * half_dlat + coslat[i] * coslat[j] * half_dlon * half_dlon
        return diameter * asin(min(1.0, sqrt(h)))

    return dist
