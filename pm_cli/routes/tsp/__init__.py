"""Route ordering: the shortest round or open route through a set of stops (a TSP engine).

This is the engine behind `pm route optimize`; it knows nothing about the CLI or the database.
Pure Python, standard library only. Small problems (at most 10 nodes once an open route has its
depot) are solved exactly; larger ones by a greedy first tour, 2-opt and Or-opt over
nearest-neighbour lists, and iterated local search with segment double-bridge kicks until a
time limit or an iteration budget. Asymmetric costs (one-way doors) price every move in the
direction of travel. Open routes and fixed first/last stops become closed tours through one
extra depot node.

Which module holds what:

* ``solver``: :func:`solve` (checks, exact or heuristic, decoding), :class:`Tour`,
  :func:`default_time_limit`
* ``metrics``: :func:`euclidean` and :func:`haversine` distance functions
* ``matrix``: the cost rows (lazy above a few thousand points), the depot, route length
* ``exact``: Held-Karp dynamic programming for small problems
* ``construction``: nearest-neighbour candidate lists, greedy-edge and nearest-neighbour tours
* ``moves``: reversal, 2-opt and Or-opt edits of a tour and its position index
* ``local_search``: 2-opt + Or-opt driven by a queue of dirty stops (symmetric costs)
* ``asymmetric``: the same local search with costs in the direction of travel
* ``search``: first tour, local search and the iterated local search (double-bridge kicks)
"""

from pm_cli.routes.tsp.metrics import euclidean, haversine
from pm_cli.routes.tsp.solver import Tour, default_time_limit, solve

__all__ = ["Tour", "default_time_limit", "euclidean", "haversine", "solve"]
