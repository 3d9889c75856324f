"""Writes `pm_cli/store/tables.py`: every table of the schema as a plain SQLAlchemy Core
`Table` (columns, keys, types, defaults), read from the SQLModel models.

    python -m pm_cli.store.tablegen

The models stay the one definition (migrations, validation, the ORM); the Core copy lets
the commands that only move rows (`pm sync`, the server's merge) query them without
building a SQLModel class per table at start-up. A test fails when the copy is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

TARGET = Path(__file__).with_name("tables.py")

HEADER = '''"""Every table of the schema as a SQLAlchemy Core `Table`, for queries only (the schema
is made by the migrations, from the models). Generated from the models by
`python -m pm_cli.store.tablegen`: do not edit by hand (tests/store/test_tables.py fails when
this file is stale).

A table is built when first named (`tables.grid`): a command builds only the tables it
reads; `every()` builds them all."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()
_lock = threading.Lock()  # the server's threads may name a table first at once
'''

FOOTER = '''

# each table's maker is `_<name>` above
_MAKERS: dict[str, Callable[[], Table]] = {{
    name: globals()[f"_{{name}}"]
    for name in (
{makers}
    ).split()
}}


def __getattr__(name: str) -> Table:
    make = _MAKERS.get(name)
    if make is None:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}")
    with _lock:
        table = metadata.tables.get(name)
        if table is None:
            table = make()
        globals()[name] = table
    return table


def every() -> dict[str, Table]:
    """Every table, by name."""
    return {{name: __getattr__(name) for name in _MAKERS}}
'''

TYPES = (
    (sa.JSON, "JSON"),
    (sa.Boolean, "Boolean"),
    (sa.Float, "Float"),
    (sa.Integer, "Integer"),
    (sa.Text, "Text"),
    (sa.String, "String"),
)


def _type(col: sa.Column[Any]) -> str:
    t = col.type
    if isinstance(t, sa.TypeDecorator):  # SQLModel's AutoString: a String by its impl
        t = t.impl_instance
    for cls, name in TYPES:  # Text before String: it is one
        if isinstance(t, cls):
            return name
    raise TypeError(f"{col.table.name}.{col.name}: no Core name for {col.type!r}")


def _default(col: sa.Column[Any]) -> str | None:
    d = col.default
    if d is None:
        return None
    if d.is_callable:
        fn = getattr(d, "arg", None)
        name = getattr(getattr(fn, "__wrapped__", fn), "__name__", "")
        if name in ("dict", "list"):
            return name
        raise TypeError(f"{col.table.name}.{col.name}: a callable default ({name}) to copy")
    if d.is_scalar:
        return _lit(d.arg)  # type: ignore[attr-defined]
    raise TypeError(f"{col.table.name}.{col.name}: a default of kind {d!r} to copy")


def _lit(value: Any) -> str:
    """A literal as ruff format writes it (double quotes)."""
    if isinstance(value, str):
        assert '"' not in value and "\\" not in value, value
        return f'"{value}"'
    return repr(value)


def _column(col: sa.Column[Any]) -> str:
    parts = [_lit(col.name), _type(col)]
    if col.key != col.name:
        parts.append(f"key={_lit(col.key)}")
    if col.primary_key:
        parts.append("primary_key=True")
    parts.append(f"nullable={col.nullable}")
    if col.unique:
        parts.append("unique=True")
    default = _default(col)
    if default is not None:
        parts.append(f"default={default}")
    return f"    Column({', '.join(parts)}),"


def _wrapped(names: list[str], width: int = 80) -> list[str]:
    """Names joined by spaces in lines of at most `width` characters."""
    lines: list[str] = []
    for name in names:
        if lines and len(lines[-1]) + 1 + len(name) <= width:
            lines[-1] += " " + name
        else:
            lines.append(name)
    return lines


def render() -> str:
    from pm_cli.schema import metadata

    out = [HEADER]
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        out.append(
            f"\ndef _{name}() -> Table:\n    return Table(\n        {_lit(name)},\n"
            "        metadata,"
        )
        out += ["    " + _column(c) for c in table.c]
        out.append("    )\n")
    makers = "\n".join(f'        "{line} "' for line in _wrapped(sorted(metadata.tables)))
    return "\n".join(out).rstrip("\n") + "\n" + FOOTER.format(makers=makers)


def main() -> None:
    text = render()
    if TARGET.exists() and TARGET.read_text(encoding="utf-8") == text:
        print(f"{TARGET} is current")  # noqa: T201 - a developer's script
        return
    TARGET.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {TARGET}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
