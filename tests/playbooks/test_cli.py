"""Playbooks as a manager handles them: lint, import, versions, diff, the bundled library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"
WATER = (FIXTURE / "test.water-daily.yaml").read_text(encoding="utf-8")


@pytest.fixture
def db(pm):
    pm("init")


def test_bundled_library_has_12_services_98_steps_and_lints_clean(pm, db):
    rows = pm.json("playbook", "list")
    assert {r["service"] for r in rows} == {
        "cleaning",
        "security",
        "landscaping",
        "repairs",
        "equipment",
        "elevators",
        "fire",
        "water",
        "parking",
        "customer-service",
        "waste",
        "renovation",
    }
    assert sum(r["steps"] for r in rows) == 98
    assert set(rows[0]) >= {"id", "version", "service", "title", "steps"}
    from pm_cli.playbooks.service import bundled_dir

    r = pm("playbook", "lint", str(bundled_dir()))
    assert "clean" in r.stderr


def test_lint_clean_file(pm):
    r = pm("playbook", "lint", str(FIXTURE))
    assert r.exit_code == 0 and "2 playbook file(s) clean" in r.stderr


BAD = {
    "syntax": ("id: x.y\nversion: 1\nsteps: [\n", ":4:1: YAML syntax"),
    "unknown-key": (
        WATER.replace("estimated_minutes: 20", "estimated_minutes: 20\ncolour: red"),
        ":8:1: unknown key 'colour'",
    ),
    "dup-step": (
        WATER.replace("  - id: turbidity", "  - id: chlorine"),
        ":24:9: step id 'chlorine' repeats line 15",
    ),
    "min-max": (
        WATER.replace("range: {min: 0.05, max: 2}", "range: {min: 3, max: 2}"),
        ":21:12: min 3 is greater than max 2",
    ),
    "no-range": (WATER.replace("    range: {max: 1}\n", ""), ":24:5: a reading needs range"),
    "no-unit": (WATER.replace("    unit: NTU\n", ""), ":24:5: a reading needs unit"),
    "rrule": (
        WATER.replace("FREQ=DAILY;BYHOUR=9", "FREQ=SOMETIMES"),
        ":6:11: invalid RRULE 'FREQ=SOMETIMES'",
    ),
    "severity": (
        WATER.replace("severity: minor", "severity: huge"),
        ":31:15: severity: must be one of minor, major or critical",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_lint_names_each_problem_with_its_position(pm, write_file, case):
    text, expected = BAD[case]
    path = write_file(f"{case}.yaml", text)
    r = pm("playbook", "lint", str(path), ok=False)
    assert r.exit_code == 1
    assert f"{path}{expected}" in r.stderr, r.stderr
    assert "error: " in r.stderr


def test_lint_reports_every_file_and_every_problem(pm, write_file, tmp_path):
    write_file("a.yaml", BAD["min-max"][0])
    write_file("b.yaml", BAD["rrule"][0].replace("severity: minor", "severity: huge"))
    write_file("c.yaml", WATER)
    r = pm("playbook", "lint", str(tmp_path), "--json", ok=False)
    doc = json.loads(r.stdout)
    assert doc["files"] == 3 and len(doc["problems"]) == 3


def test_import_versions_and_refusal(pm, db, write_file):
    path = write_file("w.yaml", WATER)
    r = pm("playbook", "import", str(path), "--json")
    assert json.loads(r.stdout)[0]["status"] == "installed"
    assert (
        json.loads(pm("playbook", "import", str(path), "--json").stdout)[0]["status"] == "unchanged"
    )
    changed = write_file("w2.yaml", WATER.replace("severity: minor", "severity: major"))
    r = pm("playbook", "import", str(changed), ok=False)
    assert r.exit_code == 1
    assert "test.water-daily version 1 is installed with other content" in r.stderr
    assert "bump version to 2" in r.stderr
    r = pm("playbook", "lint", str(changed), ok=False)  # lint sees the installed clash too
    assert "installed with other content" in r.stderr
    shown = pm.json("playbook", "show", "test.water-daily")
    assert shown["version"] == 1 and [s["id"] for s in shown["steps"]] == [
        "access",
        "chlorine",
        "turbidity",
        "log",
    ]
    assert shown["steps"][2]["range"] == {"min": None, "max": 1.0}
    assert shown["steps"][2]["severity"] == "minor"


def test_diff_between_versions(pm, db, write_file):
    pm("playbook", "import", str(write_file("w.yaml", WATER)))
    v2 = WATER.replace("version: 1", "version: 2").replace("severity: minor", "severity: major")
    v2 += (
        "  - id: ph\n    title: pH\n    instruction: 测 pH / Measure pH\n"
        "    acceptance: 6.5–8.5\n    kind: reading\n    unit: pH\n"
        "    range: {min: 6.5, max: 8.5}\n"
    )
    path = write_file("w2.yaml", v2)
    d = json.loads(pm("playbook", "diff", str(path), "--json").stdout)
    assert d["added"] == ["ph"] and d["changed"]["turbidity"]["severity"] == {
        "from": "minor",
        "to": "major",
    }
    pm("playbook", "import", str(path))
    d = json.loads(pm("playbook", "diff", "test.water-daily", "--json").stdout)
    assert (d["from"], d["to"], d["added"]) == ("test.water-daily@1", "test.water-daily@2", ["ph"])
    assert pm.json("playbook", "show", "test.water-daily@1")["version"] == 1


def test_schema_is_json_schema_for_editors(pm):
    doc = json.loads(pm("playbook", "schema").stdout)
    assert doc["$schema"].startswith("https://json-schema.org/")
    assert "steps" in doc["properties"] and "Step" in doc["$defs"]


def test_committed_schema_file_is_current(pm):
    from pm_cli.playbooks.service import schema_path

    assert json.loads(schema_path().read_text(encoding="utf-8")) == json.loads(
        pm("playbook", "schema").stdout
    ), "regenerate: pm playbook schema > " + str(schema_path())
