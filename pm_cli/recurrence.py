"""Schedules: RFC 5545 RRULEs (python-dateutil) and a few named shortcuts (DESIGN §5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dateutil.rrule import rrule, rruleset

_DAYS = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
_SHORT = re.compile(r"^(?P<freq>daily|weekly|monthly)(?::(?P<on>[a-z0-9,]+))?@(?P<times>[0-9:,]+)$")


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


def parse_rule(text: str, dtstart: datetime | None = None) -> rrule | rruleset:
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


# ---- occurrences and their windows -----------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One scheduled occurrence: `due` is when it is due, [start, end) when doing it counts.
    All three are aware datetimes in the site's zone."""

    due: datetime
    start: datetime
    end: datetime


def zone_of(tz: str | None) -> tzinfo:
    from zoneinfo import ZoneInfo

    if tz:
        return ZoneInfo(tz)
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def _aware(naive: datetime, zone: tzinfo) -> datetime:
    """Wall-clock time → aware. A time in a spring-forward gap moves forward by the gap
    (02:30 → 03:30); an ambiguous autumn time is the first of the two (fold 0)."""
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def _hhmm(text: str) -> time:
    hh, mm = text.split(":")
    return time(int(hh), int(mm))


_STEP = {
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
}


def _start_near(rule: str, start: datetime, lo: datetime) -> datetime:
    """A later start for `rule` with the same occurrences from `lo` on: `start` moved by
    whole periods (FREQ × INTERVAL), so dateutil does not walk a year of a daily rule to
    reach this week. Rules whose set depends on where they start (COUNT) keep `start`, and
    so do months and years from a 29th-31st (a month later is not the same day)."""
    parts = dict(
        p.split("=", 1)
        for p in expand_shortcut(rule).upper().removeprefix("RRULE:").split(";")
        if "=" in p
    )
    freq, interval = parts.get("FREQ", ""), parts.get("INTERVAL", "1")
    if "COUNT" in parts or not interval.isdigit() or int(interval) < 1 or lo <= start:
        return start
    n = int(interval)
    if freq in _STEP:
        period = _STEP[freq] * n
        return start + period * max(0, (lo - start) // period - 1)
    if freq in ("MONTHLY", "YEARLY") and start.day <= 28:
        months = n * (12 if freq == "YEARLY" else 1)
        elapsed = (lo.year - start.year) * 12 + lo.month - start.month
        k = max(0, elapsed // months - 1)
        total = start.month - 1 + k * months
        return start.replace(year=start.year + total // 12, month=total % 12 + 1)
    return start


def windows(
    rule: str,
    tz: str | None,
    *,
    anchor: date,
    since: datetime,
    until: datetime,
    window: tuple[str, str] | None = None,
) -> list[Window]:
    """The occurrences of `rule` (wall-clock times in zone `tz`, counted from local midnight
    of `anchor`) whose windows overlap [since, until).

    With a shift window `HH:MM-HH:MM` (past midnight allowed, e.g. 22:00-02:00) an
    occurrence's window is the first shift that has not ended by the occurrence; it is due
    at the later of the two. Without one, the window runs from the occurrence to the next
    occurrence, at most one day. Occurrences sharing a shift count once."""
    zone = zone_of(tz)
    lo = since.astimezone(zone).replace(tzinfo=None) - timedelta(days=2)
    hi = until.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    rr = parse_rule(rule, dtstart=_start_near(rule, datetime.combine(anchor, time(0)), lo))
    times = rr.between(max(lo, datetime.combine(anchor, time(0))), hi, inc=True)
    nxt = rr.after(times[-1]) if times else None
    out: list[Window] = []
    seen: set[datetime] = set()
    for i, occ in enumerate(times):
        if window:
            ws, we = _hhmm(window[0]), _hhmm(window[1])
            for day in (occ.date() - timedelta(days=1), occ.date(), occ.date() + timedelta(1)):
                s = datetime.combine(day, ws)
                e = datetime.combine(day if we > ws else day + timedelta(days=1), we)
                if e > occ:
                    break
            due = max(occ, s)
        else:
            following = times[i + 1] if i + 1 < len(times) else nxt
            s, due = occ, occ
            e = min(following, occ + timedelta(days=1)) if following else occ + timedelta(1)
        w = Window(_aware(due, zone), _aware(s, zone), _aware(e, zone))
        if w.start in seen or w.end <= since or w.start >= until:
            continue
        seen.add(w.start)
        out.append(w)
    return out
