"""Local search on an asymmetric problem (one-way doors): 2-opt and Or-opt priced one way.

The same moves as :mod:`~pm_cli.routes.tsp.local_search`, with every cost taken in the
direction of travel. A 2-opt move walks a stretch backwards, so its price includes what that
reversal adds; prefix sums of the tour walked both ways give it in constant time. Reversals are
exact (never swapped for the complementary stretch, which would turn the tour round).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from itertools import pairwise

from pm_cli.routes.tsp.local_search import SEGMENTS
from pm_cli.routes.tsp.matrix import Row
from pm_cli.routes.tsp.moves import or_move, reverse

__all__ = ["local_search_asym", "or_opt_asym"]


def local_search_asym(
    tour: list[int],
    pos: list[int],
    rows: Sequence[Row],
    out_near: list[list[int]],
    in_near: list[list[int]],
    queue: deque[int],
    queued: list[bool],
    eps: float,
    deadline: float | None,
) -> float:
    """2-opt + Or-opt from the queued stops until none improves; returns the total gain.

    ``out_near[x]`` are the cheapest stops to go to from x, ``in_near[x]`` the cheapest to
    come to x from. Otherwise as :func:`~pm_cli.routes.tsp.local_search.local_search_sym`.
    """
    count = len(tour)
    walked_forward = [0.0] * count  # [k]: cost of walking tour[0] -> ... -> tour[k]
    walked_backward = [0.0] * count  # [k]: cost of walking tour[k] -> ... -> tour[0]
    closing = [0.0, 0.0]  # cost of last -> first, and of first -> last

    def rebuild() -> None:
        forward = backward = 0.0
        prev = tour[0]
        for position in range(1, count):
            stop = tour[position]
            forward += rows[prev][stop]
            backward += rows[stop][prev]
            walked_forward[position] = forward
            walked_backward[position] = backward
            prev = stop
        closing[0] = rows[tour[-1]][tour[0]]
        closing[1] = rows[tour[0]][tour[-1]]

    def reversal_cost(first: int, last: int) -> float:
        """Extra cost of walking the stretch from position first to last backwards."""
        if first <= last:
            return (walked_backward[last] - walked_backward[first]) - (
                walked_forward[last] - walked_forward[first]
            )
        return (
            walked_backward[-1] - walked_backward[first] + closing[1] + walked_backward[last]
        ) - (walked_forward[-1] - walked_forward[first] + closing[0] + walked_forward[last])

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
        stop = popleft()
        queued[stop] = False
        while True:
            stop_pos = pos[stop]
            moved: tuple[int, ...] | None = None
            # 2-opt with the stop's successor: stop->mate, cand->cand_mate become stop->cand,
            # mate->cand_mate; mate..cand reversed
            mate = tour[stop_pos + 1 - count]
            mate_cost = rows[stop][mate]
            for cand in out_near[stop]:
                partial = mate_cost - rows[stop][cand]
                if partial <= eps:
                    break
                cand_pos = pos[cand]
                cand_mate = tour[cand_pos + 1 - count]
                if cand_mate == stop or cand == mate:
                    continue
                gain = (
                    partial
                    + rows[cand][cand_mate]
                    - rows[mate][cand_mate]
                    - reversal_cost(pos[mate], cand_pos)
                )
                if gain > eps:
                    reverse(tour, pos, count, pos[mate], cand_pos, True)
                    moved = (mate, cand, cand_mate)
                    break
            if moved is None:
                # 2-opt with the stop's predecessor: cand_mate->cand, mate->stop become
                # cand_mate->mate, cand->stop; cand..mate reversed
                mate = tour[stop_pos - 1]
                mate_cost = rows[mate][stop]
                for cand in in_near[stop]:
                    partial = mate_cost - rows[cand][stop]
                    if partial <= eps:
                        break
                    cand_pos = pos[cand]
                    cand_mate = tour[cand_pos - 1]
                    if cand_mate == stop or cand == mate:
                        continue
                    gain = (
                        partial
                        + rows[cand_mate][cand]
                        - rows[cand_mate][mate]
                        - reversal_cost(cand_pos, pos[mate])
                    )
                    if gain > eps:
                        reverse(tour, pos, count, cand_pos, pos[mate], True)
                        moved = (mate, cand, cand_mate)
                        break
            if moved is None:
                moved, gain = or_opt_asym(tour, pos, count, rows, out_near, in_near, stop_pos, eps)
            if moved is None:
                break
            rebuild()
            total += gain
            for node in moved:
                if not queued[node]:
                    queued[node] = True
                    push(node)
    while queue:
        queued[popleft()] = False
    return total


def or_opt_asym(
    tour: list[int],
    pos: list[int],
    count: int,
    rows: Sequence[Row],
    out_near: list[list[int]],
    in_near: list[list[int]],
    stop_pos: int,
    eps: float,
) -> tuple[tuple[int, ...] | None, float]:
    """Make the first improving Or-opt move of a stretch starting or ending at ``stop_pos``.

    Returns the stops at the ends of the changed edges and the gain, or (None, 0.0).
    """
    for seg_len, offset in SEGMENTS:
        first_pos = (stop_pos + offset) % count
        stretch = [tour[(first_pos + q) % count] for q in range(seg_len)]
        seg_first, seg_last = stretch[0], stretch[-1]
        before = tour[first_pos - 1]
        after = tour[(first_pos + seg_len) % count]
        removal = rows[before][seg_first] + rows[seg_last][after] - rows[before][after]
        if removal <= eps:
            continue
        inside = sum(rows[x][y] for x, y in pairwise(stretch))
        backwards = sum(rows[y][x] for x, y in pairwise(stretch))
        flip = backwards - inside
        # (enter_at, leave_at, reversed): the stretch is entered at one end and left at the other
        ways = (
            [(seg_first, seg_last, False)]
            if seg_len == 1
            else [(seg_first, seg_last, False), (seg_last, seg_first, True)]
        )
        for enter_at, leave_at, turned in ways:
            kept = removal - (flip if turned else 0.0)
            for left in in_near[enter_at]:  # left -> enter_at, leave_at -> right after left
                partial = kept - rows[left][enter_at]
                if partial <= eps:
                    break
                if left in stretch or left == after:
                    continue
                right = tour[pos[left] + 1 - count]
                if right == before or right in stretch:
                    continue
                gain = partial + rows[left][right] - rows[leave_at][right]
                if gain > eps:
                    or_move(
                        tour,
                        pos,
                        count,
                        seg_first,
                        seg_last,
                        before,
                        after,
                        left,
                        right,
                        turned or seg_len == 1,
                        True,
                    )
                    return (seg_first, seg_last, before, after, left, right), gain
            for right in out_near[leave_at]:  # leave_at -> right, left -> enter_at before right
                partial = kept - rows[leave_at][right]
                if partial <= eps:
                    break
                if right in stretch or right == before:
                    continue
                left = tour[pos[right] - 1]
                if left == after or left in stretch:
                    continue
                gain = partial + rows[left][right] - rows[left][enter_at]
                if gain > eps:
                    or_move(
                        tour,
                        pos,
                        count,
                        seg_first,
                        seg_last,
                        before,
                        after,
                        left,
                        right,
                        turned or seg_len == 1,
                        True,
                    )
                    return (seg_first, seg_last, before, after, left, right), gain
    return None, 0.0
