"""Tour edits: reversing a stretch, and the 2-opt and Or-opt moves built from reversals.

A tour is a list of nodes plus ``pos``, each node's position in it; every edit keeps both in
step. Positions wrap round: the stop after the last is the first.
"""

from __future__ import annotations

__all__ = ["or_move", "reverse", "two_opt_move"]


def reverse(
    tour: list[int], pos: list[int], count: int, first: int, last: int, exact: bool = False
) -> None:
    """Reverse the stretch of the tour from position ``first`` forward to position ``last``.

    Unless ``exact``, reverse the complementary stretch instead when it is shorter (the
    same cycle, read the other way round: only valid for a symmetric metric).
    """
    length = last - first + 1 if last >= first else last - first + 1 + count
    if not exact and 2 * length > count:
        first, last = last + 1, first - 1
        if first == count:
            first = 0
        if last < 0:
            last = count - 1
        length = count - length
    if length < 2:
        return
    if first <= last:
        stretch = tour[first : last + 1]
        stretch.reverse()
        tour[first : last + 1] = stretch
        for position, stop in enumerate(stretch, first):
            pos[stop] = position
    else:  # the stretch wraps round the end of the list: swap pairs from both ends inwards
        for _ in range(length // 2):
            left_stop = tour[first]
            right_stop = tour[last]
            tour[first] = right_stop
            pos[right_stop] = first
            tour[last] = left_stop
            pos[left_stop] = last
            first += 1
            if first == count:
                first = 0
            last -= 1
            if last < 0:
                last = count - 1


def two_opt_move(
    tour: list[int], pos: list[int], count: int, a: int, b: int, c: int, _d: int, exact: bool
) -> None:
    """2-opt: replace tour edges a-b and c-d (same orientation) by a-c and b-d."""
    if tour[pos[a] + 1 - count] == b:
        reverse(tour, pos, count, pos[b], pos[c], exact)
    else:
        reverse(tour, pos, count, pos[c], pos[b], exact)


def or_move(
    tour: list[int],
    pos: list[int],
    count: int,
    seg_first: int,
    seg_last: int,
    before: int,
    after: int,
    left: int,
    right: int,
    backwards: bool,
    exact: bool = False,
) -> None:
    """Move the stretch seg_first..seg_last (between ``before`` and ``after``) to between
    ``left`` and ``right`` (left comes first on the tour).

    It ends up left-seg_first..seg_last-right, or left-seg_last..seg_first-right when
    ``backwards``, done as two or three reversals.
    """
    if backwards:
        two_opt_move(tour, pos, count, before, seg_first, left, right, exact)
        two_opt_move(tour, pos, count, before, left, after, seg_last, exact)
    else:
        two_opt_move(tour, pos, count, before, seg_first, seg_last, after, exact)
        two_opt_move(tour, pos, count, before, seg_last, left, right, exact)
        two_opt_move(tour, pos, count, before, left, after, seg_first, exact)
