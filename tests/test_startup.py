"""`pm --version` and `pm --help` stay light: no database or server stack on their path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "fastapi", "httpx", "uvicorn", "pydantic", "rich")

PROBE = """
import sys
sys.argv = ["pm", *sys.argv[1:]]
try:
    from pm_cli.app import main
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY_NAMES))
sys.stderr.write("HEAVY:" + ",".join(heavy) + "\\n")
""".replace("HEAVY_NAMES", repr(HEAVY))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["grid", "--help"]])
def test_light_commands_import_no_heavy_module(args, tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "the command printed nothing"
    line = [x for x in r.stderr.splitlines() if x.startswith("HEAVY:")][-1]
    assert line == "HEAVY:", f"pm {' '.join(args)} loaded {line[6:]}"


def test_probe_detects_a_heavy_import(tmp_path):
    """The guard above can fail: a command that opens the database loads SQLAlchemy."""
    env_db = tmp_path / "pm.db"
    r = subprocess.run(
        [sys.executable, "-c", PROBE, "--db", str(env_db), "init"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PM_CONFIG": str(tmp_path / "c.toml"), "HOME": str(tmp_path), "PATH": ""},
    )
    line = [x for x in r.stderr.splitlines() if x.startswith("HEAVY:")][-1]
    assert "sqlalchemy" in line


def test_grid_list_json_reads_with_core_alone(tmp_path):
    """An everyday read builds no model class: no SQLModel, no pydantic, no rich for --json."""
    env = {**os.environ, "PM_DB": str(tmp_path / "pm.db"), "PM_CONFIG": str(tmp_path / "c.toml")}
    subprocess.run(
        [sys.executable, "-m", "pm_cli", "demo"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    r = subprocess.run(
        [sys.executable, "-c", PROBE, "--site", "CH", "grid", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert any(g["code"] == "A" for g in json.loads(r.stdout))
    line = [x for x in r.stderr.splitlines() if x.startswith("HEAVY:")][-1]
    loaded = set(line[6:].split(","))
    assert "sqlalchemy" in loaded
    assert not loaded & {"sqlmodel", "pydantic", "rich"}, loaded
