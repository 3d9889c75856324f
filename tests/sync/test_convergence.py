"""Convergence (hypothesis): three laptops make random edits — create, edit fields, delete,
record checklist answers, comment on and move improvement items — and sync in random orders
and modes; after everyone syncs twice, every laptop holds the same rows, stamps and conflicts,
and the server holds each change once with seqs 1..head."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sync.conftest import Laptop, admin, snapshot
from tests.sync.test_faults import assert_log_clean

COUNTER = itertools.count()


@pytest.fixture
def root(server):  # type: ignore[no-untyped-def]
    admin(server.database_url, "user", "add", "root", "--role", "admin")
    return server


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_three_laptops_converge(root, tmp_path_factory, data):
    n = next(COUNTER)
    code = f"C{n}"
    tmp = tmp_path_factory.mktemp(f"conv{n}")
    laptops = []
    for name in "abc":
        lp = Laptop(name, tmp)
        lp("init")
        lp("sync", "login", root.url, "--token", root.token("root", f"{name}{n}"))
        laptops.append(lp)
    a = laptops[0]

    def pm(lp, *args, ok=True):  # type: ignore[no-untyped-def]
        return lp("--site", code, *args, ok=ok)

    a("site", "add", code, "--name", f"站点 {n}")
    pm(a, "staff", "add", "S1", "--name", "张伟", "--role", "lead")
    pm(a, "grid", "add", "G0", "--name", "根 Root", "--owner", "S1")
    for lp in laptops:
        lp("sync")
    made = itertools.count(1)
    for _ in range(data.draw(st.integers(6, 14), label="steps")):
        lp = data.draw(st.sampled_from(laptops), label="laptop")
        op = data.draw(
            st.sampled_from(
                ["add", "name", "level", "remove", "item", "comment", "advance", "answer", "sync"]
            ),
            label="op",
        )
        grids = [g["code"] for g in json.loads(pm(lp, "grid", "list", "--json").stdout)]
        leaves = [g for g in grids if g != "G0"]
        if op == "add":
            pm(
                lp,
                "grid",
                "add",
                f"{lp.name.upper()}{next(made)}",
                "--name",
                "新 new",
                "--parent",
                "G0",
            )
        elif op == "name":
            g = data.draw(st.sampled_from(grids))
            pm(lp, "grid", "edit", g, "--name", data.draw(st.sampled_from(["甲", "乙", "丙 c"])))
        elif op == "level" and leaves:
            pm(
                lp,
                "grid",
                "edit",
                data.draw(st.sampled_from(leaves)),
                "--risk",
                data.draw(st.sampled_from(["minor", "major", "critical"])),
            )
        elif op == "remove" and leaves:
            pm(lp, "grid", "remove", data.draw(st.sampled_from(leaves)))
        elif op == "item" and lp is a:
            pm(a, "pdca", "add", f"问题 {next(made)}", "--severity", "minor", "--grid", "G0")
        elif op == "comment":
            items = json.loads(pm(lp, "pdca", "list", "--json").stdout)
            if items:
                pm(lp, "pdca", "comment", items[0]["ref"], "跟进 follow-up")
        elif op == "advance":
            items = json.loads(pm(lp, "pdca", "list", "--json").stdout)
            step = {"plan": ("do", "--plan", "修 fix"), "do": ("check", "--note", "好了 done")}
            if items and items[0]["phase"] in step:
                to, flag, text = step[items[0]["phase"]]
                pm(lp, "pdca", "advance", items[0]["ref"], "--to", to, flag, text)
        elif op == "answer":
            run = json.loads(
                pm(lp, "run", "start", "water.daily", "--grid", "G0", "--by", "S1", "--json").stdout
            )
            pm(lp, "run", "record", run["short"], "access", "pass")
        elif op == "sync":
            mode = data.draw(st.sampled_from([[], ["--push"], ["--pull"]]))
            lp("sync", *mode)
    for lp in laptops + laptops:
        lp("sync")
    ref = snapshot(a)
    for lp in laptops[1:]:
        assert snapshot(lp) == ref
    assert_log_clean(root)
    # and the server holds the same records, field by field, stamp by stamp
    held = server_records(root, "grid")
    mine = {
        rid: (code, name, bool(deleted), json.loads(stamps))
        for rid, code, name, deleted, stamps in a.rows(
            "grid", "id", "code", "name", "deleted", "field_hlc"
        )
    }
    assert {rid: v for rid, v in held.items() if rid in mine} == mine


def server_records(server, entity: str) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from pm_cli.server import db

    engine = db.make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            t = db.records[entity]
            return {
                r.id: (r.code, r.name, bool(r.deleted), dict(r.field_hlc))
                for r in conn.execute(sa.select(t))
            }
    finally:
        engine.dispose()
