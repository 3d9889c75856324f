"""Reading playbook YAML with positions: every problem as `FILE:LINE:COL: reason`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from pm_cli.errors import Problem
from pm_cli.playbooks.spec import Playbook
from pm_cli.validate import plain_error
from pm_cli.yamlfile import Loader

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


@dataclass
class Loaded:
    path: str
    text: str
    playbook: Playbook


def _at(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _duplicate_keys(node: Any, source: str, out: list[Problem]) -> None:
    """PyYAML keeps the last of two equal keys silently; a playbook must not."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, Any] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    first = seen[key.value].start_mark.line + 1
                    out.append(Problem(_at(source, key.start_mark),
                                       f"key {key.value!r} repeats line {first}"))
                else:
                    seen[key.value] = key
            _duplicate_keys(value, source, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(item, source, out)


def _node_at(root: Any, loc: tuple[Any, ...]) -> tuple[Any, Any]:
    """The YAML node a pydantic error location points at, and the key node naming it."""
    node, key_node = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value
                        if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if hit is None:
                continue  # a union branch name, or a missing key: stay at the mapping
            key_node, node = hit
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part < len(node.value):
                node, key_node = node.value[part], None
        # anything else (a scalar) is as deep as positions go
    return node, key_node


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc else "playbook"
    if kind == "extra_forbidden":
        return f"unknown key {name!r}"
    if kind == "missing":
        return f"missing key {name!r}"
    msg = plain_error(err)
    names = [str(p) for p in loc if isinstance(p, str) and p not in ("float", "str", "int")]
    return f"{names[-1]}: {msg}" if names and kind != "value_error" else msg


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
                out.append(Problem(_at(source, node.start_mark),
                                   f"step id {node.value!r} repeats line {seen[node.value]}"))
                found = True
            else:
                seen[node.value] = node.start_mark.line + 1
    return found


def parse(text: str, source: str) -> tuple[Playbook | None, list[Problem]]:
    problems: list[Problem] = []
    try:
        loader = Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None, [Problem(f"{source}:1:1", "the file is empty")]
            _duplicate_keys(root, source, problems)
            if problems:  # every repeated key, each at its line (the loader names the first)
                return None, problems
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = _at(source, mark) if mark else f"{source}:1:1"
        return None, [Problem(where, f"YAML syntax: {e.problem or e.context}")]
    except yaml.YAMLError as e:
        return None, [Problem(f"{source}:1:1", f"YAML: {e}")]
    if not isinstance(data, dict):
        return None, [Problem(_at(source, root.start_mark),
                              "a playbook is a mapping (id: …, version: …, steps: …)")]
    dup_steps = _step_ids(root, source, problems)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            if dup_steps and not err["loc"] and "used twice" in str(err["msg"]):
                continue
            node, key = _node_at(root, tuple(err["loc"]))
            mark = (key or node).start_mark if err["type"] == "extra_forbidden" and key \
                else node.start_mark
            problems.append(Problem(_at(source, mark), _message(err)))
        return None, sorted(problems, key=_position)
    if problems:
        return None, sorted(problems, key=_position)
    return playbook, []


def _position(p: Problem) -> tuple[int, int]:
    parts = p.where.rsplit(":", 2)
    try:
        return int(parts[-2]), int(parts[-1])
    except (ValueError, IndexError):
        return 0, 0


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(f"{source}:1:1", "no such file")]
    except OSError as e:
        return None, [Problem(f"{source}:1:1", f"cannot read: {e.strerror}")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return None, [Problem(f"{source}:{line}:1", "not UTF-8: save the playbook as UTF-8")]


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
