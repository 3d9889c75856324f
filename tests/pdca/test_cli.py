"""`pm pdca` as a site manager uses it."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants


def test_add_show_json_and_a_full_cycle(pm, site):
    pm("grid", "add", "W", "--name", "水泵房", "--owner", "S1")
    rec = json.loads(
        pm(
            "pdca",
            "add",
            "水泵漏水 Pump leak",
            "--grid",
            "W",
            "--severity",
            "重要",
            "--source",
            "complaint:TKT-88",
            "--json",
        ).stdout
    )
    assert (rec["no"], rec["phase"], rec["owner"], rec["severity"]) == (1, "plan", "S1", "major")
    assert rec["source"] == "complaint" and rec["source_ref"] == "TKT-88"
    assert rec["respond_by"] < rec["resolve_by"] and rec["next"] == ["do"]
    r = pm("pdca", "advance", "#1", "--to", "check", ok=False)
    assert r.exit_code == 1 and "hint: from plan the next phase is do" in r.stderr
    pm("pdca", "advance", "1", "--to", "do", "--plan", "关阀、更换密封")
    pm("pdca", "comment", "1", "备件已到")
    pm("pdca", "advance", "1", "--to", "check", "--note", "已更换密封")
    r = pm("pdca", "advance", "1", "--to", "act", ok=False)
    assert "--result effective|not-effective" in r.stderr
    pm("pdca", "advance", "1", "--to", "act", "--result", "not-effective")
    r = pm("pdca", "advance", "1", "--to", "closed", "--note", "x", ok=False)
    assert "next phase is plan" in r.stderr
    back = json.loads(pm("pdca", "advance", "1", "--to", "plan", "--json").stdout)
    assert (back["phase"], back["cycle"]) == ("plan", 2)
    for to, extra in (
        ("do", []),
        ("check", ["--note", "更换水泵"]),
        ("act", ["--result", "effective"]),
    ):
        pm("pdca", "advance", "1", "--to", to, *extra)
    r = pm("pdca", "advance", "1", "--to", "closed", "--note", "已纳入月检", ok=False)
    assert "needs root cause and preventive" in r.stderr
    pm("pdca", "edit", "1", "--root-cause", "密封老化", "--preventive", "同类泵一并检查")
    pm(
        "pdca",
        "advance",
        "1",
        "--to",
        "closed",
        "--note",
        "已纳入月检",
        "--playbook",
        "water.daily",
    )
    shown = pm.json("pdca", "show", "1")
    assert (shown["phase"], shown["cycle"], shown["next"]) == ("closed", 2, [])
    kinds = [h["kind"] for h in shown["history"]]
    assert kinds.count("transition") == 8 and "comment" in kinds and "edit" in kinds
    assert shown["history"][-1]["data"] == {"playbook": "water.daily@1"}
    assert pm.json("pdca", "list") == []  # closed items leave the default list
    assert [r["no"] for r in pm.json("pdca", "list", "--all")] == [1]
    r = pm("pdca", "advance", "1", "--to", "plan", ok=False)
    assert "pm pdca reopen 1" in r.stderr
    again = json.loads(pm("pdca", "reopen", "1", "--note", "又漏了", "--json").stdout)
    assert (again["phase"], again["cycle"]) == ("plan", 3)


def test_assign_needs_staff_of_the_site_and_do_needs_an_owner(pm, site):
    pm("staff", "remove", "S2")  # no manager left to route to
    pm("grid", "add", "X", "--name", "无人")
    rec = pm.json("pdca", "add", "无主", "--grid", "X", "--severity", "minor")
    assert rec["owner"] is None
    r = pm("pdca", "advance", "1", "--to", "do", "--plan", "p", ok=False)
    assert "has no owner" in r.stderr and "pm pdca assign 1 STAFF" in r.stderr
    r = pm("pdca", "assign", "1", "NOBODY", ok=False)
    assert r.exit_code == 1 and "not staff" in r.stderr
    assert pm.json("pdca", "assign", "1", "S1")["owner"] == "S1"
    assert pm.json("pdca", "show", "1")["history"][-1]["note"] == "owner — → S1"
    r = pm("pdca", "show", "99", ok=False)
    assert r.exit_code == 3


def test_overdue_lists_breaches(pm, site, isolated):
    import sqlite3

    pm("pdca", "add", "超时的", "--severity", "critical")
    pm("pdca", "add", "还没到期", "--severity", "minor")
    con = sqlite3.connect(isolated)
    con.execute("UPDATE pdca SET respond_by='2000-01-01T00:00:00.000Z' WHERE no=1")
    con.commit()
    con.close()
    rows = pm.json("pdca", "overdue")
    assert [(r["no"], r["overdue"]) for r in rows] == [(1, ["response"])]
    assert "#1" in pm("pdca", "overdue").stdout


def test_sla_show_and_set(pm, site):
    rows = {r["severity"]: r for r in pm.json("pdca", "sla")}
    assert (rows["critical"]["respond_hours"], rows["minor"]["resolve_hours"]) == (1, 168)
    pm("pdca", "sla", "--severity", "critical", "--respond", "30m", "--resolve", "12h")
    rec = pm.json("pdca", "add", "急", "--severity", "critical")
    from datetime import datetime

    found = datetime.fromisoformat(rec["found_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(rec["respond_by"].replace("Z", "+00:00"))
    assert (due - found).total_seconds() == 1800
    r = pm("pdca", "sla", "--severity", "critical", ok=False)
    assert r.exit_code == 2


def test_failed_run_steps_open_and_repeat_items(pm, site, write_file):
    from tests.runs.conftest import FIXTURE

    pm("grid", "add", "W", "--name", "水泵房", "--owner", "S1")
    pm("playbook", "import", str(FIXTURE / "test.water-daily.yaml"))
    photo = write_file("p.jpg", b"\xff\xd8photo")
    for _ in range(2):
        run = pm.json("run", "start", "test.water-daily", "--grid", "W", "--by", "S1")["short"]
        pm("run", "record", run, "chlorine", "--value", "5", "--photo", str(photo))
        pm("run", "record", run, "turbidity", "--value", "9")  # minor: no item
    items = pm.json("pdca", "list")
    assert len(items) == 1
    assert (items[0]["source"], items[0]["owner"], items[0]["occurrences"]) == ("step", "S1", 2)
