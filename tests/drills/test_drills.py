"""Emergency drills as a site manager runs them: plan, live timing, records after the fact,
evaluation, findings, due dates, reports and trends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pm_cli.sites.context import current_site

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants


@pytest.fixture
def fire(pm, site):
    pm("grid", "add", "A", "--name", "1号楼", "--owner", "S1")
    pm("drill", "plan", "FIRE-A", "--scenario", "fire", "--grid", "A")
    return "FIRE-A"


def test_library_has_at_least_12_bilingual_scenarios(pm, site):
    rows = pm.json("drill", "scenarios")
    ids = {r["id"] for r in rows}
    assert (
        len(rows) >= 12
        and {
            "fire",
            "flood",
            "typhoon",
            "earthquake",
            "epidemic",
            "power_outage",
            "gas_leak",
            "elevator_entrapment",
            "burst_pipe",
            "crowd_stampede",
            "hazmat",
            "public_security",
        }
        <= ids
    )
    fire = next(r for r in rows if r["id"] == "fire")
    assert fire["milestones"][0] == {"id": "alarm", "target": 0.0}
    assert {"id": "evacuated", "target": 10.0} in fire["milestones"]
    assert all(any("\u4e00" <= c <= "\u9fff" for c in r["title"]) for r in rows)


def test_live_drill_across_midnight_misses_a_target_and_opens_an_item(pm, fire):
    run = pm.json(
        "drill",
        "start",
        fire,
        "--at",
        "2026-03-01T23:55+08:00",
        "--participants",
        "42",
        "--weather",
        "晴",
    )
    short = run["short"]
    pm("drill", "event", short, "first_responder", "--at", "2026-03-01T23:55:50+08:00")
    for mid, at in (("micro_station", "23:57:30"), ("call_119", "23:58")):
        pm("drill", "event", short, mid, "--at", f"2026-03-01T{at}+08:00")
    pm("drill", "event", short, "reinforcements", "--at", "2026-03-02T00:00:00+08:00")
    r = pm(
        "drill",
        "event",
        short,
        "evacuated",
        "--at",
        "2026-03-02T00:07+08:00",
        "--note",
        "3单元楼梯拥堵",
    )
    assert "evacuated: 12 min (target 10) MISSED" in r.stderr
    pm("drill", "event", short, "headcount", "--at", "2026-03-02T00:08+08:00")
    r = pm("drill", "finish", short, ok=False)
    assert r.exit_code == 1 and "not recorded: all_clear" in r.stderr
    pm("drill", "event", short, "all_clear", "--at", "2026-03-02T00:15+08:00")
    done = json.loads(pm("drill", "finish", short, "--json").stdout)
    assert (done["result"], done["missed"], done["status"]) == (
        "fail",
        ["evacuated", "headcount"],
        "finished",
    )
    ev = {m["milestone"]: m for m in done["milestones"]}
    assert ev["first_responder"]["elapsed"] == pytest.approx(0.83, abs=0.01)
    assert ev["reinforcements"]["elapsed"] == 5 and ev["reinforcements"]["met"] is True
    assert len(done["items"]) == 2 and {i["severity"] for i in done["items"]} == {"major"}
    item = pm.json("pdca", "show", str(done["items"][0]["no"]))
    assert (item["source"], item["grid"], item["owner"]) == ("drill", "A", "S1")


def test_events_out_of_order_unknown_or_twice_are_refused(pm, fire):
    short = pm.json("drill", "start", fire, "--at", "2026-03-01T10:00+08:00")["short"]
    pm("drill", "event", short, "call_119", "--at", "2026-03-01T10:03+08:00")
    r = pm("drill", "event", short, "first_responder", "--at", "2026-03-01T10:01+08:00", ok=False)
    assert r.exit_code == 1 and "events are recorded in time order" in r.stderr
    r = pm("drill", "event", short, "sprinklers", ok=False)
    assert r.exit_code == 1 and "no milestone 'sprinklers'" in r.stderr and "alarm" in r.stderr
    r = pm("drill", "event", short, "call_119", "--at", "2026-03-01T10:04+08:00", ok=False)
    assert "already recorded" in r.stderr
    r = pm("drill", "event", short, "evacuated", "--at", "2026-03-01T09:00+08:00", ok=False)
    assert "before" in r.stderr


def test_incomplete_finish_counts_missing_milestones(pm, fire):
    short = pm.json("drill", "start", fire, "--at", "2026-03-01T10:00+08:00")["short"]
    done = json.loads(pm("drill", "finish", short, "--incomplete", "--json").stdout)
    assert done["status"] == "incomplete" and done["result"] == "fail"
    assert "evacuated" in done["missing"] and "all_clear" in done["missing"]
    # one item per milestone with a target; all_clear has none, so it opens nothing
    assert len(done["items"]) == len(done["missing"]) - 1
    assert not any("all_clear" in i["title"] for i in done["items"])


def test_record_a_timeline_all_or_nothing(pm, fire, write_file):
    bad = write_file(
        "bad.yaml",
        "started: 2026-03-01T14:00+08:00\nparticipants: lots\n"
        "events:\n  - {milestone: first_responder, at: '14:01'}\n"
        "  - {milestone: sprinkler, at: '14:02'}\n"
        "  - {milestone: call_119, at: '13:59'}\n",
    )
    r = pm("drill", "record", fire, "--timeline", str(bad), ok=False)
    assert r.exit_code == 1
    assert f"{bad}:2: participants is a whole number" in r.stderr
    assert f"{bad}:5: fire has no milestone 'sprinkler'" in r.stderr
    assert f"{bad}:6: call_119 is before the drill started" in r.stderr
    assert "not recorded" in r.stderr
    assert pm.json("drill", "runs") == []
    events = "".join(
        f"  - {{milestone: {m}, at: '2026-03-01T14:{mm}+08:00'}}\n"
        for m, mm in (
            ("first_responder", "01"),
            ("micro_station", "03"),
            ("call_119", "03"),
            ("reinforcements", "05"),
            ("evacuated", "09"),
            ("headcount", "10"),
            ("all_clear", "20"),
        )
    )
    good = write_file(
        "good.yaml",
        "started: 2026-03-01T14:00+08:00\nparticipants: 42\n"
        "observers: 街道消防站\nweather: 小雨\nkind: full-scale\n"
        f"events:\n{events}"
        "findings:\n  - {text: 2单元疏散指示灯不亮, severity: major}\n",
    )
    rec = json.loads(pm("drill", "record", fire, "--timeline", str(good), "--json").stdout)
    assert (rec["result"], rec["participants"], rec["kind"]) == ("pass", 42, "full-scale")
    assert [i["title"] for i in rec["items"]] == ["2单元疏散指示灯不亮"]
    csv_file = write_file(
        "t.csv",
        "milestone,at,note\nalarm,2026-09-01 14:00,\n"
        "first_responder,2026-09-01 14:01,\ncall_119,2026-09-01 14:02,"
        "\nmicro_station,2026-09-01 14:03,\n"
        "reinforcements,2026-09-01 14:04,\n"
        "evacuated,2026-09-01 14:08,\nheadcount,2026-09-01 14:09,\n"
        "all_clear,2026-09-01 14:15,全部清点完毕\n",
    )
    rec = json.loads(pm("drill", "record", fire, "--timeline", str(csv_file), "--json").stdout)
    assert rec["result"] == "pass" and rec["milestones"][-1]["note"] == "全部清点完毕"


def test_due_against_schedule_and_required_frequency(pm, site):
    from pm_cli.context import AppContext
    from pm_cli.drills import service

    pm("drill", "plan", "F1", "--scenario", "fire")  # 6-monthly required
    pm("drill", "plan", "F2", "--scenario", "fire", "--schedule", "FREQ=MONTHLY")
    ctx = AppContext()
    with ctx.session() as s:
        site_row = current_site(ctx, s)
        rows = {
            r["code"]: r
            for r in service.due(s, site=site_row, now=datetime.now(UTC) + timedelta(days=40))
        }
        assert (rows["F1"]["overdue"], rows["F2"]["overdue"]) == (False, True)
        assert rows["F2"]["overdue_required"] is False
        rows = {
            r["code"]: r
            for r in service.due(s, site=site_row, now=datetime.now(UTC) + timedelta(days=200))
        }
        assert rows["F1"]["overdue"] and rows["F1"]["overdue_required"]
    assert pm.json("drill", "due") == []  # nothing overdue today
    rows = pm.json("drill", "list")
    assert {r["code"] for r in rows} == {"F1", "F2"}
    r = pm("drill", "plan", "F3", "--scenario", "meteor", ok=False)
    assert r.exit_code == 3 and "pm drill scenarios" in r.stderr


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_report_in_every_format(pm, fire, fmt, tmp_path):
    short = pm.json(
        "drill", "start", fire, "--at", "2026-03-01T14:00+08:00", "--participants", "30"
    )["short"]
    pm("drill", "event", short, "first_responder", "--at", "2026-03-01T14:02+08:00")
    pm("drill", "finish", short, "--incomplete", "--at", "2026-03-01T14:30+08:00")
    pm("drill", "finding", short, "消防栓箱锈蚀", "--severity", "minor")
    out = tmp_path / f"report.{fmt}"
    pm("drill", "report", short, "--format", fmt, "-o", str(out))
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        doc = json.loads(text)
        assert doc["result"] == "fail" and doc["participants"] == 30
        assert any(i["title"] == "消防栓箱锈蚀" for i in doc["items"])
    else:
        assert "After-action report" in text and "first_responder" in text
        assert "消防栓箱锈蚀" in text and "2026-03-01 14:00" in text
        assert ("MISSED" in text) and ("<table>" in text) == (fmt == "html")


def test_trend_table_and_chart(pm, fire, write_file):
    for day, evac in (("2025-09-01", "09"), ("2026-03-01", "12")):
        events = "".join(
            f"  - {{milestone: {m}, at: '{day}T14:{mm}+08:00'}}\n"
            for m, mm in (
                ("first_responder", "01"),
                ("micro_station", "03"),
                ("call_119", "03"),
                ("reinforcements", "05"),
                ("evacuated", evac),
                ("headcount", evac),
                ("all_clear", "20"),
            )
        )
        path = write_file(f"{day}.yaml", f"started: {day}T14:00+08:00\nevents:\n{events}")
        pm("drill", "record", fire, "--timeline", str(path))
    data = pm.json("drill", "trend", "fire")
    assert [r["evacuated"] for r in data["runs"]] == [9, 12]
    text = pm("drill", "trend", "fire", "--milestone", "evacuated").stdout
    assert "evacuated (target 10 min)" in text and "✗ over target" in text
    assert "█" in text


def test_unplan_removes_a_plan_that_never_ran_and_keeps_one_that_did(pm, fire):
    pm("drill", "plan", "FLOOD-X", "--scenario", "flood")
    r = pm("drill", "unplan", "FLOOD-X")
    assert "removed drill plan FLOOD-X" in r.stderr
    assert [d["code"] for d in pm.json("drill", "list")] == [fire]
    assert pm("drill", "unplan", "FLOOD-X", ok=False).exit_code == 3
    pm("drill", "plan", "FLOOD-X", "--scenario", "flood")  # the code is free again
    pm("drill", "start", fire, "--at", "2026-03-01T10:00+08:00")
    r = pm("drill", "unplan", fire, ok=False)
    assert r.exit_code == 1 and "1 run(s) on record" in r.stderr
    assert {d["code"] for d in pm.json("drill", "list")} == {fire, "FLOOD-X"}
