"""Reading spreadsheets and documents into rows of {english key: value}, with positions.

CSV as spreadsheets write it (BOM, CRLF, blank lines, stray spaces, `;` or tab delimiters,
Chinese headers, GB18030 with --encoding); JSON and YAML as a list of objects.
Positions are what an editor shows: CSV `FILE:ROW` (header = row 1), YAML `FILE:LINE`,
JSON `FILE:#N`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pm_cli.errors import InputError, PmError, Problem, UsageError

FORMATS = ("csv", "json", "yaml")


@dataclass(frozen=True)
class Column:
    key: str
    aliases: tuple[str, ...] = ()
    multi: bool = False
    derived: bool = False  # shown by export and --json, ignored by import (computed here)


@dataclass(slots=True)
class Row:
    """One record of the file: its position (row, line or #N) and {english key: value}."""

    source: str
    at: str
    values: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.at}"


@dataclass
class Table:
    source: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)


def _norm_header(text: str) -> str:
    return text.strip().strip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def header_map(columns: Sequence[Column]) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in columns:
        out[_norm_header(col.key)] = col.key
        for alias in col.aliases:
            out[_norm_header(alias)] = col.key
    return out


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}", hint="use csv, json or yaml")
        return fmt
    ext = path.suffix.lower()
    if ext in (".csv", ".txt", ".tsv"):
        return "csv"
    if ext == ".json":
        return "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    raise UsageError(
        f"cannot tell the format of {path.name} from its name",
        where=str(path),
        hint="name it .csv, .json or .yaml (Excel: Save As → CSV UTF-8); .xlsx is not read",
    )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PmError("no such file", where=str(path)) from None
    except IsADirectoryError:
        raise PmError("that is a folder, not a file", where=str(path)) from None
    except OSError as e:
        raise PmError(f"cannot read the file: {e.strerror}", where=str(path)) from None


def _guess_encoding(data: bytes) -> str:
    for enc in ("gb18030", "big5", "shift_jis"):
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    return "cp1252"


def decode(data: bytes, source: str, encoding: str | None) -> str:
    """Text of the file: BOMs honoured; anything not UTF-8 needs --encoding (no mojibake)."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"unknown encoding {encoding!r}", where="--encoding",
                             hint="e.g. utf-8, gb18030, big5, utf-16") from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise PmError(
                f"the file is not valid {encoding} (byte 0x{data[e.start]:02x})",
                where=f"{source}:{line}",
                hint=f"is it really {encoding}? try --encoding {_guess_encoding(data)} or utf-8",
            ) from None
        return text.lstrip("\ufeff")
    if data.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
    else:
        enc = "utf-8"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        guess = _guess_encoding(data)
        why = " (Chinese Excel saves CSV that way)" if guess == "gb18030" else ""
        raise PmError(
            f"the file is not UTF-8 (byte 0x{data[e.start]:02x}); it looks like {guess}{why}",
            where=f"{source}:{line}",
            hint=f"pass --encoding {guess}, or save it from Excel as 'CSV UTF-8'",
        ) from None


def _resolve_headers(
    raw: list[str], columns: Sequence[Column], where_of: str, match: str = "code",
    required: bool = True,
) -> tuple[list[str | None], list[Problem]]:
    mapping = header_map(columns)
    derived = {c.key for c in columns if c.derived}
    keys: list[str | None] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for cell in raw:
        name = cell.strip().strip("\ufeff").strip()
        if not name:
            keys.append(None)
            continue
        key = mapping.get(_norm_header(name))
        if key in derived:
            keys.append(None)
            continue
        if key is None:
            problems.append(Problem(
                where_of, f"unknown column {name!r}; known: "
                + ", ".join(c.key for c in columns if not c.derived)
                + " (or their Chinese names)",
            ))
            keys.append(None)
            continue
        if key in seen:
            problems.append(Problem(where_of, f"column {name!r} repeats {seen[key]!r}"))
            keys.append(None)
            continue
        seen[key] = name
        keys.append(key)
    if required and match not in seen:
        problems.append(Problem(where_of, f"no {match} column: rows are matched by it"))
    return keys, problems


def _sniff_delimiter(text: str) -> str:
    """Comma, unless the first lines use none and use tabs or semicolons instead (Excel's
    "Unicode text" and some locales' CSV)."""
    head = text[:4096].splitlines()[:10]
    counts = {d: max((line.count(d) for line in head), default=0) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] and not counts[","] else ","


def _find_header(
    reader: Any, columns: Sequence[Column], source: str, match: str = "code"
) -> tuple[int, list[str]]:
    """The header row: the first row naming a code column, within the first ten non-blank
    rows (spreadsheets often carry a title row or two above it); else the first row."""
    mapping = header_map(columns)
    seen: list[tuple[int, list[str]]] = []
    row_no = 0
    try:
        for cells in reader:
            row_no += 1
            if not any(c.strip() for c in cells):
                continue
            seen.append((row_no, cells))
            if any(mapping.get(_norm_header(c)) in (match, "code") for c in cells):
                return row_no, cells
            if len(seen) >= 10:
                break
    except csv.Error as e:
        raise InputError([Problem(f"{source}:{row_no}", f"cannot read the header: {e}")],
                         source=source) from None
    if not seen:
        raise InputError([Problem(f"{source}:1", "the file is empty: expected a header row")],
                         source=source)
    return seen[0]


def read_csv(text: str, columns: Sequence[Column], source: str, match: str = "code",
             required: bool = True) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    header_no, header = _find_header(reader, columns, source, match)
    keys, problems = _resolve_headers(header, columns, f"{source}:{header_no}", match,
                                      required)
    table = Table(source, [k for k in keys if k])
    active = [(i, k) for i, k in enumerate(keys) if k]
    unheaded = {i for i, h in enumerate(header) if not h.strip()}
    width = len(header)
    rows = table.rows
    row_no = header_no
    try:
        for cells in reader:
            row_no += 1
            if not any(cells) or not any(c.strip() for c in cells):
                continue
            n = len(cells)
            values = {k: cells[i].strip() if i < n else "" for i, k in active}
            if n > width or unheaded:
                for i in [*unheaded, *range(width, n)]:
                    if i < n and cells[i].strip():
                        problems.append(Problem(
                            f"{source}:{row_no}",
                            f"cell {i + 1} ({cells[i].strip()[:20]!r}) has no column header",
                        ))
            rows.append(Row(source, str(row_no), values))
    except csv.Error as e:
        problems.append(Problem(f"{source}:{row_no}", f"malformed CSV: {e}"))
    if problems:
        raise InputError(problems, source=source)
    return table


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
    items: list[tuple[str, Any]], columns: Sequence[Column], source: str, match: str = "code",
    required: bool = True,
) -> Table:
    keys = {c.key for c in columns if not c.derived}
    derived = {c.key for c in columns if c.derived}
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
            if k not in keys:
                problems.append(Problem(where, f"unknown key {k!r}; known: " + ", ".join(
                    c.key for c in columns)))
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


def read_json(text: str, columns: Sequence[Column], source: str, match: str = "code",
              required: bool = True) -> Table:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError([Problem(f"{source}:{e.lineno}:{e.colno}", f"invalid JSON: {e.msg}")],
                         source=source) from None
    if not isinstance(doc, list):
        raise InputError([Problem(source, "expected a JSON array of objects")], source=source)
    return _records([(f"#{i}", item) for i, item in enumerate(doc, 1)], columns, source,
                    match, required)


def read_yaml(text: str, columns: Sequence[Column], source: str, match: str = "code",
              required: bool = True) -> Table:
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise InputError([Problem(f"{source}:1", "the file is empty")], source=source)
            if not isinstance(root, yaml.SequenceNode):
                raise InputError([Problem(f"{source}:{root.start_mark.line + 1}",
                                          "expected a list of mappings (- code: …)")],
                                 source=source)
            items = [
                (str(n.start_mark.line + 1), loader.construct_object(n, deep=True))
                for n in root.value
            ]
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InputError([Problem(where, f"invalid YAML: {e.problem or e}")],
                         source=source) from None
    except yaml.YAMLError as e:
        raise InputError([Problem(source, f"invalid YAML: {e}")], source=source) from None
    return _records(items, columns, source, match, required)


def read_table(
    path: Path, columns: Sequence[Column], *, encoding: str | None = None,
    fmt: str | None = None, match: str = "code", required: bool = True,
) -> Table:
    """Rows of a file; `match` is the column rows are matched by (required unless told)."""
    fmt = detect_format(path, fmt)
    source = str(path)
    text = decode(read_bytes(path), source, encoding)
    reader = {"csv": read_csv, "json": read_json, "yaml": read_yaml}[fmt]
    return reader(text, columns, source, match, required)
