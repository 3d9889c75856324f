"""SLA clocks per PDCA cycle, withdrawing an item raised in error, and `pm today --date`
judging items at that day's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pm_cli.pdca import service

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def scope(scope, pm):  # the shared session fixture, after a grid owned by S1
    pm("grid", "add", "W", "--name", "水泵房", "--owner", "S1")
    return scope


def site_of(s):
    from pm_cli.sites.service import get_site

    return get_site(s, "CH")


def not_effective(scope, found: datetime, restart: datetime) -> int:
    """A major item found at `found`, worked through cycle 1 within hours, judged not
    effective: back to plan (cycle 2) at `restart`."""
    with scope() as s:
        site = site_of(s)
        item = service.add_item(
            s, site=site, title="水泵房渗漏 Pump room leak", severity="major", grid="W", now=found
        ).item
        no = item.no
        service.advance(s, site=site, no=no, to="do", plan="换垫片", now=found + timedelta(hours=1))
        service.advance(
            s, site=site, no=no, to="check", note="已换", now=found + timedelta(hours=2)
        )
        service.advance(
            s, site=site, no=no, to="act", result="not-effective", now=found + timedelta(hours=3)
        )
        service.advance(s, site=site, no=no, to="plan", now=restart)
    assert no is not None
    return no


def test_cycle_2_gets_fresh_clocks_from_its_start(scope):
    found = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    restart = found + timedelta(days=10)
    no = not_effective(scope, found, restart)
    with scope(write=False) as s:
        site = site_of(s)
        rec = service.show(s, site=site, no=no)
        assert (rec["phase"], rec["cycle"]) == ("plan", 2)
        assert rec["respond_by"] == "2026-03-11T04:00:00.000Z"  # 4 h from the restart
        assert rec["resolve_by"] == "2026-03-14T00:00:00.000Z"  # 72 h
        assert rec["responded_at"] is None and rec["checked_at"] is None
        assert [(c["cycle"], c["respond_by"], c["resolve_by"]) for c in rec["cycles"]] == [
            (1, "2026-03-01T04:00:00.000Z", "2026-03-04T00:00:00.000Z"),
            (2, "2026-03-11T04:00:00.000Z", "2026-03-14T00:00:00.000Z"),
        ]
        at = restart + timedelta(hours=3)
        assert service.list_items(s, site=site, overdue_only=True, now=at) == []
        late = service.list_items(s, site=site, overdue_only=True, now=restart + timedelta(hours=5))
        assert [(r["no"], r["overdue"]) for r in late] == [(no, ["response"])]
    with scope() as s:  # answered in cycle 2: only the resolution clock runs on
        service.advance(
            s, site=site_of(s), no=no, to="do", plan="换整段管", now=restart + timedelta(hours=6)
        )
    with scope(write=False) as s:
        rows = service.list_items(
            s, site=site_of(s), overdue_only=True, now=restart + timedelta(days=4)
        )
        assert [r["overdue"] for r in rows] == [["resolution"]]


def test_reopened_item_is_overdue_again_in_the_cli_and_show_lists_both_cycles(pm, scope):
    now = datetime.now(UTC)
    no = not_effective(scope, now - timedelta(days=15), now - timedelta(days=12))
    over = pm.json("pdca", "overdue")
    assert [(r["no"], r["cycle"], r["overdue"]) for r in over] == [
        (no, 2, ["response", "resolution"])
    ]
    text = pm("pdca", "show", str(no)).output
    assert "SLA per cycle" in text
    rec = pm.json("pdca", "show", str(no))
    for c in rec["cycles"]:
        for key in ("respond_by", "resolve_by"):
            shown = datetime.fromisoformat(c[key].replace("Z", "+00:00")).astimezone(SH)
            assert shown.strftime("%m-%d %H:%M") in text


def test_two_laptops_restarting_a_cycle_agree_on_the_earliest_start(scope):
    """Both marked the fix not effective offline: two transitions to (plan, cycle 2);
    every order of the same events gives the same clocks."""
    from pm_cli.pdca.models import PdcaEvent

    found = datetime(2026, 3, 1, tzinfo=UTC)
    no = not_effective(scope, found, found + timedelta(days=2))
    with scope() as s:
        item = service.get_item(s, site=site_of(s), no=no)
        events = service.events_of(s, item)
        twin = PdcaEvent(
            **{
                **events[-1].model_dump(),
                "id": "other",
                "hlc": events[-1].hlc + "z",
                "created_at": "2026-03-05T00:00:00.000Z",
            }
        )
        a = service.state_of([*events, twin])
        b = service.state_of([twin, *reversed(events)])
        assert (
            service.current_clocks(item, a)
            == service.current_clocks(item, b)
            == ("2026-03-03T04:00:00.000Z", "2026-03-06T00:00:00.000Z")
        )


def test_cancel_withdraws_an_item_out_of_every_list_and_keeps_its_history(pm, scope):
    opened = pm.json("pdca", "add", "误报 False alarm", "--severity", "critical", "--grid", "W")
    no = str(opened["no"])
    r = pm("pdca", "cancel", no, ok=False)
    assert r.exit_code == 2 and "--reason" in r.output
    r = pm("pdca", "cancel", no, "--reason", " ", ok=False)
    assert r.exit_code == 1 and "--reason" in r.stderr
    r = pm("pdca", "cancel", no, "--reason", "重复录入 entered twice")
    assert "withdrawn" in r.stderr
    assert pm.json("pdca", "list") == [] and pm.json("pdca", "overdue") == []
    assert pm.json("today", "--all")["items"] == []
    rec = pm.json("pdca", "show", no)
    assert (rec["status"], rec["phase"], rec["next"]) == ("withdrawn", "withdrawn", [])
    assert rec["withdrawn"]["reason"] == "重复录入 entered twice"
    assert rec["history"][-1]["kind"] == "withdraw"
    assert [i["no"] for i in pm.json("pdca", "list", "--all")] == [opened["no"]]
    assert [i["no"] for i in pm.json("pdca", "list", "--phase", "withdrawn")] == [opened["no"]]
    r = pm("pdca", "advance", no, "--to", "do", "--plan", "x", ok=False)
    assert r.exit_code == 1 and "withdrawn" in r.stderr
    r = pm("pdca", "cancel", no, "--reason", "again", ok=False)
    assert r.exit_code == 1 and "already withdrawn" in r.stderr
    assert pm("pdca", "cancel", "99", "--reason", "x", ok=False).exit_code == 3


def test_a_withdrawn_item_does_not_swallow_the_next_failure(scope):
    with scope() as s:
        site = site_of(s)
        first = service.add_item(
            s, site=site, title="t", severity="major", grid="W", dedup_key="k"
        ).item
        s.flush()
        service.cancel(s, site=site, no=first.no or 0, reason="entered in error")
        again = service.add_item(s, site=site, title="t", severity="major", grid="W", dedup_key="k")
        assert again.created and again.item.id != first.id


def test_today_for_another_day_judges_items_at_its_end(scope):
    from pm_cli.schedules import service as schedules

    found = datetime(2026, 6, 3, 9, 0, tzinfo=SH)  # major: respond by 13:00
    with scope() as s:
        service.add_item(
            s, site=site_of(s), title="门禁 Door", severity="major", grid="W", now=found
        )
    now = datetime(2026, 6, 3, 10, 0, tzinfo=SH)
    with scope(write=False) as s:
        site = site_of(s)
        today = schedules.today(s, site=site, day="2026-06-03", now=now)
        assert [i["state"] for i in today["items"]] == ["due"]
        tomorrow = schedules.today(s, site=site, day="2026-06-04", now=now)
        assert [i["state"] for i in tomorrow["items"]] == ["overdue"]
        before = schedules.today(
            s, site=site, day="2026-06-02", now=datetime(2026, 6, 10, tzinfo=SH)
        )
        assert before["items"] == []  # not found yet on that day
