"""Reading playbook YAML with positions: every problem as `FILE:LINE:COL: reason`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pm_cli import yamlfile
from pm_cli.errors import Problem
from pm_cli.playbooks.spec import Playbook
from pm_cli.yamlfile import at as _at
from pm_cli.yamlfile import node_at as _node_at
from pm_cli.yamlfile import parse_checked


@dataclass
class Loaded:
    path: str
    text: str
    playbook: Playbook


def _step_ids(root: Any, source: str, out: list[Problem]) -> bool:
    """Duplicate step ids, each at its own line (pydantic would only name the playbook)."""
    steps, _ = _node_at(root, ("steps",))
    found = False
    if isinstance(steps, yaml.SequenceNode):
        seen: dict[str, int] = {}
        for item in steps.value:
            node, key = _node_at(item, ("id",))
            if key is None or not isinstance(node, yaml.ScalarNode):
                continue
            if node.value in seen:
                out.append(
                    Problem(
                        _at(source, node.start_mark),
                        f"step id {node.value!r} repeats line {seen[node.value]}",
                    )
                )
                found = True
            else:
                seen[node.value] = node.start_mark.line + 1
    return found


def parse(text: str, source: str) -> tuple[Playbook | None, list[Problem]]:
    """A playbook from its YAML, or every problem at its `FILE:LINE:COL`."""
    return parse_checked(
        text,
        source,
        Playbook,
        shape="a playbook is a mapping (id: …, version: …, steps: …)",
        extra=_step_ids,
        noun="playbook",
        skip=lambda err: not err["loc"] and "used twice" in str(err["msg"]),
    )


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    return yamlfile.read_text(path, "playbook")


def load(path: Path) -> tuple[Loaded | None, list[Problem]]:
    text, problems = read_text(path)
    if text is None:
        return None, problems
    playbook, problems = parse(text, str(path))
    if playbook is None:
        return None, problems
    return Loaded(str(path), text, playbook), []


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder gives its *.yaml and *.yml files, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    return out
