"""Forged pushes with a valid lead token against a real `pm server run` (uvicorn on loopback,
SQLite and PostgreSQL), laptops as processes of the installed `pm`: the forged changes are
refused one by one and every laptop of the site keeps syncing and reading its site. A module
of its own, so pytest-xdist runs it beside the others."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from tests.sync.test_photos_live import _pm
from tests.sync.test_security import H, change, stamp


@pytest.mark.live
def test_forged_pushes_to_a_real_server_break_no_laptop(server, tmp_path):
    a, b, c = (tmp_path / n for n in ("甲 manager", "乙 lead", "丙 new laptop"))
    for root in (a, b, c):
        root.mkdir()
        _pm(root, "init")
    _pm(a, "sync", "login", server.url, "--token", server.token("alice", "a"))
    _pm(a, "site", "add", "CH", "--name", "翠湖花园", "--tz", "Asia/Shanghai")
    _pm(a, "staff", "add", "S1", "--name", "张伟", "--role", "lead")
    _pm(a, "grid", "add", "A", "--name", "A区", "--owner", "S1")
    _pm(a, "pdca", "add", "门禁坏了", "--severity", "major", "--grid", "A")
    _pm(a, "sync")
    token = server.token("bob", "b")
    _pm(b, "sync", "login", server.url, "--token", token)
    _pm(b, "sync")
    con = sqlite3.connect(Path(b) / "pm.db")
    device = con.execute("SELECT device_id FROM sync_state").fetchone()[0]
    site = con.execute("SELECT id FROM site").fetchone()[0]
    grid = con.execute("SELECT id FROM grid WHERE code = 'A'").fetchone()[0]
    item = con.execute("SELECT id FROM pdca").fetchone()[0]
    con.close()
    h = {**H, "Authorization": f"Bearer {token}"}
    forged = [
        change(site, device, record_id=grid, fields={"name": {"zh": "对象"}}),
        change(site, device, record_id=grid, fields={"risk_level": 3}),
        change(site, device, record_id=grid, fields={"owner_id": str(uuid.uuid4())}),
        change(
            site,
            device,
            entity="pdca",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "title": "x",
                "description": "大" * 5_000_00,
                "respond_by": "2026-11-25T01:00:00.000Z",
                "resolve_by": "2026-11-26T00:00:00.000Z",
            },
        ),
        change(
            site,
            device,
            entity="pdca_event",
            op="append",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "pdca_id": item,
                "kind": "transition",
                "from_phase": "plan",
                "to_phase": "closed",
                "cycle": 1,
                "note": "x",
            },
        ),
        change(
            site,
            device,
            entity="conflict",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "entity": "grid",
                "record_id": grid,
                "kind": "field",
            },
        ),
    ]
    for ch in forged:  # one at a time: each is the error itself, nothing stored
        ch["hlc"] = stamp(device)
        r = httpx.post(server.url + "/sync/push", json={"changes": [ch]}, headers=h, timeout=30)
        assert r.status_code in (403, 413, 422), r.text
    r = httpx.post(
        server.url + "/sync/push",
        json={
            "changes": [
                {**forged[0], "change_id": str(uuid.uuid4()), "hlc": stamp(device)},
                change(
                    site,
                    device,
                    fields={"code": "B", "name": "B区", "created_at": "2026-11-25T00:00:00.000Z"},
                ),
            ]
        },
        headers=h,
        timeout=30,
    )
    assert [x["status"] for x in r.json()["results"]] == ["rejected", "applied"]
    _pm(c, "sync", "login", server.url, "--token", server.token("alice", "c"))
    for root in (a, b, c):
        _pm(root, "sync")
        grids = {g["code"]: g["name"] for g in json.loads(_pm(root, "grid", "list", "--json"))}
        assert grids == {"A": "A区", "B": "B区"}
        for cmd in (
            ("today", "--json"),
            ("pdca", "overdue", "--json"),
            ("grid", "heatmap", "--json"),
            ("export", "items"),
        ):
            _pm(root, *cmd)
        [it] = json.loads(_pm(root, "pdca", "list", "--json"))
        assert it["phase"] == "plan"
