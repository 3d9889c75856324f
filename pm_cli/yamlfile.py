"""The one YAML loader for files people give pm (imports, playbooks, answers, timelines),
keeping line numbers and refusing, with the position, what would make loading explode or
lie: aliases (`*x`: "billion laughs" expands a few lines into gigabytes), nesting deeper
than MAX_DEPTH (the composer recurses), a key twice in one mapping (PyYAML keeps the last one
silently), integers beyond 64 bits and .nan/.inf. Everything is refused before it is
expanded, so a hostile file costs time linear in its size."""

from __future__ import annotations

from typing import Any

import yaml

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
            raise Refused(f"aliases (*{event.anchor}) are not accepted: write the value out",
                          event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise Refused(f"nested more than {MAX_DEPTH} levels deep",
                              self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, _value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise Refused(f"key {key.value!r} repeats line {seen[key.value]}",
                                      key.start_mark)
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
