"""Scripted runs: the same rules as the interactive flow, one command per answer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def test_start_prints_the_run(started):
    assert len(started["id"]) == 36 and started["status"] == "open"
    assert started["playbook"] == "test.water-daily" and started["version"] == 1
    assert (started["grid"], started["by"], started["score"]) == ("W", "S1", None)
    assert [r["step"] for r in started["results"]] == ["access", "chlorine", "turbidity", "log"]
    assert all(r["outcome"] is None for r in started["results"])


def test_record_rules(pm, started, photo, isolated):
    run = started["short"]
    r = pm("run", "record", run, "chlorine", "--value", "0.3", ok=False)
    assert r.exit_code == 1 and "needs a photo" in r.stderr  # evidence: photo
    r = pm("run", "record", run, "chlorine", "--value", "0.3", "--photo", "nope.jpg", ok=False)
    assert r.exit_code == 1 and "no such photo file" in r.stderr
    doc = json.loads(
        pm(
            "run", "record", run, "chlorine", "--value", "0.3", "--photo", str(photo), "--json"
        ).stdout
    )
    assert doc["outcome"] == "pass"
    assert doc["evidence_sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    stored = list((isolated.parent / "evidence").rglob("*.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes() == photo.read_bytes()
    # out of range: a fail with the reason recorded; claiming pass is refused
    r = pm("run", "record", run, "turbidity", "pass", "--value", "3", ok=False)
    assert r.exit_code == 1 and "outside ≤ 1 NTU" in r.stderr
    doc = json.loads(pm("run", "record", run, "turbidity", "--value", "3", "--json").stdout)
    assert doc["outcome"] == "fail" and "3 NTU is outside ≤ 1 NTU" in doc["reason"]
    # a check step needs an outcome; a fail on photo-on-fail needs a photo
    r = pm("run", "record", run, "access", ok=False)
    assert r.exit_code == 1 and "say pass, fail or na" in r.stderr
    r = pm("run", "record", run, "access", "fail", ok=False)
    assert "needs a photo on a fail" in r.stderr
    r = pm("run", "record", run, "access", "fail", "--photo", str(photo), "--note", "锁坏了")
    assert "opened improvement item #1" in r.stderr  # major: an item for the grid owner
    r = pm("run", "record", run, "nosuch", "pass", ok=False)
    assert r.exit_code == 3 and "steps: access, chlorine, turbidity, log" in r.stderr


def test_newest_answer_counts_and_history_is_kept(pm, started, photo):
    run = started["short"]
    pm("run", "record", run, "access", "fail", "--photo", str(photo))
    pm("run", "record", run, "access", "pass")
    shown = pm.json("run", "show", run)
    access = shown["results"][0]
    assert (access["outcome"], access["answers"]) == ("pass", 2)


def test_finish_needs_required_steps_and_scores_by_weight(pm, started, photo):
    run = started["short"]
    pm("run", "record", run, "access", "pass")
    pm("run", "record", run, "turbidity", "--value", "0.4")
    r = pm("run", "finish", run, ok=False)
    assert r.exit_code == 1 and "1 required step(s) unanswered: chlorine" in r.stderr
    pm("run", "record", run, "chlorine", "fail", "--value", "0.01", "--photo", str(photo))
    pm("run", "record", run, "log", "pass", "--note", "交接完成")
    done = json.loads(pm("run", "finish", run, "--json").stdout)
    # weights: access 1 pass, chlorine 1 fail, turbidity 1 pass, log 2 pass -> 4/5
    assert (done["status"], done["score"], done["failed"]) == ("finished", 80.0, ["chlorine"])
    r = pm("run", "record", run, "access", "fail", "--photo", str(photo), ok=False)
    assert r.exit_code == 1 and "finished" in r.stderr


def test_finish_incomplete_needs_a_reason(pm, started):
    run = started["short"]
    pm("run", "record", run, "access", "na")
    r = pm("run", "finish", run, "--incomplete", ok=False)
    assert r.exit_code == 1 and "--reason" in r.stderr
    done = json.loads(pm("run", "finish", run, "--incomplete", "--reason", "停电", "--json").stdout)
    assert (done["status"], done["reason"], done["score"]) == ("incomplete", "停电", None)


def test_answers_file_all_or_nothing(pm, water, write_file, photo):
    bad = write_file(
        "bad.yaml",
        "- step: access\n  outcome: pass\n"
        "- step: chlorine\n  value: 0.3\n"  # no photo
        "- step: nosuch\n  outcome: pass\n"
        "- step: turbidity\n  outcome: maybe\n",
    )
    r = pm("run", "start", water, "--grid", "W", "--by", "S1", "--answers", str(bad), ok=False)
    assert r.exit_code == 1
    assert f"{bad}:3: chlorine needs a photo" in r.stderr
    assert f"{bad}:5: no step 'nosuch'" in r.stderr
    assert f"{bad}:7: unknown outcome 'maybe'" in r.stderr
    assert pm.json("run", "list") == []  # not even the run was kept
    good = write_file(
        "good.yaml",
        f"access: pass\nchlorine:\n  value: 0.3\n  photo: {photo.name}\n"
        "turbidity: 0.2\nlog:\n  outcome: pass\n  note: ok\n",
    )
    doc = json.loads(
        pm(
            "run", "start", water, "--grid", "W", "--by", "S1", "--answers", str(good), "--json"
        ).stdout
    )
    assert (doc["status"], doc["score"]) == ("finished", 100.0)


def test_pinned_run_unaffected_by_a_newer_version(pm, started, write_file):
    from tests.runs.conftest import FIXTURE

    text = (FIXTURE / "test.water-daily.yaml").read_text(encoding="utf-8")
    v2 = text.replace("version: 1", "version: 2").replace("  - id: log", "  - id: journal")
    pm("playbook", "import", str(write_file("v2.yaml", v2)))
    old = pm.json("run", "show", started["short"])
    assert (old["version"], old["results"][-1]["step"]) == (1, "log")
    pm("run", "record", started["short"], "log", "pass", "--note", "still v1")
    new = pm.json("run", "start", "test.water-daily", "--grid", "W", "--by", "S1")
    assert (new["version"], new["results"][-1]["step"]) == (2, "journal")


def test_list_filters(pm, water, photo):
    a = pm.json("run", "start", water, "--grid", "W", "--by", "S1")
    b = pm.json("run", "start", water, "--by", "S2")
    pm("run", "record", a["short"], "turbidity", "--value", "5")
    pm("run", "record", b["short"], "access", "pass")
    assert {r["id"] for r in pm.json("run", "list")} == {a["id"], b["id"]}
    assert [r["id"] for r in pm.json("run", "list", "--failed")] == [a["id"]]
    assert [r["id"] for r in pm.json("run", "list", "--grid", "W")] == [a["id"]]
    assert pm.json("run", "list", "--status", "finished") == []
    assert len(pm.json("run", "list", "--from", "2000-01-01", "--to", "2999-12-31")) == 2
    assert pm.json("run", "list", "--to", "2001-01-01") == []
    r = pm("run", "list", "--from", "someday", ok=False)
    assert r.exit_code == 2 and "not a date" in r.stderr and "--from" in r.stderr


def test_start_needs_a_known_playbook_and_someone(pm, water):
    r = pm("run", "start", "nosuch.playbook", "--by", "S1", ok=False)
    assert r.exit_code == 3 and "pm playbook list" in r.stderr
    r = pm("run", "start", water, "--json", ok=False)
    assert r.exit_code == 1 and "pm staff use" in r.stderr
    pm("staff", "use", "S1")
    assert pm.json("run", "start", water)["by"] == "S1"


def test_run_ids_by_tail(pm, started):
    assert pm.json("run", "show", started["id"])["id"] == started["id"]
    assert pm.json("run", "show", started["id"][-6:])["id"] == started["id"]
    r = pm("run", "show", "abc", ok=False)
    assert r.exit_code == 1 and "too short" in r.stderr
    r = pm("run", "show", "ffffffff", ok=False)
    assert r.exit_code == 3


def test_evidence_is_kept_when_the_file_changes_later(pm, started, photo):
    pm("run", "record", started["short"], "chlorine", "--value", "1", "--photo", str(photo))
    original = hashlib.sha256(photo.read_bytes()).hexdigest()
    photo.write_bytes(b"overwritten")
    ev = pm.json("run", "show", started["short"])["results"][1]["evidence"]
    assert ev["sha256"] == original
    assert hashlib.sha256(Path(ev["path"]).read_bytes()).hexdigest() == original
