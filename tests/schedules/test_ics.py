"""`pm schedule export --ics`: parsed back, every schedule is there with its RRULE as stored,
in the site's zone with a VTIMEZONE, and expands to the same times pm expects on site."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from pm_cli.recurrence import windows

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(pm, site):
    pm("site", "add", "BE", "--name", "柏林办公室 Berlin office", "--tz", "Europe/Berlin")

    def be(*args: str, ok: bool = True):
        return pm("--site", "BE", *args, ok=ok)

    be("staff", "add", "L1", "--name", "王磊", "--role", "lead")
    be("staff", "add", "L2", "--name", "Anna Schmidt", "--role", "lead")
    be("grid", "add", "G", "--name", "大堂 Lobby")
    be("checkpoint", "add", "C1", "--name", "前门 Front door", "--grid", "G")
    be("checkpoint", "add", "C2", "--name", "后门 Back door", "--grid", "G")
    be(
        "route",
        "add",
        "NIGHT",
        "--name",
        "夜巡 Night round",
        "--stops",
        "C1,C2",
        "--schedule",
        "daily@21:00",
        "--window",
        "20:00-02:00",
        "--owner",
        "L1",
    )
    be(
        "route",
        "add",
        "EARLY",
        "--name",
        "早巡 Early round",
        "--stops",
        "C2,C1",
        "--schedule",
        "weekly:mon,thu@07:30",
        "--owner",
        "L2",
    )
    be("drill", "plan", "F1", "--scenario", "fire", "--schedule", "monthly:1@10:00")
    be(
        "risk",
        "add",
        "R1",
        "--title",
        "大堂地滑 Slippery lobby",
        "-l",
        "3",
        "-i",
        "3",
        "--owner",
        "L1",
    )
    return be


def events(path: Path) -> dict[str, object]:
    cal = Calendar.from_ical(path.read_bytes())
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


def test_round_trip_keeps_rrules_zone_and_dst(berlin, tmp_path):
    out = tmp_path / "be.ics"
    res = berlin("schedule", "export", "--ics", str(out), "--json")
    assert '"events": 4' in res.output
    raw = out.read_bytes().decode("utf-8")
    assert "RRULE:FREQ=DAILY;BYHOUR=21;BYMINUTE=0\r\n" in raw  # as stored, not reordered
    assert "RRULE:FREQ=WEEKLY;BYHOUR=7;BYMINUTE=30;BYDAY=MO,TH\r\n" in raw
    cal = Calendar.from_ical(out.read_bytes())
    tzs = {str(t["TZID"]): t for t in cal.walk("VTIMEZONE")}
    assert set(tzs) == {"Europe/Berlin"}
    assert {c.name for c in tzs["Europe/Berlin"].subcomponents} == {"STANDARD", "DAYLIGHT"}

    evs = events(out)
    night = evs["NIGHT 夜巡 Night round"]
    start = night["DTSTART"].dt
    assert start.tzinfo is not None and str(night["DTSTART"].params["TZID"]) == "Europe/Berlin"
    assert night["DTEND"].dt - start == timedelta(hours=5)  # 21:00 → end of shift
    assert "C1 前门 Front door" in str(night["DESCRIPTION"])

    # a calendar app's expansion (RRULE from DTSTART, wall clock in the zone) across the
    # spring change equals the occurrences pm counts walks against
    rule = night["RRULE"].to_ical().decode()
    naive = rrulestr(rule, dtstart=start.replace(tzinfo=None))
    lo, hi = datetime(2027, 3, 24), datetime(2027, 4, 1)  # clocks change on 03-28
    app = [d.replace(tzinfo=BERLIN) for d in naive.between(lo, hi, inc=True)]
    ours = [
        w.due
        for w in windows(
            "FREQ=DAILY;BYHOUR=21;BYMINUTE=0",
            "Europe/Berlin",
            anchor=start.date(),
            window=("20:00", "02:00"),
            since=lo.replace(tzinfo=BERLIN),
            until=hi.replace(tzinfo=BERLIN),
        )
    ]
    assert [d.isoformat() for d in app] == [
        d.isoformat() for d in ours if lo <= d.replace(tzinfo=None) <= hi
    ]
    assert {d.utcoffset() for d in app} == {timedelta(hours=1), timedelta(hours=2)}
    assert {(d.hour, d.minute) for d in app} == {(21, 0)}

    drill = next(e for k, e in evs.items() if "(F1)" in k)
    assert drill["RRULE"].to_ical().decode() == "FREQ=MONTHLY;BYMINUTE=0;BYHOUR=10;BYMONTHDAY=1"
    assert drill["DTSTART"].dt.day == 1 and drill["DTSTART"].dt.hour == 10
    review = next(e for k, e in evs.items() if k.startswith("Risk review R1"))
    assert "FREQ=" in review["RRULE"].to_ical().decode()
    assert [str(c) for c in night["CATEGORIES"].cats] == ["route"]


def test_by_person_keeps_their_routes_and_risks(berlin, tmp_path):
    out = tmp_path / "l2.ics"
    berlin("schedule", "export", "--ics", str(out), "--by", "L2")
    names = set(events(out))
    assert "EARLY 早巡 Early round" in names and "NIGHT 夜巡 Night round" not in names
    assert not any(n.startswith("Risk review") for n in names)  # R1 is L1's
    assert any("(F1)" in n for n in names)  # drills are the whole site's


def test_export_refuses_a_missing_folder_and_leaves_nothing(berlin, tmp_path):
    r = berlin("schedule", "export", "--ics", str(tmp_path / "no" / "x.ics"), ok=False)
    assert r.exit_code != 0 and "no folder" in r.output
    assert not (tmp_path / "no").exists()


def test_a_site_without_a_zone_writes_floating_local_times(pm, site, tmp_path):
    pm("site", "add", "XX", "--name", "无时区 No zone")
    pm("--site", "XX", "grid", "add", "G", "--name", "G")
    pm("--site", "XX", "checkpoint", "add", "C1", "--name", "门 Door", "--grid", "G")
    pm(
        "--site",
        "XX",
        "route",
        "add",
        "R",
        "--name",
        "巡 Round",
        "--stops",
        "C1",
        "--schedule",
        "daily@08:00",
    )
    out = tmp_path / "xx.ics"
    pm("--site", "XX", "schedule", "export", "--ics", str(out))
    cal = Calendar.from_ical(out.read_bytes())
    ev = next(iter(cal.walk("VEVENT")))
    assert ev["DTSTART"].dt.tzinfo is None and ev["DTSTART"].dt.hour == 8
    assert not cal.walk("VTIMEZONE")
    assert ev["DTSTART"].dt.date() == date.today() or ev[
        "DTSTART"
    ].dt.date() >= date.today() - timedelta(days=1)


def test_a_long_route_lists_its_first_stops_then_how_many_more(berlin, tmp_path):
    from pm_cli.schedules.calendar import LISTED_STOPS

    n = LISTED_STOPS + 5
    for i in range(n):
        berlin("checkpoint", "add", f"P{i:02d}", "--name", f"车位 Bay {i}", "--grid", "G")
    berlin(
        "route",
        "add",
        "LONG",
        "--name",
        "车库巡检 Garage round",
        "--stops",
        ",".join(f"P{i:02d}" for i in range(n)),
        "--schedule",
        "daily@09:00",
    )
    out = tmp_path / "be.ics"
    berlin("schedule", "export", "--ics", str(out))
    text = str(events(out)["LONG 车库巡检 Garage round"]["DESCRIPTION"])
    assert f"{LISTED_STOPS}. P{LISTED_STOPS - 1:02d} 车位 Bay {LISTED_STOPS - 1}" in text
    assert f"P{LISTED_STOPS:02d}" not in text
    assert text.endswith("… 5 more stops: pm route show LONG")
