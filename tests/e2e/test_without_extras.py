"""An install without `pm-cli[server]`: the laptop commands work, `pm server …` says which
extra it needs. The installed `pm` runs in a fresh process with the extra's modules hidden
(a sitecustomize that maps them to None, as Python does for a module that is absent)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_installed import pm_executable

EXTRA = ("fastapi", "uvicorn", "psycopg")


@pytest.fixture
def run_bare(tmp_path: Path):  # type: ignore[no-untyped-def]
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in EXTRA)
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(hide),
        "PM_DB": str(tmp_path / "pm.db"),
        "PM_CONFIG": str(tmp_path / "config.toml"),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("PM_SERVER_DATABASE_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pm_executable(), *args],
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            cwd=tmp_path,
        )

    # the hiding works: the extra is really gone for this interpreter
    probe = subprocess.run(
        [sys.executable, "-c", "import fastapi"], env=env, capture_output=True, text=True
    )
    assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr
    return run


@pytest.mark.parametrize(
    "args",
    [
        ("server", "migrate"),
        ("server", "run", "--port", "0"),
        ("server", "user", "add", "wang", "--sites", "CH"),
        ("server", "user", "list"),
        ("server", "token", "issue", "wang", "--device", "laptop"),
        ("server", "site", "add", "CH"),
    ],
)
def test_server_commands_name_the_extra_without_a_traceback(run_bare, tmp_path, args):
    r = run_bare(*args, "--database-url", f"sqlite:///{tmp_path / 'server.db'}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        "error: the sync server needs the server extra",
        "hint: pip install 'pm-cli[server]'",
    ], r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "server.db").exists()  # nothing half-made


def test_the_laptop_side_needs_no_server_extra(run_bare):
    for args in (
        ("init",),
        ("site", "add", "CH", "--name", "翠湖花园"),
        ("--site", "CH", "grid", "add", "A", "--name", "A区"),
        ("sync", "status"),
    ):
        r = run_bare(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
    assert "--database-url" in run_bare("server", "run", "--help").stdout
