"""Walks, missed inspections and `pm today`: services for the rules (a fixed clock), the CLI
for what a shift lead sees (the real clock, data placed relative to it)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pm_cli.routes import service as routes
from pm_cli.routes import walks
from pm_cli.runs import service as runs
from pm_cli.schedules import service
from pm_cli.store.ids import utc_text

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

SH = ZoneInfo("Asia/Shanghai")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"


@pytest.fixture
def db(pm, site):
    """Site CH (Asia/Shanghai): grid W, checkpoints C1 and C2, the gate-check playbook."""
    pm("grid", "add", "W", "--name", "大门 Gates", "--owner", "S1")
    pm(
        "checkpoint",
        "add",
        "C1",
        "--name",
        "北门 North gate",
        "--grid",
        "W",
        "--x",
        "0",
        "--y",
        "0",
    )
    pm(
        "checkpoint",
        "add",
        "C2",
        "--name",
        "南门 South gate",
        "--grid",
        "W",
        "--x",
        "30",
        "--y",
        "40",
    )
    pm("playbook", "import", str(FIXTURE / "test.gate-check.yaml"))
    return Path(os.environ["PM_DB"])


@pytest.fixture
def scope(scope, db):  # the shared session fixture, after this module's set-up
    return scope


def site_of(s):
    from pm_cli.sites.service import get_site

    return get_site(s, "CH")


def add_route(
    scope,
    code: str,
    created: datetime,
    schedule: str = "daily@09:00",
    window: str | None = "09:00-11:00",
    owner: str | None = None,
) -> None:
    with scope() as s:
        routes.add_route(
            s,
            site=site_of(s),
            code=code,
            name=f"路线 {code}",
            stops=["C1", "C2"],
            playbook="test.gate-check",
            schedule=schedule,
            window=window,
            owner=owner,
            created_at=utc_text(created),
        )


def walk(
    scope,
    code: str,
    at: datetime,
    *,
    stops: int = 2,
    skip: str | None = None,
    finish: bool = True,
    by: str = "S1",
) -> None:
    """Walk `stops` stops from `at` (5 minutes apart), answering every step pass; skip the
    rest with the reason `skip`; finish the walk when asked."""
    from pm_cli.staff.service import get_staff

    with scope() as s:
        site = site_of(s)
        w, _ = walks.start(s, site=site, code=code, by=get_staff(s, site=site, code=by), at=at)
        for i in range(2):
            t = at + timedelta(minutes=5 * (i + 1))
            if i >= stops:
                if skip:
                    walks.skip(s, site=site, walk=w, stop=i, reason=skip, at=t)
                continue
            st = walks.arrive(s, site=site, walk=w, stop=i, at=t)
            s.flush()
            for step in ("door", "log"):
                runs.record(
                    s,
                    site=site,
                    run=st.run,
                    store_dir=Path("/nonexistent"),
                    answer=runs.Answer(step=step, outcome="pass"),
                )
            runs.finish(s, run=st.run, at=utc_text(t + timedelta(minutes=2)))
        if finish:
            walks.finish(s, walk=w, at=at + timedelta(minutes=20))


def statuses(scope, day: str, now: datetime) -> dict[str, tuple[str, str | None]]:
    with scope(write=False) as s:
        rec = service.today(s, site=site_of(s), day=day, now=now)
    return {o["code"]: (o["status"], o["detail"]) for o in rec["due"] if o["kind"] == "route"}


def test_each_occurrence_is_done_missed_in_progress_to_do_or_upcoming(scope):
    add_route(scope, "DAY", datetime(2026, 6, 1, tzinfo=SH))
    walk(scope, "DAY", datetime(2026, 6, 1, 9, 5, tzinfo=SH))
    walk(scope, "DAY", datetime(2026, 6, 3, 9, 10, tzinfo=SH), stops=1, finish=False)
    add_route(scope, "NIGHT", datetime(2026, 6, 3, tzinfo=SH), "daily@21:00", "21:00-23:00")
    add_route(scope, "MORNING", datetime(2026, 6, 3, tzinfo=SH), "daily@08:00", "08:00-12:00")
    now = datetime(2026, 6, 3, 9, 40, tzinfo=SH)

    assert statuses(scope, "2026-06-01", now) == {"DAY": ("done", None)}
    assert statuses(scope, "2026-06-02", now) == {"DAY": ("missed", "no walk")}
    assert statuses(scope, "2026-06-03", now) == {
        "DAY": ("in progress", "1/2 stops"),
        "NIGHT": ("upcoming", None),
        "MORNING": ("to do", None),
    }
    with scope(write=False) as s:
        rec = service.today(s, site=site_of(s), day="2026-06-03", now=now)
    assert [(o["code"], o["due"]) for o in rec["missed_earlier"]] == [
        ("DAY", "2026-06-02T01:00:00.000Z")
    ]  # 09:00 in Shanghai
    assert rec["counts"] == {"in progress": 1, "to do": 1, "upcoming": 1}


def test_an_item_due_just_after_midnight_is_on_the_late_shifts_today(scope):
    from pm_cli.pdca import service as pdca

    late = datetime(2026, 6, 3, 23, 40, tzinfo=SH)
    with scope() as s:
        pdca.add_item(
            s, site=site_of(s), title="北门门禁失灵 North door fails", severity="critical", now=late
        )  # respond by 00:40 on the 4th
        pdca.add_item(
            s,
            site=site_of(s),
            title="路灯 Lamp out",
            severity="minor",
            now=datetime(2026, 6, 3, 9, 0, tzinfo=SH),
        )

    def titles(day: str, now: datetime) -> list[str]:
        with scope(write=False) as s:
            rec = service.today(s, site=site_of(s), day=day, now=now)
        return sorted(i["title"] for i in rec["items"])

    assert "北门门禁失灵 North door fails" in titles("2026-06-03", late)
    # looking back at another day: that day's deadlines only
    assert "北门门禁失灵 North door fails" not in titles("2026-06-02", late)


def test_a_walk_outside_the_window_or_cut_short_does_not_count(scope):
    add_route(scope, "DAY", datetime(2026, 6, 1, tzinfo=SH))
    walk(scope, "DAY", datetime(2026, 6, 1, 11, 30, tzinfo=SH))  # after the shift
    walk(scope, "DAY", datetime(2026, 6, 2, 8, 50, tzinfo=SH))  # before it
    walk(scope, "DAY", datetime(2026, 6, 3, 9, 0, tzinfo=SH), stops=1, skip="门锁 locked")
    walk(scope, "DAY", datetime(2026, 6, 4, 10, 59, tzinfo=SH))  # the last minute counts
    with scope(write=False) as s:
        rows = service.missed(
            s, site=site_of(s), since="2026-06-01", now=datetime(2026, 6, 5, 12, tzinfo=SH)
        )
    assert [(r["due"][:10], r["detail"]) for r in rows] == [
        ("2026-06-01", "no walk"),
        ("2026-06-02", "no walk"),
        ("2026-06-03", "incomplete: skipped C2 (门锁 locked)"),
        ("2026-06-05", "no walk"),
    ]


def test_nothing_is_missed_before_the_route_existed_or_before_its_window_ends(scope):
    add_route(scope, "DAY", datetime(2026, 6, 3, 10, tzinfo=SH))  # during the 06-03 shift
    with scope(write=False) as s:
        site = site_of(s)
        at_1030 = service.missed(
            s, site=site, since="2026-06-01", now=datetime(2026, 6, 4, 10, 30, tzinfo=SH)
        )
        at_1100 = service.missed(
            s, site=site, since="2026-06-01", now=datetime(2026, 6, 4, 11, 0, tzinfo=SH)
        )
    assert [r["due"][:10] for r in at_1030] == ["2026-06-03"]  # 06-04's shift not over
    assert [r["due"][:10] for r in at_1100] == ["2026-06-03", "2026-06-04"]


def test_a_night_route_is_missed_on_the_day_its_shift_began(scope):
    add_route(scope, "NIGHT", datetime(2026, 6, 1, tzinfo=SH), "daily@22:00", "22:00-02:00")
    walk(scope, "NIGHT", datetime(2026, 6, 2, 1, 30, tzinfo=SH))  # the 06-01 shift, after 0:00
    with scope(write=False) as s:
        rows = service.missed(
            s, site=site_of(s), since="2026-06-01", now=datetime(2026, 6, 3, 3, tzinfo=SH)
        )
    assert [(r["due"], r["window_end"]) for r in rows] == [
        ("2026-06-02T14:00:00.000Z", "2026-06-02T18:00:00.000Z")
    ]  # 06-02 22:00 → 02:00


# ---- through the CLI, on the real clock ------------------------------------------------


def local_midnight(days_ago: int) -> datetime:
    today = datetime.now(SH).date()
    return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), SH)


def test_route_missed_lists_the_days_without_a_completed_walk(pm, scope):
    add_route(scope, "DAY", local_midnight(3))
    walk(scope, "DAY", local_midnight(2) + timedelta(hours=9, minutes=5))
    walk(scope, "DAY", local_midnight(3) + timedelta(hours=9, minutes=5), stops=1, skip="locked")
    rows = pm.json("route", "missed", "--since", "-3")
    today = datetime.now(SH).date()
    got = {
        (
            today - datetime.fromisoformat(r["due"].replace("Z", "+00:00")).astimezone(SH).date()
        ).days: r["detail"]
        for r in rows
    }
    assert got.get(3) == "incomplete: skipped C2 (locked)"
    assert got.get(1) == "no walk"
    assert 2 not in got
    text = pm("route", "missed", "--since", "-3").output
    assert "incomplete: skipped C2 (locked)" in text and "路线 DAY" in text


def test_today_shows_a_route_missed_all_week_once_with_how_often(pm, scope):
    add_route(scope, "DAY", local_midnight(10))
    walk(scope, "DAY", local_midnight(4) + timedelta(hours=9, minutes=5))
    rec = pm.json("today", "--all")
    missed = [o for o in rec["missed_earlier"] if o["code"] == "DAY"]
    assert len(missed) == 6  # the 7 days before, one of them walked: --json lists each
    text = pm("today", "--all").output
    block = text[text.index("missed in the 7 days before") :]
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in block.splitlines() if "│ DAY " in ln]
    assert len(rows) == 1  # people see one line for the route
    kind, code, name, times, _last, detail = rows[0]
    assert (kind, code, name, times, detail) == ("route", "DAY", "路线 DAY", "6", "no walk")


def test_today_for_a_person_shows_their_routes_and_items_not_others(pm, scope):
    add_route(scope, "MINE", local_midnight(1), "daily@00:00", None, owner="S1")
    add_route(scope, "THEIRS", local_midnight(1), "daily@00:00", None, owner="S2")
    add_route(scope, "ANYONE", local_midnight(1), "daily@00:00", None)
    pm("pdca", "add", "北门门禁失灵 North door fails", "--severity", "critical", "--owner", "S1")
    pm("pdca", "add", "南门登记不全 South log gaps", "--severity", "critical", "--owner", "S2")
    rec = pm.json("today", "--by", "S1")
    assert rec["by"] == "S1" and rec["date"] == datetime.now(SH).date().isoformat()
    assert {o["code"] for o in rec["due"]} == {"MINE", "ANYONE"}
    assert [i["title"] for i in rec["items"]] == ["北门门禁失灵 North door fails"]
    assert rec["items"][0]["state"] == "due"  # respond within the hour: due today
    everyone = pm.json("today", "--all")
    assert {o["code"] for o in everyone["due"]} == {"MINE", "THEIRS", "ANYONE"}
    assert len(everyone["items"]) == 2
    text = pm("today", "--by", "S1").output
    assert "MINE" in text and "THEIRS" not in text and "北门门禁失灵" in text


def test_today_refuses_an_unknown_person_and_a_bad_date(pm, site):
    r = pm("today", "--by", "NOBODY", ok=False)
    assert r.exit_code != 0 and "NOBODY" in r.output
    r = pm("today", "--date", "the day after", ok=False)
    assert r.exit_code != 0 and "--date" in r.output


def test_a_scripted_walk_records_each_stop_in_order(pm, db):
    pm(
        "route",
        "add",
        "R",
        "--name",
        "门岗 Gates",
        "--stops",
        "C2,C1",
        "--playbook",
        "test.gate-check",
    )
    # stop 1: arrive, pass both steps; stop 2: skip it with the reason
    walk = pm.json("route", "start", "R", "--by", "S1")["walk"]
    arrived = pm.json("route", "arrive", walk, "1")
    assert (arrived["checkpoint"], arrived["checklist"]) == ("C2", "test.gate-check")
    for step in ("door", "log"):
        pm("run", "record", arrived["run"], step, "pass")
    pm("route", "skip", walk, "C1", "--reason", "门锁 locked")
    r = pm("route", "finish", walk)
    assert f"walk {walk} incomplete: 1/2 stops visited, 1 skipped" in r.stderr
    con = sqlite3.connect(db)
    try:
        visits = con.execute(
            "SELECT v.stop, c.code, v.kind, v.note, r.status, r.route_id "
            "IS NOT NULL FROM route_visit v JOIN checkpoint c ON "
            "c.id = v.checkpoint_id LEFT JOIN run r ON r.id = v.run_id "
            "ORDER BY v.hlc"
        ).fetchall()
        walk_rows = con.execute("SELECT status, reason FROM route_walk").fetchall()
        run_cp = con.execute(
            "SELECT c.code FROM run r JOIN checkpoint c ON c.id = r.checkpoint_id"
        ).fetchall()
    finally:
        con.close()
    assert visits == [
        (0, "C2", "arrive", None, "finished", 1),
        (1, "C1", "skip", "门锁 locked", None, 0),
    ]
    assert walk_rows == [("incomplete", "skipped C1 (门锁 locked)")]
    assert run_cp == [("C2",)]


def test_route_run_without_a_terminal_or_with_json_is_refused_like_run_resume(pm, db):
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
    for extra in ([], ["--json"]):
        r = pm("route", "run", "R", "--by", "S1", *extra, ok=False, input="\np\n")
        assert r.exit_code == 2, r.output
        if extra:  # --json: the error as one JSON object
            err = json.loads(r.stderr)
            assert err["error"] == "usage" and err["message"].startswith(
                "route run is interactive and needs a terminal"
            )
            assert err["hint"].startswith("script it with pm route start R") and r.stdout == ""
            continue
        assert r.stderr.startswith("error: route run is interactive and needs a terminal")
        assert "hint: script it with pm route start R" in r.stderr and r.stdout == ""
    assert pm.json("route", "walks") == []  # nothing was started
    # the scripted form continues one walk across calls, like running it again would
    first = pm.json("route", "start", "R", "--by", "S1")["walk"]
    pm("route", "arrive", first, "1")
    r = pm("route", "start", "R", "--by", "S1")
    assert f"continuing walk {first}" in r.stderr


def test_route_run_needs_to_know_who_walks(pm, db):
    pm("route", "add", "R", "--name", "门岗 Gates", "--stops", "C1")
    r = pm("route", "run", "R", ok=False)
    assert r.exit_code != 0 and "pm staff use" in r.output


def test_day_bounds_are_23_and_25_hours_on_dst_days():
    a, b = service.day_bounds(date(2026, 3, 29), "Europe/Berlin")
    c, d = service.day_bounds(date(2026, 10, 25), "Europe/Berlin")
    assert (b - a, d - c) == (timedelta(hours=23), timedelta(hours=25))
    assert a.tzinfo == UTC
