"""The exact answer for small problems: Held-Karp dynamic programming over subsets of stops."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pm_cli.routes.tsp.matrix import Row

__all__ = ["held_karp"]


def held_karp(rows: Sequence[Row], count: int) -> list[int]:
    """Shortest closed tour over ``count`` small nodes, starting at node 0.

    ``best[mask][last]`` is the cheapest walk from node 0 through the nodes in ``mask`` (bit
    k - 1 stands for node k) that ends at ``last``; ``came_from`` keeps the node before ``last``
    on that walk, so the tour is read back from its end.
    """
    if count <= 2:
        return list(range(count))
    full = 1 << (count - 1)
    inf = math.inf
    best = [[inf] * count for _ in range(full)]
    came_from = [[0] * count for _ in range(full)]
    for node in range(1, count):
        best[1 << (node - 1)][node] = rows[0][node]
    for mask in range(1, full):
        best_in_mask = best[mask]
        for last in range(1, count):
            walked = best_in_mask[last]
            if walked == inf:
                continue
            from_last = rows[last]
            for node in range(1, count):
                bit = 1 << (node - 1)
                if mask & bit:
                    continue
                extended = walked + from_last[node]
                if extended < best[mask | bit][node]:
                    best[mask | bit][node] = extended
                    came_from[mask | bit][node] = last
    final = min(range(1, count), key=lambda node: best[full - 1][node] + rows[node][0])
    order = []
    mask = full - 1
    node = final
    while node:
        order.append(node)
        node, mask = came_from[mask][node], mask & ~(1 << (node - 1))
    order.append(0)
    order.reverse()
    return order
