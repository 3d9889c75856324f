"""Reading and writing the files people give pm and take from it, for every feature: bytes
with a clear error for a missing file or a folder, text decoded the way spreadsheets and editors
save it (BOMs honoured, anything not UTF-8 refused with the line and a guessed `--encoding`, a
workbook or binary given where text belongs named for what it is), and a write that lands whole
or not at all. The ground floor: knows no feature."""

from __future__ import annotations

import codecs
from pathlib import Path

from pm_cli.errors import PmError, UsageError


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


NL = b"\n"


def not_text(data: bytes, source: str, encoding: str | None) -> None:
    """Refuse, saying what it is, a workbook or other binary file given where text belongs."""
    what = None
    if data.startswith(b"PK\x03\x04"):
        head = data[:65536]
        if b"xl/" in head or b"[Content_Types]" in head:
            what, hint = (
                "this is an Excel workbook, not a text file",
                "name it .xlsx to import it (pm import FILE.xlsx [--sheet NAME]), "
                "or save it from Excel as CSV UTF-8",
            )
        else:
            what, hint = "this is a zip archive, not a text file", "unpack it first"
    elif data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        what, hint = (
            "this is an old Excel 97–2003 workbook (.xls) or other Office file, not a text file",
            "in Excel: Save As → Excel Workbook (.xlsx) or CSV UTF-8",
        )
    elif (
        encoding is None
        and b"\x00" in data[:8192]
        and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    ):
        what, hint = (
            "this is a binary file, not text (it holds NUL bytes)",
            "give a CSV, JSON or YAML file; UTF-16 text needs its BOM or --encoding utf-16",
        )
    if what:
        nul = data.find(b"\x00", 0, 8192) if what.startswith("this is a binary") else -1
        where = f"{source}:{data.count(NL, 0, nul) + 1}" if nul >= 0 else source
        raise PmError(what, where=where, hint=hint)


def decode(data: bytes, source: str, encoding: str | None) -> str:
    """Text of the file: BOMs honoured; anything not UTF-8 needs --encoding (no mojibake)."""
    not_text(data, source, encoding)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(
                f"unknown encoding {encoding!r}",
                where="--encoding",
                hint="e.g. utf-8, gb18030, big5, utf-16",
            ) from None
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


def write_file(path: Path, data: bytes) -> None:
    """Write whole or not at all: a temporary file renamed over the target."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PmError(f"cannot write the file: {e.strerror}", where=str(path)) from None
