"""PDCA rules through the service: transitions (a state machine), SLA clocks, routing, dedup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pm_cli.errors import ConflictError, PmError
from pm_cli.pdca import service

pytestmark = pytest.mark.clock  # CI runs these again under faketime at three instants


@pytest.fixture
def db(pm, site):
    pm("grid", "add", "W", "--name", "水泵房", "--owner", "S1")
    pm("grid", "add", "X", "--name", "无人网格")
    import os
    from pathlib import Path

    return Path(os.environ["PM_DB"])


@pytest.fixture
def scope(scope, db):  # the shared session fixture, after this module's set-up
    return scope


def site_of(s):
    from pm_cli.sites.service import get_site

    return get_site(s, "CH")


def test_routing_to_grid_owner_else_site_manager_else_given(scope):
    with scope() as s:
        site = site_of(s)
        a = service.add_item(s, site=site, title="漏水", severity="major", grid="W").item
        b = service.add_item(s, site=site, title="无主", severity="minor", grid="X").item
        c = service.add_item(
            s, site=site, title="指定", severity="minor", grid="W", owner="S2"
        ).item
        s.flush()
        rows = {r["no"]: r["owner"] for r in service.list_items(s, site=site)}
    assert rows == {a.no: "S1", b.no: "S2", c.no: "S2"}  # S2 is the site's manager
    assert (a.no, b.no, c.no) == (1, 2, 3)


def test_repeat_failure_while_open_is_an_occurrence(scope):
    with scope() as s:
        site = site_of(s)
        first = service.add_item(
            s,
            site=site,
            title="余氯超标",
            severity="major",
            grid="W",
            source="step",
            dedup_key="step:W:water.daily:chlorine",
        )
        again = service.add_item(
            s,
            site=site,
            title="余氯超标",
            severity="major",
            grid="W",
            source="step",
            dedup_key="step:W:water.daily:chlorine",
        )
        other = service.add_item(
            s,
            site=site,
            title="浊度",
            severity="major",
            grid="W",
            source="step",
            dedup_key="step:W:water.daily:turbidity",
        )
        s.flush()
        assert (first.created, again.created, other.created) == (True, False, True)
        assert again.item.id == first.item.id
        assert service.show(s, site=site, no=first.item.no)["occurrences"] == 2


def test_a_closed_item_does_not_swallow_a_new_failure(scope):
    with scope() as s:
        site = site_of(s)
        key = "step:W:water.daily:chlorine"
        item = service.add_item(
            s, site=site, title="余氯", severity="minor", grid="W", dedup_key=key
        ).item
        service.edit(s, site=site, no=item.no, root_cause="加药泵故障", preventive="月检加药泵")
        for to, kw in (
            ("do", {"plan": "修泵"}),
            ("check", {"note": "已修"}),
            ("act", {"result": "effective"}),
            ("closed", {"note": "已纳入月检"}),
        ):
            service.advance(s, site=site, no=item.no, to=to, **kw)
        new = service.add_item(
            s, site=site, title="余氯", severity="minor", grid="W", dedup_key=key
        )
        assert new.created and new.item.no == item.no + 1


@pytest.mark.parametrize(
    "sev,respond,resolve", [("critical", 1, 24), ("major", 4, 72), ("minor", 24, 168)]
)
def test_sla_defaults_across_midnight_in_the_site_zone(scope, sev, respond, resolve):
    # 23:30 in Shanghai is 15:30 UTC: the clocks run in calendar hours, shown in site time
    found = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    with scope() as s:
        site = site_of(s)
        item = service.add_item(s, site=site, title="t", severity=sev, now=found).item
    assert item.respond_by == (found + timedelta(hours=respond)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert item.resolve_by == (found + timedelta(hours=resolve)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    from pm_cli.timefmt import local

    assert local(item.created_at, "Asia/Shanghai") == "2026-03-01 23:30"
    if sev == "critical":
        assert local(item.respond_by, "Asia/Shanghai") == "2026-03-02 00:30"
        assert local(item.respond_by, "America/New_York") == "2026-03-01 11:30"


def test_breaches_response_then_resolution(scope):
    found = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    with scope() as s:
        site = site_of(s)
        item = service.add_item(
            s, site=site, title="t", severity="critical", grid="W", now=found
        ).item
        st0 = service.state_of([])
        assert service.breaches(item, st0, found + timedelta(minutes=59)) == []
        assert service.breaches(item, st0, found + timedelta(minutes=61)) == ["response"]
        assert service.breaches(item, st0, found + timedelta(hours=25)) == [
            "response",
            "resolution",
        ]
        st = service.advance(s, site=site, no=item.no, to="do", plan="先围挡")
        assert st.responded_at is not None
        assert service.breaches(item, st, found + timedelta(hours=25)) == ["resolution"]


def test_custom_sla_per_site(scope):
    with scope() as s:
        site = site_of(s)
        table = service.set_sla(s, site=site, severity="minor", respond="30m", resolve="2d")
        assert table["minor"] == (0.5, 48.0)
        with pytest.raises(PmError):
            service.set_sla(s, site=site, severity="minor", respond="5h", resolve="1h")
        with pytest.raises(PmError):
            service.set_sla(s, site=site, severity="minor", respond="soon", resolve="1h")


class Lifecycle(RuleBasedStateMachine):
    """Random moves against a model of the rules: every allowed move is taken, every other
    is refused naming the allowed ones, and the phase only ever moves as the model says."""

    def __init__(self):
        super().__init__()
        self.s = SCOPE["open"]()
        self.session = self.s.__enter__()
        self.site = site_of(self.session)
        self.item = service.add_item(
            self.session, site=self.site, title="lifecycle", severity="major", grid="W"
        ).item
        service.edit(
            self.session, site=self.site, no=self.item.no, root_cause="rc", preventive="pv"
        )
        self.phase, self.cycle, self.result = "plan", 1, None

    def teardown(self):
        self.s.__exit__(ValueError, ValueError("rollback"), None)

    def expected(self, to, result):
        if self.phase == "plan":
            return to == "do"
        if self.phase == "do":
            return to == "check"
        if self.phase == "check":
            return to == "act" and result in ("effective", "not-effective")
        if self.phase == "act":
            return to == ("closed" if self.result == "effective" else "plan")
        return False

    @rule(
        to=st.sampled_from(["plan", "do", "check", "act", "closed", "bogus"]),
        result=st.sampled_from([None, "effective", "not-effective"]),
    )
    def advance(self, to, result):
        ok = self.expected(to, result)
        try:
            service.advance(
                self.session,
                site=self.site,
                no=self.item.no,
                to=to,
                plan="计划",
                note="说明",
                result=result,
            )
        except ConflictError as e:
            assert not ok, e.message
            assert e.hint is None or "next phase is" in e.hint or "reopen" in e.hint
            return
        except PmError as e:
            assert not ok or (to == "act" and result is None), e.message
            return
        assert ok, f"{self.phase} -> {to} was accepted"
        if to == "act":
            self.result = result
        if self.phase == "act" and to == "plan":
            self.cycle += 1
        self.phase = to

    @precondition(lambda self: self.phase == "closed")
    @rule()
    def reopen(self):
        service.reopen(self.session, site=self.site, no=self.item.no)
        self.phase, self.cycle = "plan", self.cycle + 1

    @invariant()
    def matches_the_model(self):
        st_ = service.state_of(service.events_of(self.session, self.item))
        assert (st_.phase, st_.cycle) == (self.phase, self.cycle)


SCOPE: dict = {}


def test_lifecycle_state_machine(scope):
    SCOPE["open"] = scope
    Lifecycle.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
    Lifecycle.TestCase().runTest()
