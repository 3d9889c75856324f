"""Taking answers back: a corrected answer withdraws the item it raised, `pm run cancel`,
`pm run resume` without an id, and `pm run list`'s limit."""

from __future__ import annotations

import os
import sqlite3

import pexpect

from tests.runs.test_interactive import spawn  # noqa: F401  (fixture)


def items(pm):
    return pm.json("pdca", "list", "--all")


def test_a_corrected_reading_withdraws_the_item_it_opened(pm, started, photo):
    run = started["short"]
    r = pm("run", "record", run, "chlorine", "--value", "120", "--photo", str(photo))
    assert "opened improvement item #1" in r.stderr
    doc = pm.json("run", "record", run, "chlorine", "--value", "1.2", "--photo", str(photo))
    assert doc["outcome"] == "pass"
    assert doc["withdrawn"]["withdrawn"] is True and doc["withdrawn"]["item"] == "#1"
    assert "withdrew improvement item #1" in doc["withdrawn"]["message"]
    assert [(i["no"], i["status"]) for i in items(pm)] == [(1, "withdrawn")]
    assert pm.json("pdca", "list") == []


def test_an_item_someone_acted_on_stays_and_the_screen_says_how_to_close_it(pm, started, photo):
    run = started["short"]
    pm("run", "record", run, "chlorine", "--value", "120", "--photo", str(photo))
    pm("pdca", "comment", "1", "已通知厂家 vendor called")
    r = pm("run", "record", run, "chlorine", "--value", "1.2", "--photo", str(photo))
    assert "item #1 stays open (already commented)" in r.stderr
    assert "pm pdca cancel 1 --reason TEXT" in r.stderr
    assert [i["status"] for i in items(pm)] == ["open"]


def test_a_corrected_repeat_takes_back_only_its_occurrence(pm, water, photo):
    first = pm.json("run", "start", water, "--grid", "W", "--by", "S1")["short"]
    pm("run", "record", first, "chlorine", "--value", "5", "--photo", str(photo))
    again = pm.json("run", "start", water, "--grid", "W", "--by", "S1")["short"]
    r = pm("run", "record", again, "chlorine", "--value", "120", "--photo", str(photo))
    assert "another occurrence on item #1" in r.stderr
    assert items(pm)[0]["occurrences"] == 2
    r = pm("run", "record", again, "chlorine", "--value", "0.5", "--photo", str(photo))
    assert "withdrew the occurrence it had added to item #1" in r.stderr
    assert [(i["status"], i["occurrences"]) for i in items(pm)] == [("open", 1)]


def test_back_and_a_good_reading_withdraws_the_item_on_screen(
    pm,
    water,
    spawn,  # noqa: F811
    photo,
    isolated,
):
    child = spawn("run", "start", water, "--grid", "W", "--by", "S1")
    child.expect(r"step 1/4 · access")
    child.sendline("p")  # a pass asks for no note
    child.expect(r"step 2/4 · chlorine")
    child.sendline("120")
    child.expect("outside")  # the range says what is wrong: no note asked
    child.expect("photo file")
    child.sendline(str(photo))
    child.expect("opened improvement item #1")
    child.expect(r"step 3/4 · turbidity")
    child.sendline("b")
    child.expect(r"step 2/4 · chlorine")
    child.sendline("1.02")
    child.expect("photo file")
    child.sendline(str(photo))
    child.expect(r"withdrew improvement item #1 \(nobody had acted on it yet\)")
    child.expect(r"step 3/4 · turbidity")
    child.sendline("q")
    child.expect(pexpect.EOF)
    assert [(i["no"], i["status"]) for i in items(pm)] == [(1, "withdrawn")]


def test_cancel_a_run_withdraws_its_items_and_keeps_it_in_history(pm, started, photo):
    run = started["short"]
    pm("run", "record", run, "chlorine", "--value", "120", "--photo", str(photo))
    r = pm("run", "cancel", run, ok=False)
    assert r.exit_code == 2 and "--reason" in r.output
    r = pm("run", "cancel", run, "--reason", "", ok=False)
    assert r.exit_code == 1 and "--reason" in r.stderr
    doc = pm.json("run", "cancel", run, "--reason", "走错泵房 wrong pump room")
    assert (doc["status"], doc["reason"]) == ("aborted", "走错泵房 wrong pump room")
    assert [w["item"] for w in doc["withdrawn"]] == ["#1"]
    assert [i["status"] for i in items(pm)] == ["withdrawn"]
    assert [x["short"] for x in pm.json("run", "list", "--status", "aborted")] == [run]
    r = pm("run", "record", run, "access", "pass", ok=False)
    assert r.exit_code == 1 and "aborted" in r.stderr
    r = pm("run", "cancel", run, "--reason", "again", ok=False)
    assert r.exit_code == 1 and "already cancelled" in r.stderr
    assert pm("run", "cancel", "nosuchrun", "--reason", "x", ok=False).exit_code == 3


def test_resume_without_an_id_takes_my_newest_open_run_else_the_sites(
    pm,
    water,
    spawn,  # noqa: F811
    monkeypatch,
):
    mine = pm.json("run", "start", water, "--by", "S1")["short"]
    theirs = pm.json("run", "start", water, "--by", "S2")["short"]
    monkeypatch.setenv("PM_STAFF", "S1")
    child = spawn("run", "resume")
    child.expect(f"resuming your newest open run {mine}")
    child.expect(r"step 1/4 · access")
    child.sendline("q")
    child.expect(pexpect.EOF)
    monkeypatch.delenv("PM_STAFF")
    child = spawn("run", "resume")
    child.expect(f"resuming the site's newest open run {theirs}")
    child.expect(r"step 1/4 · access")
    child.sendline("q")
    child.expect(pexpect.EOF)
    for r in (mine, theirs):
        pm("run", "cancel", r, "--reason", "test")
    r = pm("run", "resume", ok=False)
    assert r.exit_code == 3 and "no open run" in r.stderr


def test_list_shows_30_unless_limit_or_all(pm, water, isolated):
    first = pm.json("run", "start", water, "--by", "S1")
    con = sqlite3.connect(isolated)  # 34 more runs, fast: copies of the first row
    cols = [c[1] for c in con.execute("PRAGMA table_info(run)")]
    row = con.execute(f"SELECT {', '.join(cols)} FROM run").fetchone()
    for k in range(34):
        values = dict(zip(cols, row, strict=True))
        values["id"] = values["id"][:-8] + f"{k:08d}"
        values["started_at"] = f"2020-01-01T00:{k:02d}:00.000Z"
        con.execute(
            f"INSERT INTO run ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [values[c] for c in cols],
        )
    con.commit()
    con.close()
    rows = pm.json("run", "list")
    assert len(rows) == 30 and rows[0]["id"] == first["id"]
    assert len(pm.json("run", "list", "--limit", "5")) == 5
    assert len(pm.json("run", "list", "--all")) == 35
    assert "--limit N or --all" in pm("run", "list").stderr
    assert pm("run", "list", "--limit", "0", ok=False).exit_code == 2
    assert os.path.exists(isolated)
