"""The one parser for the dates and times people type (every `--date`, `--from`, `--to`,
`--since`, `--at`, and the times in drill timelines). Standard library only.

Accepted, the same everywhere (`FORMS`): an ISO date `2026-12-02`; an ISO date and time
`2026-12-02 03:00` or `2026-12-02T03:00[:SS]`, in the site's zone unless it names one (`Z`,
`+08:00`); a time of day `14:05` (on the day in question: today, or a drill's T0); `today`,
`yesterday`, `tomorrow` (今天, 昨天, 明天); `-N` (N days ago) and `+N` (N days on). Forms whose
order of day and month is a guess (`01-11-2026`, `11/01/2026`, `3 Dec`) are refused.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pm_cli.errors import UsageError

FORMS = (
    "2026-12-02, '2026-12-02 14:05', 14:05, today, yesterday, tomorrow, "
    "-7 (7 days ago), +3 (3 days on)"
)
_WORDS = {"today": 0, "今天": 0, "yesterday": -1, "昨天": -1, "tomorrow": 1, "明天": 1}
_OFFSET = re.compile(r"[+-]\d{1,5}d?")
_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?")


def zone(tz: str | None) -> tzinfo:
    """The site's zone (the laptop's when the site has none or it is unknown here)."""
    try:
        if tz:
            return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def _refuse(text: str, where: str, what: str) -> UsageError:
    return UsageError(
        f"not a {what}: {text!r}",
        where=where,
        hint=f"use {FORMS}; a day-first or month-first date such as 01-11-2026 is ambiguous",
    )


def _relative(t: str, today: date) -> date | None:
    if t in _WORDS:
        return today + timedelta(days=_WORDS[t])
    if _OFFSET.fullmatch(t):
        n = int(t.rstrip("d"))
        return today + timedelta(days=n)
    return None


def _iso_day(t: str) -> date | None:
    m = _DAY.fullmatch(t)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def day(text: str | None, tz: str | None, *, where: str = "--date") -> date:
    """A day in the site's zone; None or empty is today. A time of day is refused."""
    today = datetime.now(zone(tz)).date()
    t = (text or "").strip().lower()
    if not t:
        return today
    found = _relative(t, today) or _iso_day(t)
    if found is not None:
        return found
    if _TIME.search(t) and _iso_day(re.split(r"[ t]", t, maxsplit=1)[0]):
        raise UsageError(
            f"{where} takes a day, not a time: {text!r}",
            where=where,
            hint=f"give the day alone, e.g. {t[:10]}",
        )
    raise _refuse(text or "", where, "date")


def instant(
    text: str,
    tz: str | None,
    *,
    where: str = "--at",
    day_of: datetime | None = None,
    end: bool = False,
) -> datetime:
    """An instant (aware, UTC). A time of day is on `day_of`'s day (a drill's T0) or today,
    in the site's zone; a bare day means its start, or with `end` its last millisecond."""
    here = zone(tz)
    t = text.strip()
    low = t.lower()
    base = (day_of or datetime.now(UTC)).astimezone(here).date()
    whole_day = _relative(low, datetime.now(here).date()) or _iso_day(low)
    if whole_day is not None:
        start = datetime.combine(whole_day, time(0), here)
        if end:
            start = datetime.combine(whole_day + timedelta(days=1), time(0), here) - timedelta(
                milliseconds=1
            )
        return start.astimezone(UTC)
    m = _TIME.fullmatch(t)
    if m:
        try:
            clock = time(int(m[1]), int(m[2]), int(m[3] or 0))
        except ValueError:
            raise _refuse(text, where, "date or time") from None
        return datetime.combine(base, clock, here).astimezone(UTC)
    both = re.fullmatch(r"(\S+?)[ Tt](.+)", t)
    on = _iso_day(both[1]) if both else None
    if both and on is not None:  # a date, then a time (and perhaps its zone)
        try:
            at = datetime.fromisoformat(f"{on.isoformat()}T{both[2].strip()}")
        except ValueError:
            raise _refuse(text, where, "date or time") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=here)
        return at.astimezone(UTC)
    raise _refuse(text, where, "date or time")
