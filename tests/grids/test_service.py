"""Rules of the grid hierarchy, through the service."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pm_cli.grids.service import cycle_through

NODES = [f"g{i}" for i in range(8)]


def returns_to_start(parents, start):
    node, steps = parents.get(start), 0
    while node is not None and steps <= len(parents):
        if node == start:
            return True
        node, steps = parents.get(node), steps + 1
    return False


@given(
    st.dictionaries(st.sampled_from(NODES), st.one_of(st.none(), st.sampled_from(NODES))),
    st.permutations(NODES),
)
def test_cycle_through_finds_exactly_the_cycles_whatever_the_order(parents, order):
    done: set[str] = set()
    for start in order:  # one shared `done`, as a bulk import uses it
        path = cycle_through(parents, start, done)
        assert bool(path) == returns_to_start(parents, start)
        if path:
            assert path[0] == path[-1] == start
            assert all(parents.get(a) == b for a, b in zip(path, path[1:], strict=False))
