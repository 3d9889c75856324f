"""Local search on a symmetric problem: 2-opt and Or-opt over each stop's nearest neighbours.

Work is driven by a queue of "dirty" stops (don't-look bits): a queued stop is examined, the
first improving move around it is made, the stops at the ends of the changed edges are queued
again, and the search ends when the queue is empty. Candidates are tried nearest first and
a candidate list is left as soon as the gain so far cannot stay positive.

One long loop on purpose: it is the innermost code of the whole search, and calls are dear in
Python (for the same reason the functions it calls are bound to local names).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from pm_cli.routes.tsp import moves
from pm_cli.routes.tsp.matrix import Row

__all__ = ["SEGMENTS", "local_search_sym"]

# Or-opt segments: (length, offset of its first stop from the stop being examined)
SEGMENTS = ((1, 0), (2, 0), (2, -1), (3, 0), (3, -2))


def local_search_sym(
    tour: list[int],
    pos: list[int],
    rows: Sequence[Row],
    neighbours: list[list[int]],
    queue: deque[int],
    queued: list[bool],
    eps: float,
    deadline: float | None,
) -> float:
    """2-opt + Or-opt from the queued stops until none improves; returns the total gain.

    Gains up to ``eps`` count as none. Past ``deadline`` (a ``time.perf_counter()`` value) the
    search stops early, and the queue is emptied either way.
    """
    count = len(tour)
    popleft = queue.popleft
    push = queue.append
    reverse = moves.reverse
    or_move = moves.or_move
    clock = time.perf_counter
    segments = SEGMENTS
    total: float = 0
    steps = 0
    while queue:
        steps += 1
        if deadline is not None and not steps & 255 and clock() > deadline:
            break
        stop = popleft()
        queued[stop] = False
        while True:
            stop_pos = pos[stop]
            from_stop = rows[stop]
            near_stop = neighbours[stop]
            # 2-opt on the edge to the stop's successor (its mate): stop-mate and cand-cand_mate
            # become stop-cand and mate-cand_mate
            mate = tour[stop_pos + 1 - count]
            mate_cost = from_stop[mate]
            moved: tuple[int, ...] | None = None
            for cand in near_stop:
                partial = mate_cost - from_stop[cand]
                if partial <= eps:
                    break
                cand_pos = pos[cand]
                cand_mate = tour[cand_pos + 1 - count]
                if cand_mate == stop:
                    continue
                from_cand_mate = rows[cand_mate]
                gain = partial + from_cand_mate[cand] - from_cand_mate[mate]
                if gain > eps:
                    reverse(tour, pos, count, pos[mate], cand_pos)
                    moved = (mate, cand, cand_mate)
                    break
            if moved is None:
                # 2-opt on the edge to the stop's predecessor
                mate = tour[stop_pos - 1]
                mate_cost = from_stop[mate]
                for cand in near_stop:
                    partial = mate_cost - from_stop[cand]
                    if partial <= eps:
                        break
                    cand_pos = pos[cand]
                    cand_mate = tour[cand_pos - 1]
                    if cand_mate == stop:
                        continue
                    from_cand_mate = rows[cand_mate]
                    gain = partial + from_cand_mate[cand] - from_cand_mate[mate]
                    if gain > eps:
                        reverse(tour, pos, count, cand_pos, pos[mate])
                        moved = (mate, cand, cand_mate)
                        break
            if moved is None:
                # Or-opt: move a stretch of 1-3 stops that starts or ends at the stop, from
                # between `before` and `after` to beside one of its ends' neighbours
                for seg_len, offset in segments:
                    first_pos = stop_pos + offset
                    if first_pos < 0:
                        first_pos += count
                    last_pos = first_pos + seg_len - 1
                    if last_pos >= count:
                        last_pos -= count
                    seg_first = tour[first_pos]
                    seg_last = tour[last_pos]
                    seg_middle = tour[first_pos + 1 - count] if seg_len == 3 else -1
                    before = tour[first_pos - 1]
                    after = tour[last_pos + 1 - count]
                    from_before = rows[before]
                    removal = from_before[seg_first] + rows[seg_last][after] - from_before[after]
                    if removal <= eps:
                        continue
                    # `joined` is the stretch's end that joins a neighbour `cand`; `far`, its
                    # other end, joins cand's tour neighbour `cand_mate`
                    ends = (
                        ((seg_first, seg_last), (seg_last, seg_first))
                        if seg_len > 1
                        else ((seg_first, seg_first),)
                    )
                    for joined, far in ends:
                        from_joined = rows[joined]
                        from_far = rows[far]
                        for cand in neighbours[joined]:
                            partial = removal - from_joined[cand]
                            if partial <= eps:
                                break
                            if (
                                cand == seg_first
                                or cand == seg_last
                                or cand == seg_middle
                                or cand == before
                                or cand == after
                            ):
                                continue
                            cand_pos = pos[cand]
                            from_cand = rows[cand]
                            cand_mate = tour[cand_pos + 1 - count]  # cand, then cand_mate
                            if cand_mate != before:
                                gain = partial + from_cand[cand_mate] - from_far[cand_mate]
                                if gain > eps:
                                    or_move(
                                        tour,
                                        pos,
                                        count,
                                        seg_first,
                                        seg_last,
                                        before,
                                        after,
                                        cand,
                                        cand_mate,
                                        seg_len == 1 or joined == seg_last,
                                    )
                                    moved = (seg_first, seg_last, before, after, cand, cand_mate)
                                    break
                            cand_mate = tour[cand_pos - 1]  # cand_mate, then cand
                            if cand_mate != after:
                                gain = partial + from_cand[cand_mate] - from_far[cand_mate]
                                if gain > eps:
                                    or_move(
                                        tour,
                                        pos,
                                        count,
                                        seg_first,
                                        seg_last,
                                        before,
                                        after,
                                        cand_mate,
                                        cand,
                                        seg_len == 1 or joined == seg_first,
                                    )
                                    moved = (seg_first, seg_last, before, after, cand, cand_mate)
                                    break
                        if moved is not None:
                            break
                    if moved is not None:
                        break
            if moved is None:
                break
            total += gain
            for node in moved:
                if not queued[node]:
                    queued[node] = True
                    push(node)
    while queue:
        queued[popleft()] = False
    return total
