"""The one parser of typed dates and times (pm_cli.dates): the same forms everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pm_cli import dates
from pm_cli.errors import UsageError

pytestmark = pytest.mark.clock  # "today" is the site's today at whatever hour this runs

SH = "Asia/Shanghai"


def site_today() -> date:
    return datetime.now(ZoneInfo(SH)).date()


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("today", 0),
        ("yesterday", -1),
        ("tomorrow", 1),
        ("-3", -3),
        ("+2", 2),
        ("-7d", -7),
        ("昨天", -1),
    ],
)
def test_relative_days_count_from_the_sites_today(text: str, days: int) -> None:
    assert dates.day(text, SH) == site_today() + timedelta(days=days)


def test_iso_forms_and_the_sites_zone() -> None:
    assert dates.day("2026-11-05", SH) == date(2026, 11, 5)
    assert dates.instant("2026-11-05 03:00", SH) == datetime(2026, 11, 4, 19, 0, tzinfo=UTC)
    assert dates.instant("2026-11-05T03:00Z", SH) == datetime(2026, 11, 5, 3, 0, tzinfo=UTC)
    assert dates.instant("2026-11-05 03:00+01:00", SH) == datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    # a bare day is its start, or its last millisecond for an end
    assert dates.instant("2026-11-05", SH) == datetime(2026, 11, 4, 16, 0, tzinfo=UTC)
    assert dates.instant("2026-11-05", SH, end=True) == datetime(
        2026, 11, 5, 15, 59, 59, 999000, tzinfo=UTC
    )
    # a time of day is on the day asked for (a drill's T0), in the site's zone
    t0 = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert dates.instant("14:05", SH, day_of=t0) == datetime(2026, 3, 1, 6, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "01-11-2026",
        "11/01/2026",
        "3 dec",
        "Dec 3",
        "2026-13-01",
        "25:00",
        "2026-12-02T",
        "soon",
        "+",
    ],
)
def test_guesses_are_refused_with_the_forms(text: str) -> None:
    with pytest.raises(UsageError) as e:
        dates.instant(text, SH, where="--from")
    assert e.value.where == "--from" and "yesterday" in (e.value.hint or "")
    with pytest.raises(UsageError):
        dates.day(text, SH)


def test_a_day_option_refuses_a_time() -> None:
    with pytest.raises(UsageError, match="takes a day, not a time"):
        dates.day("2026-12-02 14:00", SH, where="--date")
