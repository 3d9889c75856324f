"""Stored UTC text shown in a site's time zone (DESIGN §3). Standard library only."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local(utc: str | None, tz: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str | None:
    """`2026-03-01T06:00:00.000Z` → `2026-03-01 14:00` in Asia/Shanghai (machine zone if None)."""
    if not utc:
        return None
    dt = datetime.fromisoformat(utc.replace("Z", "+00:00"))
    try:
        zone = ZoneInfo(tz) if tz else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return dt.astimezone(zone).strftime(fmt)
