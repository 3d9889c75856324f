"""Running the server: its log lines, its answers while its database is down, its clock under
threads; and the laptop's retries against it (Retry-After, jitter) and what `pm sync` says
when the server's database is unreachable."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from pm_cli.errors import SyncError
from pm_cli.server.auth import ServerClock
from pm_cli.store.hlc import Clock, new_device_id, wall_ms
from pm_cli.sync import transport as client
from tests.e2e.test_installed import pm_executable
from tests.sync.conftest import (
    Laptop,
    LiveServer,
    _spawn,
    _wait,
    admin,
    free_port,
)

HEADERS = {"Pm-Protocol": "1", "Pm-Schema": "8"}
TRACEBACK = "Traceback (most recent call last)"


def wait_for(check: Callable[[], Any], timeout: float = 10) -> Any:
    """`check()` once it is truthy (log lines are written just after the answer is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def log_lines(server: LiveServer) -> list[str]:
    return server.log.read_text(errors="replace").splitlines()


def issue(database_url: str, user: str, device: str) -> dict[str, Any]:
    return json.loads(
        admin(database_url, "token", "issue", user, "--device", device, "--json").stdout
    )


# ---- the log of `pm server run` -------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_log_says_where_it_listens_then_one_line_per_request_without_secrets(server):
    host_port = server.url.removeprefix("http://")
    # the fixture waited for /health to answer 200; its log line follows the answer
    wait_for(lambda: any(" GET /health " in ln for ln in log_lines(server)))
    lines = log_lines(server)
    listening = [ln for ln in lines if "listening on" in ln]
    assert len(listening) == 1, lines
    assert listening[0].endswith(f"listening on http://{host_port}")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d listening", listening[0])
    first_request = next(i for i, ln in enumerate(lines) if " GET /health " in ln)
    assert lines.index(listening[0]) < first_request  # said before it answered anything

    tok = issue(server.database_url, "alice", "lead-laptop-1")
    auth = {**HEADERS, "Authorization": f"Bearer {tok['token']}"}
    before = len(log_lines(server))
    r = server.http.post(
        server.url + "/sync/hello", headers=auth, json={"device_id": new_device_id()}
    )
    assert r.status_code == 200, r.text
    secret = "pmt_" + "s3cret" * 6
    r = server.http.get(
        server.url + "/sync/pull", headers=auth, params={"cursor": 0, "limit": 5, "token": secret}
    )
    assert r.status_code == 200
    r = server.http.get(
        server.url + "/sync/pull", headers={**HEADERS, "Authorization": "Bearer pmt_not-a-token"}
    )
    assert r.status_code == 401

    def requests_since() -> list[str]:
        return [ln for ln in log_lines(server)[before:] if " /health " not in ln]

    new = wait_for(lambda: len(requests_since()) >= 3) and requests_since()
    assert new and len(new) == 3, log_lines(server)[before:]
    hello, pull, refused = new
    assert re.search(
        rf"127\.0\.0\.1 POST /sync/hello 200 \d+\.\d ms "
        rf"token_id={tok['token_id']}$",
        hello,
    )
    assert re.search(
        rf"GET /sync/pull\?cursor=0&limit=5&token=… 200 \d+\.\d ms "
        rf"token_id={tok['token_id']}$",
        pull,
    )
    assert re.search(r"GET /sync/pull 401 \d+\.\d ms$", refused)  # no token_id: not signed in
    text = server.log.read_text()
    assert tok["token"] not in text and secret not in text and "pmt_not-a-token" not in text
    assert TRACEBACK not in text
    # uvicorn's own start-up chatter is not shown
    assert "Uvicorn running" not in text and "Started server process" not in text


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("workers", [2])
def test_several_workers_say_listening_once(server):
    for _ in range(4):
        assert server.http.get(server.url + "/health").status_code == 200
    # the supervisor says it once a worker serves (it asks them every half second)
    assert wait_for(lambda: any("listening on" in ln for ln in log_lines(server)))
    lines = log_lines(server)
    listening = [ln for ln in lines if "listening on" in ln]
    assert len(listening) == 1, lines
    assert listening[0].endswith(f"listening on {server.url} (2 workers)")
    assert wait_for(lambda: sum(" GET /health 200 " in ln for ln in log_lines(server)) >= 5)


# ---- the database down ----------------------------------------------------------------


class Forwarder:
    """A TCP forwarder on a fixed loopback port in front of PostgreSQL: `stop()` is the
    database going away (listener closed, live connections cut: connection refused from then
    on), `start()` it coming back on the same address."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.start()

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        self.sock = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                a, _ = sock.accept()
            except OSError:
                return
            b = socket.create_connection(self.upstream)
            with self.lock:
                self.conns += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        assert self.sock is not None
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def url(self, database_url: str) -> str:
        """`database_url` with this forwarder's address instead of PostgreSQL's."""
        parts = urlsplit(database_url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))


@pytest.fixture
def pg_behind_forwarder(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[LiveServer, Forwarder]]:
    """`pm server run` whose PostgreSQL is reached through a Forwarder (users as in the
    `server` fixture); the test stops and starts the database's address."""
    parts = urlsplit(database_url)
    fwd = Forwarder((parts.hostname or "127.0.0.1", parts.port or 5432))
    url = fwd.url(database_url)
    admin(url, "migrate")
    admin(url, "user", "add", "alice", "--sites", "CH", "--role", "manager")
    port, log = free_port(), tmp_path / "server.log"
    with httpx.Client() as http:
        srv = LiveServer(f"http://127.0.0.1:{port}", url, http, _spawn(url, port, log), log)
        try:
            _wait(srv)
            yield srv, fwd
        finally:
            srv.stop()
            fwd.stop()


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_with_its_database_down_every_endpoint_answers_503_with_retry_after(pg_behind_forwarder):
    server, fwd = pg_behind_forwarder
    tok = issue(server.database_url, "alice", "lead-laptop-1")["token"]
    auth = {**HEADERS, "Authorization": f"Bearer {tok}"}
    device = new_device_id()
    stamp = Clock(device).now()
    calls = [
        ("GET", "/health", {}),
        ("POST", "/sync/hello", {"json": {"device_id": device}}),
        (
            "POST",
            "/sync/push",
            {
                "json": {
                    "changes": [
                        {
                            "change_id": "0193a4f2-c1d8-7a10-8e1f-2b3c4d5e6f70",
                            "site_id": "s1",
                            "entity": "site",
                            "record_id": "s1",
                            "op": "upsert",
                            "fields": {"code": "CH", "name": "CH"},
                            "hlc": stamp,
                        }
                    ]
                }
            },
        ),
        ("GET", "/sync/pull", {"params": {"cursor": 0}}),
        ("GET", "/sync/snapshot", {}),
    ]
    assert (
        server.http.post(
            server.url + "/sync/hello", headers=auth, json={"device_id": device}
        ).status_code
        == 200
    )
    fwd.stop()
    for method, path, kw in calls:
        r = server.http.request(method, server.url + path, headers=auth, **kw)
        assert r.status_code == 503, (path, r.text)
        assert int(r.headers["Retry-After"]) > 0, path
        body = r.json()
        assert {"error", "message", "where", "hint"} <= body.keys(), (path, body)
        assert body["error"] == "database_unavailable", path
        assert body["message"] == "the server's database is unreachable"
    text = server.log.read_text()
    assert TRACEBACK not in text and " 500 " not in text
    assert "warning: database unreachable: " in text  # the cause, one line, for the operator
    assert wait_for(lambda: " GET /sync/snapshot 503 " in server.log.read_text())

    fwd.start()  # the database is back: the same server answers again, no restart
    r = wait_for(
        lambda: (
            (
                x := server.http.post(
                    server.url + "/sync/hello", headers=auth, json={"device_id": device}
                )
            ).status_code
            == 200
            and x
        )
    )
    assert r, "the server did not recover when its database came back"


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_pm_sync_says_the_servers_database_is_unreachable_and_keeps_the_changes(
    pg_behind_forwarder, tmp_path
):
    server, fwd = pg_behind_forwarder
    lp = Laptop("a", tmp_path)
    lp("init")
    lp("sync", "login", server.url, "--token", server.token("alice", "a"))
    lp("site", "add", "CH", "--name", "翠湖花园")
    lp("grid", "add", "A", "--name", "A区")
    pending = lp.json("sync", "status")["pending"]
    assert pending > 0
    env = {
        **os.environ,
        "PM_CONFIG": str(lp.config),
        "PM_SITE": "CH",
        "PM_DB": str(lp.db),
        "PM_SYNC_RETRIES": "1",
    }
    fwd.stop()
    before = len(log_lines(server))
    r = subprocess.run(
        [pm_executable(), "sync"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 4, r.stderr  # as other sync errors (network)
    assert "error: the server's database is unreachable; nothing is lost\n" in r.stderr
    assert re.search(r"^hint: pending changes stay queued.*run pm sync again", r.stderr, re.M), (
        r.stderr
    )
    assert TRACEBACK not in r.stderr + r.stdout
    # it tried again before giving up (PM_SYNC_RETRIES=1: two attempts)
    assert wait_for(
        lambda: sum(" POST /sync/hello 503 " in ln for ln in log_lines(server)[before:]) == 2
    )
    assert lp.json("sync", "status")["pending"] == pending

    fwd.start()
    r = subprocess.run(
        [pm_executable(), "sync"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert lp.json("sync", "status")["pending"] == 0


# ---- the laptop's retries -------------------------------------------------------------


@pytest.fixture
def dead_database_server() -> Iterator[httpx.Client]:
    """The server app over a PostgreSQL URL where nothing listens, reached in-process."""
    import warnings

    from pm_cli.server.app import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    app = create_app("postgresql://postgres@127.0.0.1:1/test")
    with TestClient(
        app,
        base_url="http://testserver",
        raise_server_exceptions=False,
        headers={**HEADERS, "Authorization": "Bearer pmt_x"},
    ) as http:
        yield http


def test_retries_wait_at_least_retry_after_and_fifty_laptops_spread_out(
    dead_database_server, monkeypatch
):
    http = dead_database_server
    assert http.get("/health").headers["Retry-After"] == "2"
    monkeypatch.delenv("PM_SYNC_RETRIES", raising=False)
    first_waits = []
    for _ in range(50):
        waits: list[float] = []
        with pytest.raises(SyncError) as e:
            client._request(
                lambda: http.post("/sync/hello", json={"device_id": "0123456789abcdef"}),
                "hello",
                wait=waits.append,
            )
        assert e.value.message == "the server's database is unreachable; nothing is lost"
        assert "pending changes stay queued" in (e.value.hint or "")
        assert len(waits) == client.RETRIES
        assert all(2 <= w <= client.RETRY_AFTER_MAX_S for w in waits), waits
        first_waits.append(waits[0])
    # not in lock-step: 50 different first waits, spread over more than a second
    assert len(set(first_waits)) == 50
    assert max(first_waits) - min(first_waits) > 1, first_waits


def scripted(*answers: httpx.Response) -> Callable[[], httpx.Response]:
    """A server that gives these answers in turn (only the timing rules are under test)."""
    left = list(answers)
    return lambda: left.pop(0)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("7", 7, 14),
        ("HTTP-DATE+30", 28, 60),  # an HTTP date 30 s from now
        ("86400", 60, 60),  # a day asked: capped
        ("HTTP-DATE-30", 0, 0.5),  # a date gone by: no wait asked, the first window's jitter
        ("soon", 0, 0.5),  # not a number nor a date: ignored
    ],
)
def test_retry_after_seconds_or_http_date_is_honoured_up_to_a_cap(header, low, high):
    if header.startswith("HTTP-DATE"):
        header = format_datetime(
            datetime.now(UTC) + timedelta(seconds=int(header[9:])), usegmt=True
        )
    for status in (429, 503):
        waits: list[float] = []
        r = client._request(
            scripted(
                httpx.Response(status, headers={"Retry-After": header}),
                httpx.Response(200, json={}),
            ),
            "hello",
            wait=waits.append,
        )
        assert r.status_code == 200
        assert len(waits) == 1 and low <= waits[0] <= high, (status, header, waits)


def test_without_retry_after_the_wait_is_jittered_in_a_doubling_window(monkeypatch):
    monkeypatch.delenv("PM_SYNC_RETRIES", raising=False)
    runs = []
    for _ in range(30):
        waits: list[float] = []
        with pytest.raises(SyncError):
            client._request(scripted(*[httpx.Response(502)] * 5), "push", wait=waits.append)
        assert len(waits) == 4
        assert all(0 <= w <= client.BACKOFF_BASE_S * 2**i for i, w in enumerate(waits))
        runs.append(waits)
    assert len({tuple(w) for w in runs}) == 30  # no two laptops wait alike
    assert max(w[3] for w in runs) > client.BACKOFF_BASE_S * 2**2  # the window did grow


def test_network_errors_are_retried_then_reported_without_sleeping_in_the_test(monkeypatch):
    port = free_port()  # nothing listens there
    waits: list[float] = []
    monkeypatch.setattr(client, "sleep", waits.append)  # the default waiter, patched
    monkeypatch.setenv("PM_SYNC_RETRIES", "2")
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as http,
        pytest.raises(SyncError, match="cannot reach the sync server"),
    ):
        client._request(lambda: http.post("/sync/hello"), "hello")
    assert len(waits) == 2


# ---- the server's clock under threads -------------------------------------------------


def test_the_server_clock_never_hands_two_threads_the_same_or_a_lower_stamp():
    clock = ServerClock()
    # a laptop's stamp a second ahead, folded in while other threads are served
    ahead = Clock(new_device_id(), now_ms=lambda: wall_ms() + 1000).now()
    high = [""]  # the highest stamp handed out so far
    guard = threading.Lock()
    problems: list[str] = []
    stamps: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def serve(i: int) -> None:
        start.wait()
        mine = stamps[i]
        for k in range(20_000):
            if i == 0 and k % 1000 == 0:
                clock.seen(ahead)
            if k % 50:
                mine.append(clock.now())
                continue
            # now and then, checked against every stamp handed out before the call began
            with guard:
                floor = max(high[0], *(m[-1] for m in stamps if m), "")
            s = clock.now()
            if s <= floor:
                problems.append(f"{s} <= {floor}")
            with guard:
                high[0] = max(high[0], s)
            mine.append(s)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        threads = [threading.Thread(target=serve, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    every = [s for mine in stamps for s in mine]
    assert len(every) == len(set(every)), "two requests got the same stamp"
    assert not problems, problems[:5]
    assert stamps[0][-1] > ahead  # what it saw, it out-stamps
