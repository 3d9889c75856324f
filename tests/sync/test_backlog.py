"""A laptop that has not synced yet keeps its append-only rows (answers, visits, events) out
of the change log; its first `pm sync` logs and sends them all, and another laptop gets
every one of them."""

from __future__ import annotations

import sqlite3


def test_the_first_sync_sends_what_was_kept_out_of_the_log(laptop):
    a = laptop("a", "alice")
    a("demo")
    con = sqlite3.connect(a.db)
    try:
        logged_appends = con.execute("SELECT count(*) FROM change WHERE op = 'append'").fetchone()[
            0
        ]
        answers = con.execute("SELECT count(*) FROM step_result").fetchone()[0]
        visits = con.execute("SELECT count(*) FROM route_visit").fetchone()[0]
        logged = con.execute("SELECT count(*) FROM change").fetchone()[0]
    finally:
        con.close()
    assert logged_appends == 0 and answers > 0 and visits > 0
    before = a.json("sync", "status")
    assert before["pending"] > logged + answers + visits - 1  # the kept rows count as pending
    assert before["acked"] == 0
    a("sync")
    after = a.json("sync", "status")
    assert after["pending"] == 0 and after["acked"] == before["pending"]
    b = laptop("b", "alice")
    b("sync")
    for table in ("step_result", "route_visit", "pdca_event", "drill_event", "risk_event"):
        assert b.rows(table, "id", "hlc") == a.rows(table, "id", "hlc"), table
    # from now on a's answers are logged as they are made
    a("grid", "add", "Z9", "--name", "新区")
    assert a.json("sync", "status")["pending"] == 1
