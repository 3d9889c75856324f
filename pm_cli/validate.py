"""Value rules shared by the services and bulk import. Each parser returns the stored value
or raises ValueError with a reason a user can act on. Standard library only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

T = TypeVar("T")

CODE_MAX = 64
_CODE_BAD = re.compile(r"[\s;；,，/\\]")

Level = Literal["minor", "major", "critical"]
RISK_LEVELS: tuple[Level, ...] = ("minor", "major", "critical")
RISK_ALIASES = {
    "minor": "minor",
    "一般": "minor",
    "low": "minor",
    "低": "minor",
    "major": "major",
    "重要": "major",
    "medium": "major",
    "中": "major",
    "critical": "critical",
    "重大": "critical",
    "high": "critical",
    "高": "critical",
}
RISK_LABEL = {"minor": "一般", "major": "重要", "critical": "重大"}

Role = Literal["admin", "manager", "lead", "tech"]
ROLES: tuple[Role, ...] = ("admin", "manager", "lead", "tech")
ROLE_ALIASES = {
    "admin": "admin",
    "管理员": "admin",
    "manager": "manager",
    "经理": "manager",
    "项目经理": "manager",
    "主管": "manager",
    "lead": "lead",
    "班长": "lead",
    "领班": "lead",
    "组长": "lead",
    "巡检员": "lead",
    "tech": "tech",
    "技术员": "tech",
    "技工": "tech",
    "维修工": "tech",
    "工程师": "tech",
    "员工": "tech",
}

# Characters a name, code or title may not hold: C0/C1 controls (NUL, ESC of ANSI escapes,
# CR, DEL …), bidirectional overrides and isolates (U+202A–202E, U+2066–2069) and zero-width
# characters (U+200B–200D, U+2060, U+FEFF). They can make a terminal or spreadsheet show
# something other than what is stored. One rule: the laptop's entry checks below and the
# field rules of every synced table (store/fields.py, also the sync server's) use it.
_INVISIBLE = "\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069"  # zero-width, bidi
UNSAFE_CHARS = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")


def _kind_of(ch: str) -> str:
    n = ord(ch)
    if n == 0:
        return "a NUL character"
    if n == 0x1B:
        return "an escape character (ESC)"
    if n < 0x20 or 0x7F <= n <= 0x9F:
        return "a control character"
    if 0x202A <= n <= 0x202E or 0x2066 <= n <= 0x2069:
        return "a bidirectional-text override"
    return "a zero-width character"


def unsafe(text: str) -> str | None:
    """Why `text` cannot be a name, code or title (the first bad character), or None."""
    m = UNSAFE_CHARS.search(text)
    if m is None:
        return None
    ch = m.group()
    return (
        f"contains {_kind_of(ch)}, U+{ord(ch):04X}, at character {m.start() + 1}: "
        "retype it without invisible characters"
    )


def _escape_one(m: re.Match[str]) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


_UNSAFE_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")  # keeps \t \n


def escaped(text: str, *, lines: bool = False) -> str:
    """`text` with each unsafe character shown as an escape (`\\x1b`, `\\u202e`), so a
    terminal prints it instead of obeying it; `lines` keeps newlines and tabs."""
    pattern = _UNSAFE_BUT_LINES if lines else UNSAFE_CHARS
    return pattern.sub(_escape_one, text) if pattern.search(text) else text


def _plain(value: str) -> str:
    why = unsafe(value)
    if why:
        raise ValueError(why)
    return value


TAG_SPLIT = re.compile(r"[;；]")
_WS_RUN = re.compile(r"\s{2,}|[^\S ]")  # two or more spaces, or a tab/newline/full-width space


def squash(text: str) -> str:
    """Strip, and fold inner runs of white space (as spreadsheets leave them) to one space."""
    value = text.strip()
    return _WS_RUN.sub(" ", value) if _WS_RUN.search(value) else value


def code(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("a code is required")
    if len(value) > CODE_MAX:
        raise ValueError(f"a code has at most {CODE_MAX} characters (this one {len(value)})")
    bad = _CODE_BAD.search(value)
    if bad:
        raise ValueError(f"a code cannot contain {bad.group()!r}: use letters, digits, - or _")
    return _plain(value)


def _required(text: str, noun: str, most: int) -> str:
    value = squash(text)
    if not value:
        raise ValueError(f"a {noun} is required")
    if len(value) > most:
        raise ValueError(f"a {noun} has at most {most} characters (this one {len(value)})")
    return _plain(value)


def name(text: str) -> str:
    return _required(text, "name", 200)


def optional_text(text: str | None) -> str | None:
    if text is None:
        return None
    return squash(text) or None


def risk_level(text: str) -> str:
    value = RISK_ALIASES.get(text.strip().lower())
    if value is None:
        raise ValueError(
            f"unknown risk level {text.strip()!r}: use minor|major|critical (一般|重要|重大)"
        )
    return value


def role(text: str) -> str:
    value = ROLE_ALIASES.get(text.strip().lower())
    if value is None:
        raise ValueError(f"unknown role {text.strip()!r}: use admin|manager|lead|tech")
    return value


LIST_MAX = 1000  # items in one multi-value cell (tags, responsibilities, steps)


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """A multi-value cell (`a; b；c`) or a list: stripped, blanks dropped, duplicates folded.
    More than LIST_MAX items are refused before anything is split."""
    if value is None:
        return []
    if isinstance(value, str):
        if not value:
            return []
        if value.count(";") + value.count("；") >= LIST_MAX:
            raise ValueError(f"at most {LIST_MAX:,} items in one cell (separated by ;)")
        items = TAG_SPLIT.split(value) if ";" in value or "；" in value else [value]
    else:
        items = list(value)
        if len(items) > LIST_MAX:
            raise ValueError(f"at most {LIST_MAX:,} items in one list (this one {len(items):,})")
    seen: dict[str, None] = {}  # insertion-ordered set: linear, not quadratic
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"expected text, got {item!r}")
        v = squash(item)
        if v:
            seen[v] = None
    return list(seen)


def tags(value: str | Iterable[str] | None) -> list[str]:
    out = split_list(value)
    for t in out:
        if len(t) > 50:
            raise ValueError(f"a tag has at most 50 characters: {t[:20]}…")
        _plain(t)
    return out


def duty(text: str) -> str:
    """One line of a grid's responsibility list (责任清单)."""
    return _required(text, "responsibility", 500)


def duties(value: str | Iterable[str] | None) -> list[str]:
    return [duty(item) for item in split_list(value)]


def tz(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = text.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'Asia' is a folder
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as Asia/Shanghai"
        ) from None
    return value


def check(parse: Callable[[Any], T], value: Any, *, field: str) -> T:
    """Run a parser for a single command's option; a ValueError becomes a PmError."""
    from pm_cli.errors import PmError

    try:
        return parse(value)
    except ValueError as e:
        raise PmError(str(e), where=field) from None


def _choices(expected: str) -> str:
    """pydantic's `'a', 'b' or 'c'` as `a, b or c`."""
    return expected.replace("'", "")


def plain_error(err: Mapping[str, Any]) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) in plain words, without the
    validator's wording (patterns, type names, "Input should be …")."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    given = err.get("input")
    shown = (
        f" (given {given!r})"
        if isinstance(given, str | int | float)
        and not isinstance(given, bool)
        and len(str(given)) <= 40
        else ""
    )
    words = {
        "missing": "is required",
        "extra_forbidden": "is not a known key",
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "finite_number": "must be a finite number",
        "bool_parsing": "must be yes or no (true/false)",
        "bool_type": "must be yes or no",
        "string_type": "must be text",
        "dict_type": "must be a mapping (key: value lines)",
        "list_type": "must be a list (lines starting with -)",
        "date_parsing": "must be a date (YYYY-MM-DD)",
        "date_type": "must be a date",
        "datetime_parsing": "must be a date and time (YYYY-MM-DD HH:MM)",
        "string_pattern_mismatch": "has characters or a form that is not allowed here",
    }
    if kind in words:
        return words[kind] + shown
    if kind in ("literal_error", "enum"):
        return f"must be one of {_choices(str(ctx.get('expected', '')))}{shown}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length')} items"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"needs at least {n} characters"
    if kind == "string_too_long":
        return f"may have at most {ctx.get('max_length')} characters"
    bounds = {
        "greater_than": ">",
        "greater_than_equal": "≥",
        "less_than": "<",
        "less_than_equal": "≤",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()), "")
        return f"must be {bounds[kind]} {limit}{shown}"
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg
