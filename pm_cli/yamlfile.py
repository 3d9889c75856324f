"""The one YAML loader for files people give pm (imports, playbooks, answers, timelines),
keeping line numbers and refusing, with the position, what would make loading explode or
lie: aliases (`*x`: "billion laughs" expands a few lines into gigabytes), nesting deeper
than MAX_DEPTH (the composer recurses), a key twice in one mapping (PyYAML keeps the last one
silently), integers beyond 64 bits and .nan/.inf. Everything is refused before it is
expanded, so a hostile file costs time linear in its size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from pm_cli.errors import Problem

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

MAX_DEPTH = 64
INT_LIMIT = 2**63 - 1  # SQLite's INTEGER; smaller caps (an item number) are the fields' own


class Refused(yaml.MarkedYAMLError):
    """A YAML construct pm does not accept; `problem` says why, `problem_mark` where."""

    def __init__(self, problem: str, mark: Any):
        super().__init__(problem=problem, problem_mark=mark)


class Loader(yaml.SafeLoader):
    """SafeLoader with limits. Use `load(text)` or the node API
    (`get_single_node`, `construct_object`) as with SafeLoader; always `dispose()`."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise Refused(
                f"aliases (*{event.anchor}) are not accepted: write the value out", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise Refused(
                    f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, _value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise Refused(
                            f"key {key.value!r} repeats line {seen[key.value]}", key.start_mark
                        )
                    seen[key.value] = key.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        digits = str(node.value).replace("_", "").lstrip("+-")
        if len(digits) > 22:  # longer than any 64-bit value in any base YAML has
            raise Refused("a number too large (at most 2^63−1)", node.start_mark)
        value = super().construct_yaml_int(node)
        if not -INT_LIMIT - 1 <= value <= INT_LIMIT:
            raise Refused("a number too large (at most 2^63−1)", node.start_mark)
        return value

    def construct_yaml_float(self, node: Any) -> float:
        value = super().construct_yaml_float(node)
        if value != value or value in (float("inf"), float("-inf")):
            raise Refused(f"not a finite number: {node.value}", node.start_mark)
        return value


Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)


def load(text: str) -> Any:
    """One document, as yaml.safe_load but with the limits above."""
    loader = Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_bundled(text: str) -> Any:
    """A file shipped with pm (drill scenarios, the risk library): read by libyaml's C
    parser when PyYAML has it, ten times quicker than the checking loader above, which
    guards files people give pm. The content is still validated by its model."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)


# ---- checked files: a pydantic model read from YAML, every problem at FILE:LINE:COL ------


def at(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def duplicate_keys(node: Any, source: str, out: list[Problem]) -> None:
    """Every key that repeats in a mapping, each at its own line (PyYAML would keep the last
    one silently)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, Any] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    first = seen[key.value].start_mark.line + 1
                    out.append(
                        Problem(
                            at(source, key.start_mark), f"key {key.value!r} repeats line {first}"
                        )
                    )
                else:
                    seen[key.value] = key
            duplicate_keys(value, source, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            duplicate_keys(item, source, out)


def node_at(root: Any, loc: tuple[Any, ...]) -> tuple[Any, Any]:
    """The YAML node a pydantic error location points at, and the key node naming it."""
    node, key_node = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == part
                ),
                None,
            )
            if hit is None:
                continue  # a union branch name, or a missing key: stay at the mapping
            key_node, node = hit
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part < len(node.value):
                node, key_node = node.value[part], None
        # anything else (a scalar) is as deep as positions go
    return node, key_node


def message(err: ErrorDetails, noun: str) -> str:
    """A pydantic error as people read it: `unknown key 'x'`, `missing key 'y'`, `z: …`."""
    from pm_cli.validate import plain_error

    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc else noun
    if kind == "extra_forbidden":
        return f"unknown key {name!r}"
    if kind == "missing":
        return f"missing key {name!r}"
    msg = plain_error(err)
    names = [
        str(p) for p in loc if isinstance(p, str) and p not in ("float", "str", "int", "[key]")
    ]
    return f"{names[-1]}: {msg}" if names and kind != "value_error" else msg


def position(p: Problem) -> tuple[int, int]:
    parts = p.where.rsplit(":", 2)
    try:
        return int(parts[-2]), int(parts[-1])
    except (ValueError, IndexError):
        return 0, 0


M = TypeVar("M", bound="BaseModel")


def parse_checked(
    text: str,
    source: str,
    model: type[M],
    *,
    shape: str,
    extra: Callable[[Any, str, list[Problem]], bool] | None = None,
    skip: Callable[[ErrorDetails], bool] | None = None,
    noun: str = "file",
) -> tuple[M | None, list[Problem]]:
    """`model` from a YAML text, or every problem at its `FILE:LINE:COL` (syntax, repeated
    keys, each field the model refuses). `shape` says what the file must be when it is not a
    mapping; `extra(root, source, problems)` adds checks of its own, and when it found some,
    the model's errors that `skip` matches are left out (they would say the same)."""
    from pydantic import ValidationError

    problems: list[Problem] = []
    try:
        loader = Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None, [Problem(f"{source}:1:1", "the file is empty")]
            duplicate_keys(root, source, problems)
            if problems:  # every repeated key, each at its line (the loader names the first)
                return None, problems
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = at(source, mark) if mark else f"{source}:1:1"
        return None, [Problem(where, f"YAML syntax: {e.problem or e.context}")]
    except yaml.YAMLError as e:
        return None, [Problem(f"{source}:1:1", f"YAML: {e}")]
    if not isinstance(data, dict):
        return None, [Problem(at(source, root.start_mark), shape)]
    skipping = extra(root, source, problems) if extra else False
    try:
        obj = model.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            if skipping and skip and skip(err):
                continue
            node, key = node_at(root, tuple(err["loc"]))
            mark = (
                (key or node).start_mark
                if err["type"] == "extra_forbidden" and key
                else node.start_mark
            )
            problems.append(Problem(at(source, mark), message(err, noun)))
        return None, sorted(problems, key=position)
    if problems:
        return None, sorted(problems, key=position)
    return obj, []


def read_text(path: Path, noun: str = "file") -> tuple[str | None, list[Problem]]:
    """A file's UTF-8 text (a BOM dropped), or the problem reading it at `FILE:LINE:1`."""
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
        return None, [Problem(f"{source}:{line}:1", f"not UTF-8: save the {noun} as UTF-8")]
