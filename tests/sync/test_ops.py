"""Running the server: its log lines, its answers while its database is down, its clock under
threads; and the laptop's retries against it (Retry-After, jitter) and what `pm sync` says
when the server's database is unreachable."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from pm_cli.server.service import ServerClock
from pm_cli.store.hlc import Clock, new_device_id, wall_ms
from tests.sync.conftest import (
    LiveServer,
    admin,
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
    return json.loads(admin(database_url, "token", "issue", user, "--device", device,
                            "--json").stdout)


# ---- the log of `pm server run` -------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_log_says_where_it_listens_then_one_line_per_request_without_secrets(server):
    host_port = server.url.removeprefix("http://")
    lines = log_lines(server)  # the fixture waited for /health to answer 200
    listening = [ln for ln in lines if "listening on" in ln]
    assert len(listening) == 1, lines
    assert listening[0].endswith(f"listening on http://{host_port}")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d listening", listening[0])
    first_request = next(i for i, ln in enumerate(lines) if " GET /health " in ln)
    assert lines.index(listening[0]) < first_request  # said before it answered anything

    tok = issue(server.database_url, "alice", "lead-laptop-1")
    auth = {**HEADERS, "Authorization": f"Bearer {tok['token']}"}
    before = len(log_lines(server))
    r = server.http.post(server.url + "/sync/hello", headers=auth,
                         json={"device_id": new_device_id()})
    assert r.status_code == 200, r.text
    secret = "pmt_" + "s3cret" * 6
    r = server.http.get(server.url + "/sync/pull", headers=auth,
                        params={"cursor": 0, "limit": 5, "token": secret})
    assert r.status_code == 200
    r = server.http.get(server.url + "/sync/pull", headers={
        **HEADERS, "Authorization": "Bearer pmt_not-a-token"})
    assert r.status_code == 401

    def requests_since() -> list[str]:
        return [ln for ln in log_lines(server)[before:] if " /health " not in ln]

    new = wait_for(lambda: len(requests_since()) >= 3) and requests_since()
    assert new and len(new) == 3, log_lines(server)[before:]
    hello, pull, refused = new
    assert re.search(rf"127\.0\.0\.1 POST /sync/hello 200 \d+\.\d ms "
                     rf"token_id={tok['token_id']}$", hello)
    assert re.search(rf"GET /sync/pull\?cursor=0&limit=5&token=… 200 \d+\.\d ms "
                     rf"token_id={tok['token_id']}$", pull)
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
