"""Hybrid logical clock stamps in sync.md's format: `%012x-%04x-%016x`.

48-bit Unix milliseconds, 16-bit counter, 64-bit device id. Fixed width, so string order is
stamp order and the device tail breaks ties.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

MAX_COUNTER = 0xFFFF
_STAMP = re.compile(r"^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$")


class Stamp(NamedTuple):
    wall: int
    counter: int
    device: str

    def __str__(self) -> str:
        return f"{self.wall:012x}-{self.counter:04x}-{self.device}"


def new_device_id() -> str:
    return secrets.token_hex(8)


def parse(text: str) -> Stamp:
    if not _STAMP.match(text):
        raise ValueError(f"not an HLC stamp: {text!r}")
    wall, counter, device = text.split("-")
    return Stamp(int(wall, 16), int(counter, 16), device)


def is_stamp(text: str) -> bool:
    return bool(_STAMP.match(text))


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """One device's clock. `last` is the newest stamp it has made or seen (sync.md §1)."""

    def __init__(
        self,
        device: str,
        last: str | None = None,
        *,
        offset_ms: int = 0,
        now_ms: Callable[[], int] = wall_ms,
    ):
        if not re.fullmatch(r"[0-9a-f]{16}", device):
            raise ValueError(f"not a device id: {device!r}")
        self.device = device
        self.offset_ms = offset_ms
        self._now_ms = now_ms
        self.wall, self.counter = (0, 0)
        if last:
            s = parse(last)
            self.wall, self.counter = s.wall, s.counter

    @property
    def last(self) -> str:
        return f"{self.wall:012x}-{self.counter:04x}-{self.device}"

    def _physical(self) -> int:
        return self._now_ms() + self.offset_ms

    def _bump(self) -> None:
        if self.counter >= MAX_COUNTER:
            self.wall += 1
            self.counter = 0
        else:
            self.counter += 1

    def now(self) -> str:
        """A stamp greater than every stamp this clock has made or seen."""
        pt = self._physical()
        if pt > self.wall:
            self.wall, self.counter = pt, 0
        else:
            self._bump()
        return self.last

    def recv(self, remote: str) -> str:
        """Fold in a stamp seen from elsewhere, so the next `now()` out-stamps it."""
        r = parse(remote)
        pt = self._physical()
        wall = max(self.wall, r.wall, pt)
        if wall == self.wall == r.wall:
            counter = max(self.counter, r.counter) + 1
        elif wall == self.wall:
            counter = self.counter + 1
        elif wall == r.wall:
            counter = r.counter + 1
        else:
            counter = 0
        if counter > MAX_COUNTER:
            wall, counter = wall + 1, 0
        self.wall, self.counter = wall, counter
        return self.last
