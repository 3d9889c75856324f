"""Tables as files: CSV (UTF-8 with a BOM, formula cells guarded), Excel workbooks and
Markdown, from a list of columns and rows of plain values. The ground floor: knows no
feature; exports and reports both write through it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

# Spreadsheet formula injection: Excel and LibreOffice run a cell starting with = + - @ (and
# some a leading tab or CR) as a formula. CSV export prefixes such a cell with `'`; import
# takes one `'` off again when a trigger follows it, so export → import → export is
# identical. A cell that already starts with `'` + trigger gets a second `'` for the same
# reason. A plain number (-3.5, +1e3) is left alone in every column: a number is never a
# formula, and numeric columns stay numbers for the spreadsheet.
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def unguard(cell: str) -> str:
    """A cell as read from CSV: the `'` export put before a formula trigger removed."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in ("'", *_TRIGGERS):
        return cell[1:]
    return cell


def guard(cell: str) -> str:
    """A cell as CSV export writes it: one a spreadsheet would run as a formula neutralised."""
    if not cell:
        return cell
    if cell[0] in _TRIGGERS and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return "'" + cell if unguard(cell) != cell else cell


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def csv_bytes(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """CSV as Excel opens it right (UTF-8 with a BOM, CRLF), every text cell guarded."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([guard(_text(r.get(c))) for c in columns])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


Table = tuple[str, Sequence[str], Sequence[dict[str, Any]]]  # (title, columns, rows)


def xlsx_bytes(sheet: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """One worksheet: the header, then the cells, numbers as numbers and text as text (never
    a formula, so no guard is needed)."""
    return xlsx_book([(sheet, columns, rows)])


def xlsx_book(tables: Sequence[Table]) -> bytes:
    """A worksheet per table (a report of several tables), named by its title."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    used: set[str] = set()
    for title, columns, rows in tables:
        name = re.sub(r"[\\/*?:\[\]]", " ", title)[:31]  # Excel's rules for a sheet's name
        n = 2
        while name.lower() in used:
            suffix = f" ({n})"
            name, n = name[: 31 - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        ws = book.create_sheet(name)
        ws.append(list(columns))
        for r in rows:
            cells = []
            for c in columns:
                value = r.get(c)
                if isinstance(value, list):
                    value = "; ".join(str(v) for v in value)
                cell = WriteOnlyCell(ws, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # "=SUM(…)" stays text
                cells.append(cell)
            ws.append(cells)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def csv_tables(tables: Sequence[Table]) -> bytes:
    """Several tables in one CSV, as a spreadsheet shows them: each its title in a row of
    its own, its header, its rows, then a blank row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for title, columns, rows in tables:
        w.writerow([guard(title)])
        w.writerow(columns)
        for r in rows:
            w.writerow([guard(_text(r.get(c))) for c in columns])
        w.writerow([])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def markdown(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], *, title: str | None = None
) -> str:
    """A GitHub-flavoured Markdown table (| and newlines in cells escaped), numbers right."""

    def cell(value: Any) -> str:
        return _text(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")

    numeric = [
        all(isinstance(r.get(c), int | float) or r.get(c) is None for r in rows)
        and any(r.get(c) is not None for r in rows)
        for c in columns
    ]
    out = [f"## {title}", ""] if title else []
    out.append("| " + " | ".join(cell(c) for c in columns) + " |")
    out.append("|" + "|".join(" ---: " if n else " --- " for n in numeric) + "|")
    out += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out) + "\n"
