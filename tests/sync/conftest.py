"""The sync server over SQLite or PostgreSQL, and laptops: separate pm databases and config
files driven through the CLI.

The server is the real app (`create_app`) over a real database, reached in-process: Starlette's
TestClient is the transport of every `pm sync` request, so each request goes through the app's
HTTP handling (status codes, headers, streamed NDJSON) without a socket. Tests marked `live`
get a real uvicorn process on loopback instead: the ones that cut connections, kill the server,
run several workers or send a chunked body."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from pm_cli.app import app

PG_URL = os.environ.get("PM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
APP_URL = "http://testserver"  # the in-process server's address (no socket behind it)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def pg_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def admin(url: str, *args: str) -> Any:
    r = CliRunner().invoke(app, ["server", *args, "--database-url", url], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh server database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    import psycopg

    if not pg_available():
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} (PM_TEST_DATABASE_URL); .ci/run starts it"
        )
    schema = f"pm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield pg_url(schema)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@dataclass
class Server:
    url: str
    database_url: str
    http: httpx.Client  # requests to this server (`server.http.post(server.url + "/sync/…")`)

    def token(self, user: str, device: str) -> str:
        return (
            admin(self.database_url, "token", "issue", user, "--device", device)
            .output.strip()
            .splitlines()[-1]
        )


@dataclass
class LiveServer(Server):
    """`pm server run` in a process of its own, on loopback."""

    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGKILL the server and its workers (the whole process group), as a host dying."""
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def start(self) -> None:
        self.proc = _spawn(self.database_url, int(self.url.rsplit(":", 1)[1]), self.log)
        _wait(self)


def _spawn(database_url: str, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PM_SERVER_DATABASE_URL": database_url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pm_cli",
            "server",
            "run",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError("server exited:\n" + server.log.read_text())
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start:\n" + server.log.read_text())


@pytest.fixture
def workers() -> int:
    return 1


@pytest.fixture
def server(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    workers: int,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Server]:
    """Migrated, with users alice (manager of CH) and bob (lead of CH), running: the app
    in-process, or (marked `live`) a real server process on loopback."""
    admin(database_url, "migrate")
    admin(database_url, "user", "add", "alice", "--sites", "CH", "--role", "manager")
    admin(database_url, "user", "add", "bob", "--sites", "CH", "--role", "lead")
    admin(database_url, "user", "add", "xavier", "--sites", "XY", "--role", "manager")
    if request.node.get_closest_marker("live"):
        yield from _live(database_url, tmp_path, workers)
    else:
        yield from _in_process(database_url, monkeypatch)


def _live(database_url: str, tmp_path: Path, workers: int) -> Iterator[LiveServer]:
    port = free_port()
    log = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    with httpx.Client() as http:
        srv = LiveServer(url, database_url, http, _spawn(database_url, port, log, workers), log)
        try:
            _wait(srv)
            yield srv
        finally:
            srv.stop()


def _in_process(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    import warnings

    from pm_cli.server import app as server_app
    from pm_cli.server import db
    from pm_cli.sync import transport as client

    with warnings.catch_warnings():
        # Starlette's TestClient would rather speak httpx2; pm speaks httpx, and the TestClient's
        # transport must be an httpx one to carry pm's requests
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    # create_app keeps its engine to itself: caught here to be disposed of at the end, as a
    # stopping server closes its connections
    engines: list[Any] = []

    def make_engine(url: str, **kw: Any) -> Any:
        engines.append(real_make_engine(url, **kw))
        return engines[-1]

    real_make_engine = db.make_engine
    with monkeypatch.context() as m:
        m.setattr(db, "make_engine", make_engine)
        asgi = server_app.create_app(database_url)
    try:
        with TestClient(
            asgi, base_url=APP_URL, raise_server_exceptions=False, follow_redirects=False
        ) as http:
            transport = http._transport
            assert isinstance(transport, httpx.BaseTransport), "the TestClient is not httpx's"
            monkeypatch.setattr(client, "TRANSPORT", transport)
            yield Server(APP_URL, database_url, http)
    finally:
        for e in engines:
            e.dispose()


class Laptop:
    """One laptop: its own pm database and user config, driven through the CLI."""

    def __init__(self, name: str, root: Path):
        self.name = name
        self.db = root / f"{name}.db"
        self.config = root / f"{name}.toml"
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        env = {"PM_CONFIG": str(self.config), "PM_SITE": "CH", "PM_DB": str(self.db)}
        r = self.runner.invoke(app, list(args), env=env, catch_exceptions=False)
        if ok:
            assert r.exit_code == 0, (
                f"{self.name}: pm {' '.join(args)} -> {r.exit_code}\n{r.output}"
            )
        return r

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def rows(self, table: str, *cols: str) -> list[tuple[Any, ...]]:
        import sqlite3

        con = sqlite3.connect(self.db)
        try:
            return con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id").fetchall()
        finally:
            con.close()


@pytest.fixture
def laptop(tmp_path: Path, server: Server):  # type: ignore[no-untyped-def]
    """laptop("a", "alice"): a new pm database logged in to the server as that user."""
    made: dict[str, Laptop] = {}

    def make(name: str, user: str) -> Laptop:
        lp = Laptop(name, tmp_path)
        lp("init")
        lp("sync", "login", server.url, "--token", server.token(user, name))
        made[name] = lp
        return lp

    return make


SYNCED = {  # table → the columns that must match on every replica
    "site": ("id", "code", "name", "tz", "deleted", "field_hlc"),
    "staff": ("id", "code", "name", "role", "deleted", "field_hlc"),
    "grid": (
        "id",
        "code",
        "name",
        "parent_id",
        "owner_id",
        "risk_level",
        "tags",
        "deleted",
        "field_hlc",
    ),
    "run": ("id", "status", "finished_at", "field_hlc"),
    "step_result": ("id", "run_id", "step_id", "outcome", "hlc"),
    "pdca": ("id", "no", "title", "owner_id", "field_hlc"),
    "pdca_event": ("id", "pdca_id", "to_phase", "cycle", "hlc"),
    "conflict": ("id", "entity", "field", "kind", "loser_value"),
}


def _value(v: Any) -> Any:
    """JSON columns compared as values (PostgreSQL's jsonb orders keys its own way)."""
    if isinstance(v, str) and v[:1] in "{[":
        return json.dumps(json.loads(v), sort_keys=True)
    return v


def snapshot(lp: Laptop) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t: [tuple(_value(v) for v in row) for row in lp.rows(t, *cols)]
        for t, cols in SYNCED.items()
    }
