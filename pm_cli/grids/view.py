"""How a grid tree is labelled for people (shared by `pm grid tree` and `pm demo`)."""

from __future__ import annotations

from typing import Any


def tree_display(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Service tree nodes → {label, detail, risk_level, children} for Output.tree."""

    def shape(n: dict[str, Any]) -> dict[str, Any]:
        owner = f"{n['owner_name']} ({n['owner']})" if n["owner"] else "no owner"
        return {
            "label": f"{n['code']} {n['name']}",
            "detail": owner,
            "risk_level": n["risk_level"],
            "children": [shape(c) for c in n["children"]],
        }

    return [shape(n) for n in nodes]
