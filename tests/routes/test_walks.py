"""Walks as scripts and site managers see them: the scripted walk, listing and abandoning
walks, the stop checklist of a whole-route playbook, the shift-window warning."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"
SH = ZoneInfo("Asia/Shanghai")  # the site's zone (tests/conftest.py: site CH)


@pytest.fixture
def gates(pm, site):
    pm("grid", "add", "W", "--name", "大门 Gates")
    for i, code in enumerate(("C1", "C2", "C3"), 1):
        pm(
            "checkpoint",
            "add",
            code,
            "--name",
            f"门 {code}",
            "--grid",
            "W",
            "--tag-uid",
            f"NFC-{i:02d}",
        )
    pm("playbook", "import", str(FIXTURE / "test.gate-check.yaml"))


def test_walks_are_listed_and_an_abandoned_one_is_kept_in_history(pm, gates, monkeypatch):
    pm(
        "route",
        "add",
        "R",
        "--name",
        "门岗 Gates",
        "--stops",
        "C1,C2,C3",
        "--playbook",
        "test.gate-check",
    )
    walk = pm.json("route", "start", "R", "--by", "S1")["walk"]
    run = pm.json("route", "arrive", walk, "NFC-01")["run"]  # a stop by its tag
    pm("run", "record", run, "door", "pass")
    listed = pm.json("route", "walks", "--open", "R")
    assert [
        (w["walk"], w["route"], w["by"], w["status"], w["done"], w["stops"]) for w in listed
    ] == [(walk, "R", "S1", "open", 0, 3)]
    assert listed[0]["started_at"].endswith("Z")

    r = pm("route", "abandon", walk, ok=False)
    assert r.exit_code == 2 and "--reason" in r.output
    rec = pm.json("route", "abandon", walk, "--reason", "警情 called away")
    assert (rec["status"], rec["reason"]) == ("abandoned", "警情 called away")
    assert pm.json("run", "show", run)["status"] == "aborted"
    assert pm.json("route", "walks", "--open") == []
    assert [w["status"] for w in pm.json("route", "walks")] == ["abandoned"]
    monkeypatch.setenv("COLUMNS", "50")
    assert walk in pm("route", "walks").stdout  # an id is never cut, however narrow
    monkeypatch.setenv("COLUMNS", "160")
    text = pm("route", "walks").stdout
    assert walk in text and "abandoned (警情 called away)" in text and "1/3" in text
    r = pm("route", "abandon", walk, "--reason", "again", ok=False)
    assert r.exit_code == 1 and "only an open walk" in r.stderr
    r = pm("route", "arrive", walk, "2", ok=False)
    assert r.exit_code == 1 and "abandoned" in r.stderr


def test_an_abandoned_walk_counts_as_missed(pm, gates, scope):
    from pm_cli.routes import service as routes
    from pm_cli.routes import walks
    from pm_cli.schedules import service
    from pm_cli.sites.service import get_site
    from pm_cli.staff.service import get_staff
    from pm_cli.store.ids import utc_text

    day = datetime(2026, 6, 1, tzinfo=SH)
    with scope() as s:
        site = get_site(s, "CH")
        routes.add_route(
            s,
            site=site,
            code="R",
            name="门岗",
            stops=["C1", "C2"],
            schedule="daily@09:00",
            window="09:00-11:00",
            created_at=utc_text(day),
        )
        w, _ = walks.start(
            s,
            site=site,
            code="R",
            by=get_staff(s, site=site, code="S1"),
            at=day + timedelta(hours=9, minutes=5),
        )
        walks.arrive(s, site=site, walk=w, stop=0, at=day + timedelta(hours=9, minutes=6))
        walks.abandon(s, walk=w, reason="停电 power cut", at=day + timedelta(hours=9, minutes=20))
    with scope(write=False) as s:
        rows = service.missed(
            s, site=get_site(s, "CH"), since="2026-06-01", now=day + timedelta(hours=12)
        )
    assert [(r["code"], r["detail"]) for r in rows] == [("R", "abandoned: 停电 power cut")]


def test_a_whole_route_playbook_is_done_once_per_walk_not_at_every_stop(pm, gates):
    pm(
        "route",
        "add",
        "P",
        "--name",
        "巡更 Patrol",
        "--stops",
        "C1,C2,C3",
        "--playbook",
        "security.patrol",
    )
    walk = pm.json("route", "start", "P", "--by", "S1")["walk"]
    firsts = [pm.json("route", "arrive", walk, str(i)) for i in (1, 2)]
    assert [(a["checklist"], a["run"]) for a in firsts] == [(None, None), (None, None)]
    last = pm.json("route", "arrive", walk, "C3")
    assert last["checklist"] == "security.patrol" and last["run"]
    pm("run", "record", last["run"], "patrol-route", "--value", "0")
    pm("run", "record", last["run"], "fire-points", "pass")
    pm("run", "record", last["run"], "e-bikes", "pass")
    rec = pm.json("route", "finish", walk)
    assert rec["status"] == "finished" and rec["visited"] == 3
    assert pm.json("run", "show", last["run"])["status"] == "finished"  # finished on the way


def test_scripted_stops_by_number_code_or_tag_and_their_refusals(pm, gates):
    pm(
        "route",
        "add",
        "R",
        "--name",
        "门岗 Gates",
        "--stops",
        "C1,C2",
        "--playbook",
        "test.gate-check",
    )
    walk = pm.json("route", "start", "R", "--by", "S1", "--at", "2026-06-01 09:05")["walk"]
    assert pm.json("route", "walks")[0]["started_at"] == "2026-06-01T01:05:00.000Z"
    a = pm.json("route", "arrive", walk, "c1", "--at", "2026-06-01 09:06")
    assert a["arrived_at"] == "2026-06-01T01:06:00.000Z" and a["stop"] == 1
    for ref, msg in (("3", "has 2 stops, not 3"), ("ZZ", "ZZ is not a stop of route R")):
        r = pm("route", "arrive", walk, ref, ok=False)
        assert r.exit_code == 1 and msg in r.stderr, r.stderr
    r = pm("route", "finish", walk, ok=False)
    assert r.exit_code == 1 and "not done" in r.stderr
    r = pm("route", "arrive", "nosuchwalk", "1", ok=False)
    assert r.exit_code == 3


@pytest.mark.clock
def test_starting_outside_the_shift_window_warns_in_site_time(pm, gates):
    now = datetime.now(SH)

    def window(a: int, b: int) -> str:
        return f"{(now + timedelta(hours=a)):%H:00}-{(now + timedelta(hours=b)):%H:00}"

    pm("route", "add", "LATER", "--name", "x", "--stops", "C1", "--window", window(2, 4))
    pm("route", "add", "NOW", "--name", "x", "--stops", "C1", "--window", window(-1, 2))
    r = pm("route", "start", "LATER", "--by", "S1")
    assert (
        f"warning: route LATER's shift window is {window(2, 4).replace('-', '–')} "
        "(site time)" in r.stderr
    )
    assert "shift window" not in pm("route", "start", "NOW", "--by", "S1").stderr
