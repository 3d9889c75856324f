"""The window arithmetic of scheduled occurrences: shifts past midnight, DST nights, gaps
and repeated hours, windows until the next occurrence, shared shifts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pm_cli.recurrence import windows

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

BERLIN = ZoneInfo("Europe/Berlin")
SH = ZoneInfo("Asia/Shanghai")


def span(tz: ZoneInfo, a: tuple[int, ...], b: tuple[int, ...]) -> dict[str, datetime]:
    return {"since": datetime(*a, tzinfo=tz), "until": datetime(*b, tzinfo=tz)}


def hours(w) -> float:  # real elapsed hours, whatever the wall clock did
    return (w.end.astimezone(UTC) - w.start.astimezone(UTC)).total_seconds() / 3600


def test_a_night_shift_runs_past_midnight_into_the_next_day():
    ws = windows(
        "FREQ=DAILY;BYHOUR=21;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 1, 1),
        window=("20:00", "02:00"),
        **span(SH, (2026, 6, 10), (2026, 6, 11)),
    )
    w = next(w for w in ws if w.due.date() == date(2026, 6, 10))
    assert (w.start, w.due, w.end) == (
        datetime(2026, 6, 10, 20, tzinfo=SH),
        datetime(2026, 6, 10, 21, tzinfo=SH),
        datetime(2026, 6, 11, 2, tzinfo=SH),
    )


def test_an_occurrence_after_midnight_belongs_to_the_shift_that_began_the_evening_before():
    ws = windows(
        "FREQ=DAILY;BYHOUR=1;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 1, 1),
        window=("22:00", "02:00"),
        **span(SH, (2026, 6, 10), (2026, 6, 11)),
    )
    w = next(w for w in ws if w.due == datetime(2026, 6, 10, 1, tzinfo=SH))
    assert w.start == datetime(2026, 6, 9, 22, tzinfo=SH)
    assert w.end == datetime(2026, 6, 10, 2, tzinfo=SH)


def test_an_occurrence_before_its_shift_is_due_when_the_shift_starts():
    ws = windows(
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 1, 1),
        window=("20:00", "02:00"),
        **span(SH, (2026, 6, 10), (2026, 6, 11)),
    )
    w = next(w for w in ws if w.start.date() == date(2026, 6, 10))
    assert w.due == w.start == datetime(2026, 6, 10, 20, tzinfo=SH)


def test_the_spring_forward_night_shift_is_an_hour_shorter_and_autumn_an_hour_longer():
    rule = "FREQ=DAILY;BYHOUR=21;BYMINUTE=0"
    spring = windows(
        rule,
        "Europe/Berlin",
        anchor=date(2026, 1, 1),
        window=("20:00", "06:00"),
        **span(BERLIN, (2026, 3, 27), (2026, 3, 31)),
    )
    autumn = windows(
        rule,
        "Europe/Berlin",
        anchor=date(2026, 1, 1),
        window=("20:00", "06:00"),
        **span(BERLIN, (2026, 10, 23), (2026, 10, 27)),
    )
    by_day = {w.start.date(): hours(w) for w in spring + autumn}
    assert by_day[date(2026, 3, 27)] == 10
    assert by_day[date(2026, 3, 28)] == 9  # clocks go 02:00 → 03:00 that night
    assert by_day[date(2026, 10, 24)] == 11  # 03:00 → 02:00
    assert by_day[date(2026, 10, 25)] == 10
    # the wall-clock start stays 20:00 on both sides of each change
    assert {(w.start.hour, w.start.minute) for w in spring + autumn} == {(20, 0)}


def test_a_time_in_the_spring_gap_moves_forward_and_a_repeated_hour_is_taken_once():
    gap = windows(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
        "Europe/Berlin",
        anchor=date(2026, 1, 1),
        **span(BERLIN, (2026, 3, 29), (2026, 3, 30)),
    )
    day = [w for w in gap if w.due.date() == date(2026, 3, 29)]
    assert [(w.due.hour, w.due.minute) for w in day] == [(3, 30)]  # 02:30 does not exist
    fall = windows(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
        "Europe/Berlin",
        anchor=date(2026, 1, 1),
        **span(BERLIN, (2026, 10, 25), (2026, 10, 26)),
    )
    day = [w for w in fall if w.due.date() == date(2026, 10, 25)]
    assert len(day) == 1 and day[0].due.utcoffset() == timedelta(hours=2)  # the first 02:30


def test_without_a_window_an_occurrence_lasts_until_the_next_one_at_most_a_day():
    ws = windows(
        "FREQ=DAILY;BYHOUR=8,14;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 1, 1),
        **span(SH, (2026, 6, 10), (2026, 6, 11)),
    )
    today = [w for w in ws if w.start.date() == date(2026, 6, 10)]
    assert [(w.start.hour, w.end.hour, w.end.day) for w in today] == [(8, 14, 10), (14, 8, 11)]
    weekly = windows(
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 1, 1),
        **span(SH, (2026, 6, 8), (2026, 6, 9)),
    )
    assert [hours(w) for w in weekly] == [24]


def test_occurrences_that_share_a_shift_count_once():
    ws = windows(
        "FREQ=DAILY;BYHOUR=8,9;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 1, 1),
        window=("08:00", "10:00"),
        **span(SH, (2026, 6, 10), (2026, 6, 11)),
    )
    assert [w.start for w in ws] == [datetime(2026, 6, 10, 8, tzinfo=SH)]


def test_only_windows_overlapping_the_span_and_counted_from_the_anchor():
    ws = windows(
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
        "Asia/Shanghai",
        anchor=date(2026, 6, 9),
        **span(SH, (2026, 6, 1), (2026, 6, 12)),
    )
    assert [w.start.day for w in ws] == [9, 10, 11]
