"""What a file read for import is: its columns (English keys with their Chinese header
aliases), and its rows, each with the position an editor shows (`FILE:ROW`, `FILE:LINE`,
`FILE:#N`, or a workbook's sheet and row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    aliases: tuple[str, ...] = ()
    multi: bool = False
    derived: bool = False  # shown by export and --json, ignored by import (computed here)
    rest: bool = False  # every other column of the file, each as `KEY:its header`


def rest_key(columns: Sequence[Column]) -> str | None:
    """The key of the column that gathers the file's other columns, if the kind has one."""
    return next((c.key for c in columns if c.rest), None)


@dataclass(slots=True)
class Row:
    """One record of the file: its position (row, line or #N) and {english key: value}."""

    source: str
    at: str
    values: dict[str, Any]

    @property
    def where(self) -> str:
        """`FILE:ROW`, `FILE:LINE`, `FILE:#N`; in a workbook `FILE: sheet NAME row N`."""
        sep = ": " if self.at.startswith("sheet ") else ":"
        return f"{self.source}{sep}{self.at}"


@dataclass
class Table:
    source: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
