"""The shift handover on the hand-built November site, and which shift "now" is."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants


def test_a_day_shift_hands_over_what_it_did_found_opened_and_closed(pm, built):
    rep = json.loads(
        pm("report", "daily", "--date", "2026-11-03", "--shift", "day", "--json").stdout
    )
    assert (rep["shift"], rep["from"], rep["to"]) == (
        "day",
        "2026-11-03T00:00:00.000Z",
        "2026-11-03T12:00:00.000Z",
    )  # 08:00–20:00 CST
    assert [(d["playbook"], d["failed"]) for d in rep["done"]] == [("test.weights", 1)]
    assert [f["step"] for f in rep["failures"]] == ["乙 B"]
    assert [(w["route"], w["status"]) for w in rep["walks"]] == [("R1", "finished")]
    assert [i["title"] for i in rep["opened"]] == ["乙 B"]
    assert [i["title"] for i in rep["closed"]] == ["甲 A"]
    open_titles = {i["title"] for i in rep["open"]}
    assert "乙 B" in open_titles and "丙 C" not in open_titles  # C is found on 7 November
    assert rep["next"]["from"] == rep["to"] and rep["next"]["to"] == "2026-11-04T00:00:00.000Z"
    md = pm("report", "daily", "--date", "2026-11-03", "--shift", "day", "--md").stdout
    assert md.startswith("# handover of CH, day: 2026-11-03 08:00")
    assert "## failures found (1)" in md and "| 乙 B |" in md


def test_a_night_shift_runs_past_midnight(pm, built):
    rep = json.loads(
        pm("report", "daily", "--date", "2026-11-03", "--shift", "night", "--json").stdout
    )
    assert (rep["from"], rep["to"]) == ("2026-11-03T12:00:00.000Z", "2026-11-04T00:00:00.000Z")
    assert rep["done"] == [] and rep["failures"] == []
    rep = json.loads(
        pm("report", "daily", "--date", "2026-11-04", "--shift", "07:30-19:30", "--json").stdout
    )
    assert (rep["from"], rep["to"]) == ("2026-11-03T23:30:00.000Z", "2026-11-04T11:30:00.000Z")
    assert [i["title"] for i in rep["opened"]] == ["戊 E 投诉"]  # found 09:00; D withdrawn


def test_a_bad_shift_is_refused(pm, site):
    for bad in ("evening", "25:00-03:00", "08:00-08:00"):
        r = pm("report", "daily", "--shift", bad, ok=False)
        assert r.exit_code == 2 and "day (08:00-20:00)" in r.stderr, bad


@pytest.mark.parametrize(
    ("utc", "shift", "start"),
    [
        ("2026-12-04T19:00:00+00:00", "night", "2026-12-04T12:00:00+00:00"),  # 03:00 CST: the
        ("2026-12-05T01:00:00+00:00", "day", "2026-12-05T00:00:00+00:00"),  # night of the 4th
        ("2026-12-05T11:59:00+00:00", "day", "2026-12-05T00:00:00+00:00"),
        ("2026-12-05T12:00:00+00:00", "night", "2026-12-05T12:00:00+00:00"),
    ],
)
def test_without_a_date_the_shift_under_way_is_reported(utc, shift, start):
    from pm_cli.reports.daily import span
    from pm_cli.sites.models import Site

    site = Site(id="x", code="CH", name="翠湖", tz="Asia/Shanghai", created_at="", updated_hlc="")
    name, lo, hi = span(site, None, None, datetime.fromisoformat(utc))
    assert name == shift and lo == datetime.fromisoformat(start).astimezone(UTC)
    assert (hi - lo).total_seconds() == 12 * 3600
