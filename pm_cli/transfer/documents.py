"""JSON and YAML files: a list of records (objects, mappings) into rows of
{english key: value}, positioned `FILE:#N` (JSON) and `FILE:LINE` (YAML). Hostile documents
(repeated keys, huge numbers, NaN, deep nesting, alias bombs) are refused at their place."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pm_cli.errors import InputError, Problem
from pm_cli.transfer.table import Column, Row, Table, rest_key


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_scalar(v) for v in value]
    return str(value)


def _records(
    items: list[tuple[str, Any]],
    columns: Sequence[Column],
    source: str,
    match: str = "code",
    required: bool = True,
) -> Table:
    keys = {c.key for c in columns if not c.derived}
    derived = {c.key for c in columns if c.derived}
    rest = rest_key(columns)
    problems: list[Problem] = []
    present: list[str] = []
    table = Table(source, present)
    for at, item in items:
        where = f"{source}:{at}"
        if not isinstance(item, dict):
            kind = type(item).__name__
            problems.append(Problem(where, f"expected an object with keys, got {kind}"))
            continue
        values = {}
        for k, val in item.items():
            if k in derived:
                continue
            if k not in keys and rest is not None and isinstance(k, str):
                k = f"{rest}:{k}"
            elif k not in keys:
                problems.append(
                    Problem(
                        where, f"unknown key {k!r}; known: " + ", ".join(c.key for c in columns)
                    )
                )
                continue
            if k not in present:
                present.append(k)
            values[k] = _scalar(val)
            if isinstance(values[k], str):
                values[k] = values[k].strip()
        if required and match not in values:
            problems.append(Problem(where, f"no {match}: records are matched by it", match))
        table.rows.append(Row(source, at, values))
    if problems:
        raise InputError(problems, source=source)
    return table


class _Object(dict):
    """A JSON object; `repeats` names keys it holds twice (json keeps the last silently)."""

    repeats: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = _Object(pairs)
    out.repeats = []
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen and k not in out.repeats:
                out.repeats.append(k)
            seen.add(k)
    return out


class _JsonToken(ValueError):
    def __init__(self, token: str, why: str):
        super().__init__(why)
        self.token = token


def _json_constant(name: str) -> Any:
    raise _JsonToken(name, f"{name} is not a number (write null, or a number)")


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or not -(2**63) <= int(text) <= 2**63 - 1:
        raise _JsonToken(text, f"the number {text[:20]}… is too large (at most 2^63−1)")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > 400:
        raise _JsonToken(text, f"the number {text[:20]}… is too long")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _JsonToken(text, f"the number {text[:20]} is too large")
    return value


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _json_depth_at(text: str, most: int) -> tuple[int, int]:
    """(line, column) where nesting first goes deeper than `most` (strings skipped)."""
    depth, line, col, in_str, esc = 0, 1, 0, False, False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif in_str:
            esc, in_str = (False, True) if esc else (ch == "\\", ch != '"')
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > most:
                return line, col
        elif ch in "]}":
            depth -= 1
    return 1, 1


def read_json(
    text: str, columns: Sequence[Column], source: str, match: str = "code", required: bool = True
) -> Table:
    def refuse(where: str, why: str) -> InputError:
        return InputError([Problem(where, why)], source=source)

    try:
        doc = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_json_constant,
            parse_int=_json_int,
            parse_float=_json_float,
        )
    except json.JSONDecodeError as e:
        raise refuse(f"{source}:{e.lineno}:{e.colno}", f"invalid JSON: {e.msg}") from None
    except RecursionError:
        line, col = _json_depth_at(text, 64)
        raise refuse(f"{source}:{line}:{col}", "nested too deep (more than 64 levels)") from None
    except _JsonToken as e:  # a hook's refusal: the first place the token stands
        found = text.find(e.token)
        line, col = _line_col(text, found) if found >= 0 else (1, 1)
        raise refuse(f"{source}:{line}:{col}", f"invalid JSON: {e}") from None
    if not isinstance(doc, list):
        raise refuse(source, "expected a JSON array of objects")
    problems: list[Problem] = []
    for i, item in enumerate(doc, 1):
        stack = [item]
        while stack:
            node = stack.pop()
            if isinstance(node, _Object):
                for key in node.repeats:
                    problems.append(Problem(f"{source}:#{i}", f"key {key!r} appears twice"))
                stack += [v for v in node.values() if isinstance(v, dict | list)]
            elif isinstance(node, list):
                stack += [v for v in node if isinstance(v, dict | list)]
    if problems:
        raise InputError(problems, source=source)
    return _records(
        [(f"#{i}", item) for i, item in enumerate(doc, 1)], columns, source, match, required
    )


def read_yaml(
    text: str, columns: Sequence[Column], source: str, match: str = "code", required: bool = True
) -> Table:
    import yaml

    from pm_cli.yamlfile import Loader

    try:
        loader = Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise InputError([Problem(f"{source}:1", "the file is empty")], source=source)
            if not isinstance(root, yaml.SequenceNode):
                raise InputError(
                    [
                        Problem(
                            f"{source}:{root.start_mark.line + 1}",
                            "expected a list of mappings (- code: …)",
                        )
                    ],
                    source=source,
                )
            items = [
                (str(n.start_mark.line + 1), loader.construct_object(n, deep=True))
                for n in root.value
            ]
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InputError(
            [Problem(where, f"invalid YAML: {e.problem or e}")], source=source
        ) from None
    except yaml.YAMLError as e:
        raise InputError([Problem(source, f"invalid YAML: {e}")], source=source) from None
    return _records(items, columns, source, match, required)
