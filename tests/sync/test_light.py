"""`pm sync` as a fresh process moves rows with Core tables only: it builds no SQLModel
class and loads no pydantic (what start-up cost most of a 100-change sync)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.test_startup import PROBE


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pm_sync_loads_neither_sqlmodel_nor_pydantic(server, laptop, tmp_path):
    a = laptop("a", "alice")
    a("site", "add", "CH", "--name", "翠湖花园")
    a("staff", "add", "W01", "--name", "王师傅", "--role", "lead")
    a("grid", "add", "A1", "--name", "一号楼", "--owner", "W01")
    b = laptop("b", "alice")
    a("sync")
    a("grid", "edit", "A1", "--name", "一号楼（东）")

    def probe(lp):
        env = {**os.environ, "PM_CONFIG": str(lp.config), "PM_DB": str(lp.db), "PM_SITE": "CH"}
        r = subprocess.run(
            [sys.executable, "-c", PROBE, "sync"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        heavy = [x for x in r.stderr.splitlines() if x.startswith("HEAVY:")][-1][6:]
        return r.stdout + r.stderr, set(heavy.split(","))

    out, loaded = probe(a)  # a push
    assert "pushed 1" in out
    assert "sqlalchemy" in loaded  # the probe sees what the command loaded
    assert not loaded & {"sqlmodel", "pydantic"}, loaded
    out, loaded = probe(b)  # a first sync: snapshot, then pull
    assert not loaded & {"sqlmodel", "pydantic"}, loaded
    assert b.rows("grid", "name") == [("一号楼（东）",)]
