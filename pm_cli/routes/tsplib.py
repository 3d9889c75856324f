"""Reading TSPLIB instances (NODE_COORD_SECTION with EDGE_WEIGHT_TYPE EUC_2D).

Used for the optimiser's quality tests and benchmarks; stops come back as (id, x, y).
"""

from __future__ import annotations

import math

__all__ = ["read_tsplib"]

_SUPPORTED = {"EUC_2D"}


def read_tsplib(text: str, source: str) -> list[tuple[str, float, float]]:
    """Parse a TSPLIB ``.tsp`` file's text into ``(node id, x, y)`` in file order.

    Errors are ``ValueError("SOURCE:LINE: reason")`` with 1-based line numbers.
    """
    header: dict[str, tuple[str, int]] = {}
    nodes: list[tuple[str, float, float]] = []
    seen: dict[str, int] = {}
    in_coords = False
    coord_line = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        where = f"{source}:{lineno}"
        if in_coords:
            parts = line.split()
            if parts[0].endswith("_SECTION"):
                in_coords = False  # another section begins
            else:
                if len(parts) != 3:
                    raise ValueError(f"{where}: expected 'id x y', got {line!r}")
                node, xs, ys = parts
                try:
                    x, y = float(xs), float(ys)
                except ValueError:
                    raise ValueError(
                        f"{where}: coordinates must be numbers, got {line!r}"
                    ) from None
                if not (math.isfinite(x) and math.isfinite(y)):
                    raise ValueError(f"{where}: coordinates must be finite, got {line!r}")
                if node in seen:
                    raise ValueError(f"{where}: node {node} repeats line {seen[node]}")
                seen[node] = lineno
                nodes.append((node, x, y))
                continue
        if line.endswith("_SECTION") or line.split()[0].endswith("_SECTION"):
            section = line.split()[0]
            if section != "NODE_COORD_SECTION":
                raise ValueError(f"{where}: {section} is not supported (only NODE_COORD_SECTION)")
            _check_header(header, source)
            in_coords = True
            coord_line = lineno
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{where}: expected 'KEY: value', got {line!r}")
        header[key.strip().upper()] = (value.strip(), lineno)
    if not coord_line:
        _check_header(header, source)
        raise ValueError(f"{source}: no NODE_COORD_SECTION")
    dim = header.get("DIMENSION")
    if dim is not None:
        value, lineno = dim
        try:
            expected = int(value)
        except ValueError:
            raise ValueError(
                f"{source}:{lineno}: DIMENSION must be a whole number, got {value!r}"
            ) from None
        if expected != len(nodes):
            raise ValueError(
                f"{source}:{lineno}: DIMENSION is {expected} "
                f"but NODE_COORD_SECTION has {len(nodes)} nodes"
            )
    return nodes


def _check_header(header: dict[str, tuple[str, int]], source: str) -> None:
    kind = header.get("TYPE")
    if kind is not None and kind[0].split()[0].upper() != "TSP":
        raise ValueError(f"{source}:{kind[1]}: TYPE {kind[0]} is not supported (only TSP)")
    ewt = header.get("EDGE_WEIGHT_TYPE")
    if ewt is None:
        raise ValueError(f"{source}: no EDGE_WEIGHT_TYPE (only EUC_2D is supported)")
    if ewt[0].upper() not in _SUPPORTED:
        raise ValueError(
            f"{source}:{ewt[1]}: EDGE_WEIGHT_TYPE {ewt[0]} is not supported (only EUC_2D)"
        )
