"""Photos between two laptops that are processes of the installed `pm`, through a real
`pm server run` (uvicorn) on loopback, over SQLite and PostgreSQL; forged uploads over raw
HTTP to that server. A module of its own, so pytest-xdist runs it beside the others."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.sync.test_photos import FIXTURE, PHOTO, blobs

# ---- the real thing: uvicorn on loopback, laptops as processes of the installed pm -------


def _pm(root: Path, *args: str, env_extra: dict[str, str] | None = None) -> str:
    from tests.e2e.test_installed import pm_executable

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PM_", "XDG_"))}
    env.update(
        PM_DB=str(root / "pm.db"),
        PM_CONFIG=str(root / "config.toml"),
        PM_SITE="CH",
        HOME=str(root / "home"),
        XDG_DATA_HOME=str(root / "xdg"),
        **(env_extra or {}),
    )
    p = subprocess.run(
        [pm_executable(), *args],
        env=env,
        cwd=root,
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    out, err = p.stdout.decode(), p.stderr.decode()
    assert p.returncode == 0 and "Traceback" not in out + err, (args, p.returncode, out, err)
    return out


@pytest.mark.live
def test_two_laptops_and_a_real_server(server, tmp_path):
    a, b = tmp_path / "甲 laptop A", tmp_path / "乙 laptop B"
    a.mkdir()
    b.mkdir()
    photo = a / "余氯 photo.jpg"
    photo.write_bytes(PHOTO)
    _pm(a, "init")
    _pm(a, "sync", "login", server.url, "--token", server.token("alice", "a"))
    _pm(a, "site", "add", "CH", "--name", "翠湖花园", "--tz", "Asia/Shanghai")
    _pm(a, "staff", "add", "S1", "--name", "张伟", "--role", "lead")
    _pm(a, "grid", "add", "W", "--name", "水泵房", "--owner", "S1")
    _pm(a, "playbook", "import", str(FIXTURE))
    run = json.loads(
        _pm(a, "run", "start", "test.water-daily", "--grid", "W", "--by", "S1", "--json")
    )
    _pm(a, "run", "record", run["short"], "chlorine", "--value", "0.3", "--photo", str(photo))
    assert json.loads(_pm(a, "sync", "--json"))["photos"]["waiting_upload"] == 0
    _pm(b, "init")
    _pm(b, "sync", "login", server.url, "--token", server.token("bob", "b"))
    _pm(b, "sync")
    before = _pm(b, "run", "show", run["short"])
    assert f"not downloaded: pm run show {run['short']} --photos" in before
    shown = json.loads(_pm(b, "run", "show", run["short"], "--photos", "--json"))
    ev = {r["step"]: r["evidence"] for r in shown["results"]}["chlorine"]
    assert ev["status"] == "uploaded"
    got = Path(ev["path"])
    assert got.is_relative_to(b) and got.read_bytes() == PHOTO
    assert hashlib.sha256(got.read_bytes()).hexdigest() == ev["sha256"]
    # forged over raw HTTP to the real server: nothing stored
    token = (b / "config.toml").read_text().split('token = "')[1].split('"')[0]
    h = {"Authorization": f"Bearer {token}", "Pm-Protocol": "1", "Pm-Schema": "8"}
    sha = ev["sha256"]
    r = server.http.put(f"{server.url}/evidence/{sha}", content=b"forged", headers=h)
    assert r.status_code == 422
    from pm_cli.server.evidence import MAX_BYTES

    def chunks():  # no Content-Length: the server counts as it reads
        for _ in range(MAX_BYTES // 65536 + 2):
            yield b"\0" * 65536

    r = server.http.put(f"{server.url}/evidence/{sha}", content=chunks(), headers=h)
    assert r.status_code == 413
    unknown = hashlib.sha256(b"nobody's").hexdigest()
    r = server.http.put(f"{server.url}/evidence/{unknown}", content=b"nobody's", headers=h)
    assert r.status_code == 403
    assert blobs(server) == {sha: PHOTO}
