"""Running the server: its log lines, its answers while its database is down, its clock under
threads; and the laptop's retries against it (Retry-After, jitter) and what `pm sync` says
when the server's database is unreachable."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

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
