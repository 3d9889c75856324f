"""Schedules: RFC 5545 RRULEs (python-dateutil) and a few named shortcuts (DESIGN §5)."""

from __future__ import annotations

import re
from datetime import datetime

_DAYS = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA",
         "sun": "SU"}
_SHORT = re.compile(
    r"^(?P<freq>daily|weekly|monthly)(?::(?P<on>[a-z0-9,]+))?@(?P<times>[0-9:,]+)$")


def expand_shortcut(text: str) -> str:
    """`daily@08:00`, `weekly:mon,thu@21:00`, `monthly:1@09:00` → an RRULE; others as given."""
    m = _SHORT.match(text.strip().lower())
    if not m:
        return text.strip()
    hours, minutes = [], set()
    for t in m["times"].split(","):
        hh, _, mm = t.partition(":")
        if not hh.isdigit() or not 0 <= int(hh) <= 23 or (mm and not 0 <= int(mm) <= 59):
            raise ValueError(f"bad time {t!r} in {text!r}: use HH:MM")
        hours.append(str(int(hh)))
        minutes.add(str(int(mm or 0)))
    if len(minutes) > 1:
        raise ValueError(f"times in {text!r} must share their minutes")
    rule = f"FREQ={m['freq'].upper()};BYHOUR={','.join(hours)};BYMINUTE={minutes.pop()}"
    if m["on"]:
        if m["freq"] == "weekly":
            try:
                rule += ";BYDAY=" + ",".join(_DAYS[d] for d in m["on"].split(","))
            except KeyError as e:
                raise ValueError(f"unknown day {e.args[0]!r} in {text!r}: use mon…sun") from None
        elif m["freq"] == "monthly":
            rule += ";BYMONTHDAY=" + m["on"]
        else:
            raise ValueError(f"daily takes no days: {text!r}")
    return rule


def parse_rule(text: str, dtstart: datetime | None = None):  # type: ignore[no-untyped-def]
    """The dateutil rrule for an RRULE or shortcut; ValueError with the reason if invalid."""
    from dateutil.rrule import rrulestr

    rule = expand_shortcut(text)
    body = rule[6:] if rule.upper().startswith("RRULE:") else rule
    if not body or "FREQ=" not in body.upper():
        raise ValueError(f"not an RRULE: {text!r} (e.g. FREQ=DAILY;BYHOUR=8 or daily@08:00)")
    try:
        return rrulestr(body, dtstart=dtstart or datetime(2026, 1, 1))
    except (ValueError, TypeError) as e:
        raise ValueError(f"invalid RRULE {text!r}: {e}") from None
