"""Route optimisation: the shortest round or open route through a set of stops.

This is the engine behind `pm route optimize`; it knows nothing about the CLI or the database.
Pure Python, standard library only.

The search, in brief:

* Small problems (at most ``_EXACT_MAX`` nodes after the open-route transformation) are solved
  exactly by Held-Karp dynamic programming.
* Otherwise a greedy-edge tour (nearest-neighbour for asymmetric matrices) is improved by local
  search: 2-opt and Or-opt (segments of 1-3 stops, inserted either way round) over the
  k nearest neighbours of each stop, driven by a queue of "dirty" stops (don't-look bits).
* Then iterated local search until the time limit or ``max_iterations`` kicks: each kick is a
  segment double bridge (two adjacent stretches of the tour, of log-uniform random lengths,
  swap places), the stops at its six ends are queued, local search repairs the region, and
  the result is kept if it is no longer, otherwise the previous tour is restored.
* Asymmetric matrices (one-way doors) use the same moves with their costs evaluated in the
  direction of travel (a reversed stretch is priced from prefix sums of both directions) and
  reversals are never swapped for their complement.
* Open routes and fixed first/last stops are solved as closed tours through one extra
  "depot" node whose edges cost 0 to the allowed ends and a prohibitive constant elsewhere.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["Tour", "default_time_limit", "euclidean", "haversine", "solve"]

Metric = Callable[[int, int], float]

EARTH_RADIUS_M = 6_371_008.8
_EXACT_MAX = 10  # closed problems with this many nodes or fewer are solved exactly
_MATRIX_MAX = 2500  # above this many points, distances are computed on demand
_NEIGHBOURS = 10  # candidate list length for the local search
# Longest stretch a double-bridge kick moves (also at most about n / 2). Lengths are drawn
# log-uniformly: mostly a few stops, sometimes a long stretch (which clustered stops need).
_KICK_SEGMENT = 1_000_000
# Or-opt segments: (length, offset of its first stop from the stop being examined)
_SEGMENTS = ((1, 0), (2, 0), (2, -1), (3, 0), (3, -2))


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


# --------------------------------------------------------------------------- metrics


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
        a = sin((lat[j] - lat[i]) * 0.5)
        b = sin((lon[j] - lon[i]) * 0.5)
        h = a * a + coslat[i] * coslat[j] * b * b
        return diameter * asin(min(1.0, sqrt(h)))

    return dist


def default_time_limit(n: int) -> float:
    """Seconds of search when neither a time limit nor an iteration budget is given.

    0.5 s up to 75 stops, 2 s at 300, rising linearly to 10 s at 1,000 and beyond.
    """
    if n <= 300:
        return max(0.5, n / 150.0)
    return min(10.0, 2.0 + (n - 300) * 8.0 / 700.0)


# --------------------------------------------------------------------------- the solver


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
    t_start = time.perf_counter()
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if sum(x is not None for x in (dist, points, matrix)) != 1:
        raise ValueError("give exactly one of dist, points or matrix")
    for name, v in (("start", start), ("end", end)):
        if v is not None and not 0 <= v < n:
            raise ValueError(f"{name} {v} is not a stop index (0..{n - 1})")
    if max_iterations is not None and max_iterations < 0:
        raise ValueError("max_iterations must not be negative")
    if time_limit is not None and time_limit < 0:
        raise ValueError("time_limit must not be negative")

    rows, sym, maxedge = _metric_rows(n, dist, points, matrix, rounded)

    if start is not None and start == end:
        closed, end = True, None
    # The constraint-respecting version of the order given: the "before" route.
    middle = [i for i in range(n) if i != start and i != end]
    given = ([start] if start is not None else []) + middle + ([end] if end is not None else [])
    initial_length = _route_length(rows, given, closed)
    if n <= 1:
        return Tour(given, float(initial_length), 0, float(initial_length))

    # Reduce everything to a closed tour on m nodes, with a depot node (index n) if needed.
    use_depot = not closed or (start is not None and end is not None)
    big = (n + 2) * (maxedge + 1)  # more than any route's length: a forbidden edge
    if use_depot:
        work = _with_depot(rows, n, start, end, sym, big)
        m = n + 1
    else:
        work = rows
        m = n
    if points is None and any(math.isinf(v) for row in rows for v in row):
        work = [[big if math.isinf(v) else v for v in row] for row in work]

    iterations = 0
    if m <= max(_EXACT_MAX, 7):  # the local search needs a few stops to move around
        cycle = _held_karp(work, m)
    else:
        limit = time_limit
        stall: int | None = None
        if time_limit is None and max_iterations is None:
            limit = default_time_limit(n)
            stall = 50 * m + 1000
        # stop searching a little early: finishing the current kick and the answer take time
        deadline = None if limit is None else t_start + limit - min(0.05, 0.02 * limit)
        cycle, iterations = _search(
            work, m, sym, points if points is not None and sym else None, use_depot,
            random.Random(seed), max_iterations, deadline, stall, maxedge,
        )

    order = _decode(cycle, n, start, end, use_depot, sym)
    length = _route_length(rows, order, closed)
    if (
        length > initial_length
        or (start is not None and order[0] != start)
        or (end is not None and order[-1] != end)
    ):  # never worse than the order given (cannot happen after a real search)
        order, length = given, initial_length
    return Tour(order, float(length), iterations, float(initial_length))


# --------------------------------------------------------------------------- set-up


class _LazyRow:
    """One row of a Euclidean distance matrix, computed on demand (large point sets)."""

    __slots__ = ("x", "y", "xs", "ys", "rounded", "extra")

    def __init__(self, i: int, xs: list[float], ys: list[float], rounded: bool) -> None:
        self.x, self.y, self.xs, self.ys, self.rounded = xs[i], ys[i], xs, ys, rounded
        self.extra: float | None = None

    def __getitem__(self, j: int) -> float:
        if j == len(self.xs):  # the depot's column: only rows _with_depot made have it, set
            return self.extra  # type: ignore[return-value]
        d = math.hypot(self.x - self.xs[j], self.y - self.ys[j])
        return math.floor(d + 0.5) if self.rounded else d

    def __len__(self) -> int:
        return len(self.xs)

    def __iter__(self):
        return (self[j] for j in range(len(self.xs)))


def _metric_rows(n, dist, points, matrix, rounded):
    """(rows, symmetric, longest finite edge); rows[i][j] is the cost from i to j."""
    if points is not None:
        if len(points) != n:
            raise ValueError(f"points has {len(points)} entries, expected {n}")
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        if not all(math.isfinite(v) for v in xs + ys):
            raise ValueError("points must have finite coordinates")
        if n == 0:
            return [], True, 0.0
        span = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
        if n > _MATRIX_MAX:
            return [_LazyRow(i, xs, ys, rounded) for i in range(n)], True, math.ceil(span) + 1
        hypot, floor = math.hypot, math.floor
        rows = []
        xy = list(zip(xs, ys, strict=True))
        for xi, yi in xy:
            if rounded:
                rows.append([floor(hypot(xi - x, yi - y) + 0.5) for x, y in xy])
            else:
                rows.append([hypot(xi - x, yi - y) for x, y in xy])
        return rows, True, max(map(max, rows))
    if matrix is not None:
        if len(matrix) != n or any(len(r) != n for r in matrix):
            raise ValueError(f"matrix must be {n} x {n}")
        rows = [[float(v) for v in r] for r in matrix]
    else:
        rows = [[float(dist(i, j)) for j in range(n)] for i in range(n)]
    for i, row in enumerate(rows):
        row[i] = 0.0
        for v in row:
            if math.isnan(v) or v < 0:
                raise ValueError(f"distances must be non-negative numbers (row {i} has {v})")
    if rounded:
        rows = [[v if math.isinf(v) else math.floor(v + 0.5) for v in r] for r in rows]
    sym = rows == [list(c) for c in zip(*rows, strict=True)]
    finite = [v for r in rows for v in r if not math.isinf(v)]
    return rows, sym, max(finite, default=0.0)


def _with_depot(rows, n, start, end, sym, big):
    """Rows for the closed problem on n + 1 nodes: node n is a depot between end and start.

    Cost from the depot to x (``out``) and from x to the depot (``into``). A symmetric problem
    stays symmetric: both of the depot's neighbours come from the allowed ends, the second one
    at a constant cost when only one end is fixed.
    """
    if sym:
        allowed = {v for v in (start, end) if v is not None}
        col = [0 if not allowed or x in allowed else big for x in range(n)]
        out = into = col
    else:
        out = [0 if start is None or x == start else big for x in range(n)]
        into = [0 if end is None or x == end else big for x in range(n)]
    work = []
    for x, row in enumerate(rows):
        if isinstance(row, _LazyRow):
            lazy = _LazyRow(x, row.xs, row.ys, row.rounded)
            lazy.extra = into[x]
            work.append(lazy)
        else:
            work.append(list(row) + [into[x]])
    work.append(list(out) + [0])
    return work


def _route_length(rows, order, closed):
    if len(order) < 2:
        return 0
    total = sum(rows[a][b] for a, b in pairwise(order))
    if closed:
        total += rows[order[-1]][order[0]]
    return total


def _decode(cycle, n, start, end, use_depot, sym):
    """Turn a closed tour over the working nodes into the requested order."""
    if use_depot:
        k = cycle.index(n)
        order = cycle[k + 1:] + cycle[:k]
        if sym and (
            (start is not None and order[0] != start)
            or (start is None and end is not None and order[-1] != end)
        ):
            order.reverse()
        return order
    anchor = start if start is not None else (end if end is not None else 0)
    k = cycle.index(anchor)
    order = cycle[k:] + cycle[:k]
    if start is None and end is not None:
        order = order[1:] + order[:1]  # end last
    return order


# --------------------------------------------------------------------------- exact


def _held_karp(w, m):
    """Shortest closed tour over m small nodes (dynamic programming over subsets)."""
    if m <= 2:
        return list(range(m))
    full = 1 << (m - 1)
    inf = math.inf
    cost = [[inf] * m for _ in range(full)]
    back = [[0] * m for _ in range(full)]
    for j in range(1, m):
        cost[1 << (j - 1)][j] = w[0][j]
    for mask in range(1, full):
        cm = cost[mask]
        for j in range(1, m):
            c = cm[j]
            if c == inf:
                continue
            wj = w[j]
            for k in range(1, m):
                bit = 1 << (k - 1)
                if mask & bit:
                    continue
                nc = c + wj[k]
                if nc < cost[mask | bit][k]:
                    cost[mask | bit][k] = nc
                    back[mask | bit][k] = j
    last = min(range(1, m), key=lambda j: cost[full - 1][j] + w[j][0])
    order = []
    mask = full - 1
    j = last
    while j:
        order.append(j)
        j, mask = back[mask][j], mask & ~(1 << (j - 1))
    order.append(0)
    order.reverse()
    return order


# --------------------------------------------------------------------------- heuristic


def _search(work, m, sym, points, use_depot, rng, max_iterations, deadline, stall, maxedge):
    eps = 1e-9 * max(1.0, maxedge)
    k = min(_NEIGHBOURS, m - 1)
    if sym:
        if points is not None:
            neigh = _knn_points(points, k)
            if use_depot:
                _add_depot_neighbours(neigh, work, m - 1, k)
        else:
            neigh = _knn_rows(work, m, k)
        tour = _greedy(work, neigh, m)

        def ls(t, pos, queue, inq):
            return _local_search_sym(t, pos, work, neigh, queue, inq, eps, deadline)
    else:
        outn = _knn_rows(work, m, k)
        inn = _knn_rows([list(c) for c in zip(*work, strict=True)], m, k)
        tour = _nearest_neighbour(work, m)

        def ls(t, pos, queue, inq):
            return _local_search_asym(t, pos, work, outn, inn, queue, inq, eps, deadline)

    return _iterated_local_search(
        tour, work, ls, rng, max_iterations, deadline, stall, eps
    )


def _knn_rows(rows, m, k):
    out = []
    for i in range(m):
        row = rows[i]
        order = sorted(range(m), key=row.__getitem__)
        out.append([j for j in order[: k + 1] if j != i][:k])
    return out


def _knn_points(points, k):
    """k nearest neighbours of each point (by Euclidean distance), from a bucket grid."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    n = len(xs)
    x0, y0 = min(xs), min(ys)
    width = max(max(xs) - x0, max(ys) - y0) or 1.0
    g = max(1, int(math.sqrt(n / 2.0)))
    size = width / g
    cells: dict[tuple[int, int], list[int]] = {}
    where = []
    for i in range(n):
        cx = min(g - 1, int((xs[i] - x0) / size))
        cy = min(g - 1, int((ys[i] - y0) / size))
        where.append((cx, cy))
        cells.setdefault((cx, cy), []).append(i)
    hypot = math.hypot
    result = []
    for i in range(n):
        cx, cy = where[i]
        xi, yi = xs[i], ys[i]
        cand: list[tuple[float, int]] = []
        r = 0
        while True:
            for ux in range(cx - r, cx + r + 1):
                if ux < 0 or ux >= g:
                    continue
                edge = ux == cx - r or ux == cx + r
                for uy in range(cy - r, cy + r + 1) if edge else (cy - r, cy + r):
                    for j in cells.get((ux, uy), ()):
                        if j != i:
                            cand.append((hypot(xi - xs[j], yi - ys[j]), j))
            if len(cand) >= k:
                cand.sort()
                if cand[k - 1][0] <= r * size or r > g:
                    break
            elif r > g:
                cand.sort()
                break
            r += 1
        result.append([j for _, j in cand[:k]])
    return result


def _add_depot_neighbours(neigh, work, depot, k):
    """Put the depot into the candidate lists of the stops it may join at cost 0."""
    row = work[depot]
    zero = [x for x in range(depot) if row[x] == 0]
    for x in zero:
        neigh[x] = [depot] + neigh[x][: k - 1]
    rest = [x for x in range(depot) if row[x] != 0]
    neigh.append((zero + rest)[:k])


def _greedy(d, neigh, m):
    """Greedy-edge tour: shortest candidate edges first, fragments joined nearest-first."""
    edges = sorted({(d[i][j], min(i, j), max(i, j)) for i in range(m) for j in neigh[i]})
    deg = [0] * m
    adj: list[list[int]] = [[] for _ in range(m)]
    parent = list(range(m))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _, i, j in edges:
        if deg[i] < 2 and deg[j] < 2:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
                deg[i] += 1
                deg[j] += 1
                adj[i].append(j)
                adj[j].append(i)
    seen = [False] * m
    frags = []
    for s in range(m):
        if seen[s] or deg[s] == 2:
            continue
        frag = [s]
        seen[s] = True
        cur = s
        while True:
            nxt = next((x for x in adj[cur] if not seen[x]), None)
            if nxt is None:
                break
            frag.append(nxt)
            seen[nxt] = True
            cur = nxt
        frags.append(frag)
    # Join fragments: from the current end, go to the nearest free fragment end.
    frag_of = {}
    for f, frag in enumerate(frags):
        frag_of[frag[0]] = f
        frag_of[frag[-1]] = f
    used = [False] * len(frags)
    tour = list(frags[0])
    used[0] = True
    alive = list(range(1, len(frags)))
    for _ in range(len(frags) - 1):
        x = tour[-1]
        dx = d[x]
        best = None
        for y in neigh[x]:
            f = frag_of.get(y)
            if f is not None and not used[f]:
                best = (f, y)
                break
        if best is None:
            alive = [f for f in alive if not used[f]]
            f = min(alive, key=lambda f: min(dx[frags[f][0]], dx[frags[f][-1]]))
            ends = frags[f]
            best = (f, ends[0] if dx[ends[0]] <= dx[ends[-1]] else ends[-1])
        f, y = best
        used[f] = True
        frag = frags[f]
        tour.extend(frag if frag[0] == y else reversed(frag))
    return tour


def _nearest_neighbour(d, m):
    tour = [0]
    left = set(range(1, m))
    while left:
        row = d[tour[-1]]
        nxt = min(left, key=lambda j: (row[j], j))
        left.remove(nxt)
        tour.append(nxt)
    return tour


def _reverse(t, pos, n, i, j, exact=False):
    """Reverse the stretch of the tour from position i forward to position j.

    Unless ``exact``, reverse the complementary stretch instead when it is shorter (the
    same cycle, read the other way round: only valid for a symmetric metric).
    """
    size = j - i + 1 if j >= i else j - i + 1 + n
    if not exact and 2 * size > n:
        i, j = j + 1, i - 1
        if i == n:
            i = 0
        if j < 0:
            j = n - 1
        size = n - size
    if size < 2:
        return
    if i <= j:
        seg = t[i : j + 1]
        seg.reverse()
        t[i : j + 1] = seg
        for k, c in enumerate(seg, i):
            pos[c] = k
    else:
        for _ in range(size // 2):
            a = t[i]
            b = t[j]
            t[i] = b
            pos[b] = i
            t[j] = a
            pos[a] = j
            i += 1
            if i == n:
                i = 0
            j -= 1
            if j < 0:
                j = n - 1


def _move2(t, pos, n, a, b, c, _d, exact):
    """2-opt: replace tour edges a-b and c-d (same orientation) by a-c and b-d."""
    ia = pos[a]
    if t[ia + 1 - n] == b:
        _reverse(t, pos, n, pos[b], pos[c], exact)
    else:
        _reverse(t, pos, n, pos[c], pos[b], exact)


def _or_move(t, pos, n, s1, s2, p, nx, u, v, rev, exact=False):
    """Move the stretch s1..s2 (between p and nx) between u and v (u before v).

    It ends up u-s1..s2-v, or u-s2..s1-v when ``rev``, done as two or three reversals.
    """
    if rev:
        _move2(t, pos, n, p, s1, u, v, exact)
        _move2(t, pos, n, p, u, nx, s2, exact)
    else:
        _move2(t, pos, n, p, s1, s2, nx, exact)
        _move2(t, pos, n, p, s2, u, v, exact)
        _move2(t, pos, n, p, u, nx, s1, exact)


def _local_search_sym(t, pos, D, neigh, queue, inq, eps, deadline):
    """2-opt + Or-opt from the queued stops until none improves; returns the total gain."""
    n = len(t)
    popleft = queue.popleft
    push = queue.append
    reverse = _reverse
    or_move = _or_move
    clock = time.perf_counter
    segments = _SEGMENTS
    total = 0
    steps = 0
    while queue:
        steps += 1
        if deadline is not None and not steps & 255 and clock() > deadline:
            break
        a = popleft()
        inq[a] = False
        while True:
            ia = pos[a]
            Da = D[a]
            na = neigh[a]
            # 2-opt: a's successor edge
            b = t[ia + 1 - n]
            dab = Da[b]
            moved = None
            for c in na:
                g1 = dab - Da[c]
                if g1 <= eps:
                    break
                ic = pos[c]
                d = t[ic + 1 - n]
                if d == a:
                    continue
                Dd = D[d]
                gain = g1 + Dd[c] - Dd[b]
                if gain > eps:
                    reverse(t, pos, n, pos[b], ic)
                    moved = (b, c, d)
                    break
            if moved is None:
                # 2-opt: a's predecessor edge
                b = t[ia - 1]
                dab = Da[b]
                for c in na:
                    g1 = dab - Da[c]
                    if g1 <= eps:
                        break
                    ic = pos[c]
                    d = t[ic - 1]
                    if d == a:
                        continue
                    Dd = D[d]
                    gain = g1 + Dd[c] - Dd[b]
                    if gain > eps:
                        reverse(t, pos, n, ic, pos[b])
                        moved = (b, c, d)
                        break
            if moved is None:
                # Or-opt: move a stretch of 1-3 stops that starts or ends at a
                for size, off in segments:
                    i1 = ia + off
                    if i1 < 0:
                        i1 += n
                    i2 = i1 + size - 1
                    if i2 >= n:
                        i2 -= n
                    s1 = t[i1]
                    s2 = t[i2]
                    mid = t[i1 + 1 - n] if size == 3 else -1
                    p = t[i1 - 1]
                    nx = t[i2 + 1 - n]
                    Dp = D[p]
                    g1 = Dp[s1] + D[s2][nx] - Dp[nx]
                    if g1 <= eps:
                        continue
                    for e, o in ((s1, s2), (s2, s1)) if size > 1 else ((s1, s1),):
                        De = D[e]
                        Do = D[o]
                        for c in neigh[e]:
                            g2 = g1 - De[c]
                            if g2 <= eps:
                                break
                            if c == s1 or c == s2 or c == mid or c == p or c == nx:
                                continue
                            ic = pos[c]
                            Dc = D[c]
                            w = t[ic + 1 - n]  # c then w: e joins c, o joins w
                            if w != p:
                                gain = g2 + Dc[w] - Do[w]
                                if gain > eps:
                                    or_move(t, pos, n, s1, s2, p, nx, c, w, size == 1 or e == s2)
                                    moved = (s1, s2, p, nx, c, w)
                                    break
                            w = t[ic - 1]  # w then c
                            if w != nx:
                                gain = g2 + Dc[w] - Do[w]
                                if gain > eps:
                                    or_move(t, pos, n, s1, s2, p, nx, w, c, size == 1 or e == s1)
                                    moved = (s1, s2, p, nx, c, w)
                                    break
                        if moved is not None:
                            break
                    if moved is not None:
                        break
            if moved is None:
                break
            total += gain
            for x in moved:
                if not inq[x]:
                    inq[x] = True
                    push(x)
    while queue:
        inq[popleft()] = False
    return total


def _local_search_asym(t, pos, D, outn, inn, queue, inq, eps, deadline):
    """The asymmetric version: every cost is taken in the direction of travel."""
    n = len(t)
    F = [0.0] * n  # F[k]: cost of walking t[0] -> ... -> t[k]
    B = [0.0] * n  # B[k]: cost of walking t[k] -> ... -> t[0]
    ends = [0.0, 0.0]

    def rebuild():
        f = b = 0.0
        prev = t[0]
        for k in range(1, n):
            x = t[k]
            f += D[prev][x]
            b += D[x][prev]
            F[k] = f
            B[k] = b
            prev = x
        ends[0] = D[t[-1]][t[0]]
        ends[1] = D[t[0]][t[-1]]

    def reversal_cost(i, j):
        """Extra cost of walking the stretch from position i to j backwards."""
        if i <= j:
            return (B[j] - B[i]) - (F[j] - F[i])
        return (B[-1] - B[i] + ends[1] + B[j]) - (F[-1] - F[i] + ends[0] + F[j])

    rebuild()
    popleft = queue.popleft
    push = queue.append
    clock = time.perf_counter
    total = 0.0
    steps = 0
    while queue:
        steps += 1
        if deadline is not None and not steps & 63 and clock() > deadline:
            break
        a = popleft()
        inq[a] = False
        while True:
            ia = pos[a]
            moved = None
            # 2-opt with a's successor: a->b, c->d become a->c, b->d; b..c reversed
            b = t[ia + 1 - n]
            dab = D[a][b]
            for c in outn[a]:
                g1 = dab - D[a][c]
                if g1 <= eps:
                    break
                ic = pos[c]
                d = t[ic + 1 - n]
                if d == a or c == b:
                    continue
                gain = g1 + D[c][d] - D[b][d] - reversal_cost(pos[b], ic)
                if gain > eps:
                    _reverse(t, pos, n, pos[b], ic, True)
                    moved = (b, c, d)
                    break
            if moved is None:
                # 2-opt with a's predecessor: d->c, b->a become d->b, c->a; c..b reversed
                b = t[ia - 1]
                dba = D[b][a]
                for c in inn[a]:
                    g1 = dba - D[c][a]
                    if g1 <= eps:
                        break
                    ic = pos[c]
                    d = t[ic - 1]
                    if d == a or c == b:
                        continue
                    gain = g1 + D[d][c] - D[d][b] - reversal_cost(ic, pos[b])
                    if gain > eps:
                        _reverse(t, pos, n, ic, pos[b], True)
                        moved = (b, c, d)
                        break
            if moved is None:
                moved, gain = _or_opt_asym(t, pos, n, D, outn, inn, ia, eps)
            if moved is None:
                break
            rebuild()
            total += gain
            for x in moved:
                if not inq[x]:
                    inq[x] = True
                    push(x)
    while queue:
        inq[popleft()] = False
    return total


def _or_opt_asym(t, pos, n, D, outn, inn, ia, eps):
    for size, off in _SEGMENTS:
        i1 = (ia + off) % n
        seg = [t[(i1 + q) % n] for q in range(size)]
        s1, s2 = seg[0], seg[-1]
        p = t[i1 - 1]
        nx = t[(i1 + size) % n]
        g1 = D[p][s1] + D[s2][nx] - D[p][nx]
        if g1 <= eps:
            continue
        inside = sum(D[x][y] for x, y in pairwise(seg))
        backwards = sum(D[y][x] for x, y in pairwise(seg))
        flip = backwards - inside
        # (first, last, reversed): the stretch is entered at first and left at last
        ways = [(s1, s2, False)] if size == 1 else [(s1, s2, False), (s2, s1, True)]
        for first, last, rev in ways:
            g = g1 - (flip if rev else 0.0)
            for u in inn[first]:  # u -> first, last -> v where v follows u
                g2 = g - D[u][first]
                if g2 <= eps:
                    break
                if u in seg or u == nx:
                    continue
                v = t[pos[u] + 1 - n]
                if v == p or v in seg:
                    continue
                gain = g2 + D[u][v] - D[last][v]
                if gain > eps:
                    _or_move(t, pos, n, s1, s2, p, nx, u, v, rev or size == 1, True)
                    return (s1, s2, p, nx, u, v), gain
            for v in outn[last]:  # last -> v, u -> first where u precedes v
                g2 = g - D[last][v]
                if g2 <= eps:
                    break
                if v in seg or v == p:
                    continue
                u = t[pos[v] - 1]
                if u == nx or u in seg:
                    continue
                gain = g2 + D[u][v] - D[u][first]
                if gain > eps:
                    _or_move(t, pos, n, s1, s2, p, nx, u, v, rev or size == 1, True)
                    return (s1, s2, p, nx, u, v), gain
    return None, 0.0


def _iterated_local_search(tour, D, ls, rng, max_iterations, deadline, stall, eps):
    n = len(tour)
    t = list(tour)
    pos = [0] * n
    for i, c in enumerate(t):
        pos[c] = i
    queue = deque(t)
    inq = [True] * n
    ls(t, pos, queue, inq)
    saved_t = t[:]
    saved_pos = pos[:]
    kick = max(1, min(_KICK_SEGMENT, (n - 2) // 2))
    log_kick = math.log(kick + 1)
    rand = rng.random
    exp = math.exp
    randrange = rng.randrange
    clock = time.perf_counter
    it = 0
    last_gain = 0
    while max_iterations is None or it < max_iterations:
        if deadline is not None and clock() >= deadline:
            break
        if stall is not None and it - last_gain > stall:
            break
        it += 1
        # Local double bridge: A B C D -> A C B D with B, C short stretches after position i.
        l1 = min(kick, int(exp(rand() * log_kick)))
        l2 = min(kick, int(exp(rand() * log_kick)))
        i = randrange(n)
        span = [t[(i + q) % n] for q in range(l1 + l2 + 2)]
        a, b1, b2, c1, c2, d = span[0], span[1], span[l1], span[l1 + 1], span[-2], span[-1]
        delta = D[a][c1] + D[c2][b1] + D[b2][d] - D[a][b1] - D[b2][c1] - D[c2][d]
        new = span[l1 + 1 : -1] + span[1 : l1 + 1]
        q = i + 1
        for c in new:
            if q >= n:
                q -= n
            t[q] = c
            pos[c] = q
            q += 1
        for x in (a, b1, b2, c1, c2, d):
            if not inq[x]:
                inq[x] = True
                queue.append(x)
        delta -= ls(t, pos, queue, inq)
        if delta <= eps:
            if delta < -eps:
                last_gain = it
            saved_t[:] = t
            saved_pos[:] = pos
        else:
            t[:] = saved_t
            pos[:] = saved_pos
    return saved_t, it
