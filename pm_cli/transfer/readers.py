"""Reading spreadsheets and documents into rows of {english key: value}, with positions.

CSV as spreadsheets write it (BOM, CRLF, blank lines, stray spaces, `;` or tab delimiters,
Chinese headers, GB18030 with --encoding) and Excel worksheets here; JSON and YAML as a list
of objects in documents.py.
Positions are what an editor shows: CSV `FILE:ROW` (header = row 1), YAML `FILE:LINE`,
JSON `FILE:#N`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pm_cli.errors import InputError, PmError, Problem, UsageError
from pm_cli.files import decode, read_bytes
from pm_cli.sheets import guard as guard
from pm_cli.sheets import unguard as unguard
from pm_cli.transfer.table import Column, Row, Table, rest_key

FORMATS = ("csv", "json", "yaml", "xlsx")


# formula guards: pm_cli.sheets (the cell rules of every CSV pm writes or reads)


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
            raise UsageError(f"unknown format {fmt!r}", hint="use csv, json, yaml or xlsx")
        return fmt
    ext = path.suffix.lower()
    if ext in (".csv", ".txt", ".tsv"):
        return "csv"
    if ext == ".json":
        return "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext == ".xls":
        raise UsageError(
            "this is an old Excel 97–2003 workbook (.xls), which pm does not read",
            where=str(path),
            hint="in Excel: Save As → Excel Workbook (.xlsx)",
        )
    raise UsageError(
        f"cannot tell the format of {path.name} from its name",
        where=str(path),
        hint="name it .csv, .xlsx, .json or .yaml",
    )


def _resolve_headers(
    raw: list[str],
    columns: Sequence[Column],
    where_of: str,
    match: str = "code",
    required: bool = True,
) -> tuple[list[str | None], list[Problem]]:
    mapping = header_map(columns)
    derived = {c.key for c in columns if c.derived}
    rest = rest_key(columns)
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
        if key is None and rest is not None:
            key = f"{rest}:{name}"
        if key is None:
            problems.append(
                Problem(
                    where_of,
                    f"unknown column {name!r}; known: "
                    + ", ".join(c.key for c in columns if not c.derived)
                    + " (or their Chinese names)",
                )
            )
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
    """The delimiter that splits the first lines into the same number (> 1) of cells most
    often: comma, semicolon (some locales' CSV) or tab (Excel's "Unicode text"). A `;` file
    whose names hold commas splits evenly on `;` only; ties go to the comma."""
    head = [line for line in text[:65536].splitlines()[:12] if line.strip()][:10]
    best, best_score = ",", (0, 0)
    for d in (",", ";", "\t"):
        counts: dict[int, int] = {}
        try:
            for cells in csv.reader(head, delimiter=d):
                counts[len(cells)] = counts.get(len(cells), 0) + 1
        except csv.Error:
            continue
        width, often = max(counts.items(), key=lambda kv: (kv[1], kv[0]), default=(0, 0))
        if width > 1 and (often, width) > best_score:
            best, best_score = d, (often, width)
    return best


Cells = tuple[int, list[str]]  # (row number as the user's program shows it, cell texts)


def _csv_rows(text: str, source: str, delimiter: str) -> Iterator[Cells]:
    """Records of a CSV text with their spreadsheet row numbers. A quote that never closes
    (or closes rows later, having swallowed them into one cell) is refused at the row where
    it opened, instead of quietly turning many rows into one."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row_no = 0
    line = 0
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            row_no += 1
            msg = str(e)
            if "end of data" in msg or "unexpected end" in msg:
                why = (
                    'a quote (") opened in this row is never closed, so every row after '
                    "it would be read as one cell: close it or remove it"
                )
            elif "field larger" in msg:
                why = "a cell is too large (more than 131,072 characters)"
            else:
                why = f"malformed CSV: {msg} (a quote must end its cell)"
            raise InputError(
                [Problem(f"{source}:{row_no}", f"{why} (line {start})")], source=source
            ) from None
        row_no += 1
        line = reader.line_num
        if line > start:
            for cell in cells:
                if "\n" in cell and any(delimiter in part for part in cell.splitlines()[1:]):
                    raise InputError(
                        [
                            Problem(
                                f"{source}:{row_no}",
                                f'a quote (") opened in this row (line {start}) closes only '
                                f"at line {line}, swallowing the rows between into one cell: "
                                "check the quotes in this row",
                            )
                        ],
                        source=source,
                    )
        yield row_no, cells


def _find_header(
    rows: Iterator[Cells],
    columns: Sequence[Column],
    source: str,
    at: Callable[[int], str],
    match: str = "code",
) -> Cells:
    """The header row: the first row naming a code column, within the first ten non-blank
    rows (spreadsheets often carry a title row or two above it); else the first row."""
    mapping = header_map(columns)
    seen: list[Cells] = []
    for row_no, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        seen.append((row_no, cells))
        if any(mapping.get(_norm_header(c)) in (match, "code") for c in cells):
            return row_no, cells
        if len(seen) >= 10:
            break
    if not seen:
        raise InputError(
            [Problem(at(1), "the file is empty: expected a header row")], source=source
        )
    return seen[0]


def read_rows(
    rows: Iterable[Cells],
    columns: Sequence[Column],
    source: str,
    match: str = "code",
    required: bool = True,
    at: Callable[[int], str] = str,
    guarded: bool = False,
) -> Table:
    """A table from rows of cells (CSV records, worksheet rows); `at(n)` names row n in
    positions; `guarded`: cells may carry the `'` CSV export puts before formulas."""

    def where(n: int) -> str:
        return Row(source, at(n), {}).where

    it = iter(rows)
    header_no, header = _find_header(it, columns, source, where, match)
    keys, problems = _resolve_headers(header, columns, where(header_no), match, required)
    table = Table(source, [k for k in keys if k])
    active = [(i, k) for i, k in enumerate(keys) if k]
    unheaded = {i for i, h in enumerate(header) if not h.strip()}
    width = len(header)
    out = table.rows
    for row_no, cells in it:
        if not any(cells) or not any(c.strip() for c in cells):
            continue
        n = len(cells)
        if guarded:
            values = {k: unguard(cells[i].strip()) if i < n else "" for i, k in active}
        else:
            values = {k: cells[i].strip() if i < n else "" for i, k in active}
        if n > width or unheaded:
            for i in [*unheaded, *range(width, n)]:
                if i < n and cells[i].strip():
                    problems.append(
                        Problem(
                            where(row_no),
                            f"cell {i + 1} ({cells[i].strip()[:20]!r}) has no column header",
                        )
                    )
        out.append(Row(source, at(row_no), values))
    if problems:
        raise InputError(problems, source=source)
    return table


def read_csv(
    text: str, columns: Sequence[Column], source: str, match: str = "code", required: bool = True
) -> Table:
    rows = _csv_rows(text, source, _sniff_delimiter(text))
    return read_rows(rows, columns, source, match, required, guarded=True)


XLSX_MAX = 200_000_000  # bytes a workbook may unpack to (a zip bomb is refused unopened)


def _xlsx_value(value: Any) -> str:
    """A worksheet cell as the text a CSV of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_xlsx(
    path: Path,
    columns: Sequence[Column],
    source: str,
    match: str = "code",
    required: bool = True,
    sheet: str | None = None,
) -> Table:
    """The rows of one worksheet (the first unless `sheet`), numbered as Excel shows them;
    positions read `FILE: sheet NAME row N`. Formulas give their saved values."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            size = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError):
        read_bytes(path)  # a missing file or a folder: that error
        raise PmError(
            "this is not an Excel workbook (.xlsx), though it is named like one",
            where=source,
            hint="open it in Excel and Save As → Excel Workbook",
        ) from None
    if size > XLSX_MAX:
        raise PmError(
            f"the workbook unpacks to {size:,} bytes (at most {XLSX_MAX:,})",
            where=source,
            hint="split it, or save the sheet as CSV UTF-8",
        )
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on a damaged file
        raise PmError(
            f"cannot read the workbook: {e}",
            where=source,
            hint="open it in Excel and save it again",
        ) from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise UsageError(
                f"no sheet {sheet!r} in the workbook",
                where=source,
                hint="sheets: " + ", ".join(names),
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        title = ws.title
        ws.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row

        def rows() -> Iterator[Cells]:
            for n, cells in enumerate(ws.iter_rows(values_only=True), 1):
                yield n, [_xlsx_value(c) for c in cells]

        return read_rows(
            rows(), columns, source, match, required, at=lambda n: f"sheet {title} row {n}"
        )
    finally:
        book.close()


def read_table(
    path: Path,
    columns: Sequence[Column],
    *,
    encoding: str | None = None,
    fmt: str | None = None,
    match: str = "code",
    required: bool = True,
    sheet: str | None = None,
) -> Table:
    """Rows of a file; `match` is the column rows are matched by (required unless told)."""
    fmt = detect_format(path, fmt)
    source = str(path)
    if fmt == "xlsx":
        return read_xlsx(path, columns, source, match, required, sheet)
    if sheet is not None:
        raise UsageError("--sheet is for Excel workbooks (.xlsx)", where="--sheet")
    text = decode(read_bytes(path), source, encoding)
    if fmt == "csv":
        return read_csv(text, columns, source, match, required)
    from pm_cli.transfer.documents import read_json, read_yaml

    reader = read_json if fmt == "json" else read_yaml
    return reader(text, columns, source, match, required)
