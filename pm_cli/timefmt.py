"""Stored UTC text shown in a site's time zone (DESIGN §3): the one formatter for people.
Standard library only. `--json` keeps the stored ISO UTC text; people read
`YYYY-MM-DD HH:MM` in the site's zone, the zone named where it is not the laptop's."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A stored stamp: `2026-12-01T20:12:12.855Z` (seconds and fraction optional)
STAMP = re.compile(r"(?<![\w.:-])\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z(?![\w.:-])")


def _zone(tz: str | None) -> tzinfo | None:
    try:
        return ZoneInfo(tz) if tz else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_utc(text: str) -> datetime:
    """A stored UTC stamp (`2026-03-01T06:00:00.000Z`) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def local(utc: str | None, tz: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str | None:
    """`2026-03-01T06:00:00.000Z` → `2026-03-01 14:00` in Asia/Shanghai (machine zone if None)."""
    if not utc:
        return None
    return parse_utc(utc).astimezone(_zone(tz)).strftime(fmt)


def people(utc: str, tz: str | None) -> str:
    """A stamp as people read it: `2026-12-01T20:12:12.855Z` → `2026-12-02 04:12 CST` at an
    Asia/Shanghai site on a laptop set to another zone, `2026-12-02 04:12` on one in Shanghai
    (or with no site zone known: the laptop's time)."""
    at = parse_utc(utc)
    zone = _zone(tz)
    shown = at.astimezone(zone)
    text = shown.strftime("%Y-%m-%d %H:%M")
    if zone is not None and shown.utcoffset() != at.astimezone().utcoffset():
        text += f" {shown.strftime('%Z')}"
    return text


def stamps_in(text: str, tz: str | None) -> str:
    """Every stored stamp inside a text (a message, a cell) as people read it."""
    if "T" not in text or "Z" not in text:
        return text
    return STAMP.sub(lambda m: people(m.group(0), tz), text)
