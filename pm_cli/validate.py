"""Value rules shared by the services and bulk import. Each parser returns the stored value
or raises ValueError with a reason a user can act on. Standard library only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

T = TypeVar("T")

CODE_MAX = 64
_CODE_BAD = re.compile(r"[\s;；,，/\\]")

Level = Literal["minor", "major", "critical"]
RISK_LEVELS: tuple[Level, ...] = ("minor", "major", "critical")
RISK_ALIASES = {
    "minor": "minor", "一般": "minor", "low": "minor", "低": "minor",
    "major": "major", "重要": "major", "medium": "major", "中": "major",
    "critical": "critical", "重大": "critical", "high": "critical", "高": "critical",
}
RISK_LABEL = {"minor": "一般", "major": "重要", "critical": "重大"}

Role = Literal["admin", "manager", "lead", "tech"]
ROLES: tuple[Role, ...] = ("admin", "manager", "lead", "tech")
ROLE_ALIASES = {
    "admin": "admin", "管理员": "admin",
    "manager": "manager", "经理": "manager", "项目经理": "manager", "主管": "manager",
    "lead": "lead", "班长": "lead", "领班": "lead", "组长": "lead", "巡检员": "lead",
    "tech": "tech", "技术员": "tech", "技工": "tech", "维修工": "tech", "工程师": "tech",
    "员工": "tech",
}

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
    return value


def _required(text: str, noun: str, most: int) -> str:
    value = squash(text)
    if not value:
        raise ValueError(f"a {noun} is required")
    if len(value) > most:
        raise ValueError(f"a {noun} has at most {most} characters (this one {len(value)})")
    return value


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


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """A multi-value cell (`a; b；c`) or a list: stripped, blanks dropped, duplicates folded."""
    if value is None:
        return []
    if isinstance(value, str):
        if not value:
            return []
        items = TAG_SPLIT.split(value) if ";" in value or "；" in value else [value]
    else:
        items = list(value)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"expected text, got {item!r}")
        v = squash(item)
        if v and v not in out:
            out.append(v)
    return out


def tags(value: str | Iterable[str] | None) -> list[str]:
    out = split_list(value)
    for t in out:
        if len(t) > 50:
            raise ValueError(f"a tag has at most 50 characters: {t[:20]}…")
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
