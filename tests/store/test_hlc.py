"""Hybrid logical clock: stamps only ever rise, whatever the wall clock or a remote does."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_cli.store.hlc import MAX_COUNTER, Clock, Stamp, is_stamp, parse

FORMAT = re.compile(r"^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$")
DEVICE = "0123456789abcdef"
OTHER = "fedcba9876543210"

# Walls near each other so that collisions, ties and steps backwards are common.
BASE = 0x019_0000_0000
walls = st.integers(min_value=BASE - 50, max_value=BASE + 50)
counters = st.one_of(st.integers(0, 5), st.integers(MAX_COUNTER - 3, MAX_COUNTER))
devices = st.from_regex(r"\A[0-9a-f]{16}\Z")
stamps = st.builds(lambda w, c, d: str(Stamp(w, c, d)), walls, counters, devices)
# A script of clock events: read the wall clock (which may have stepped back) or receive.
events = st.lists(
    st.one_of(st.tuples(st.just("now"), walls), st.tuples(st.just("recv"), walls, stamps)),
    min_size=1,
    max_size=40,
)


class FakeWall:
    def __init__(self, ms: int):
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def run(clock: Clock, wall: FakeWall, script) -> list[str]:
    out = []
    for event in script:
        wall.ms = event[1]
        if event[0] == "now":
            out.append(clock.now())
        else:
            remote = event[2]
            got = clock.recv(remote)
            assert got > remote, f"recv({remote}) gave {got}"
            assert parse(got)[:2] > parse(remote)[:2]
            out.append(got)
    return out


@given(start=st.one_of(st.none(), stamps), script=events, offset=st.integers(-10, 10))
def test_stamps_strictly_increase_even_when_the_wall_clock_steps_back(start, script, offset):
    wall = FakeWall(BASE)
    clock = Clock(DEVICE, start, offset_ms=offset, now_ms=wall)
    seen = [start] if start else []
    seen += run(clock, wall, script)
    as_tuples = [parse(s)[:2] for s in seen]
    assert all(a < b for a, b in zip(as_tuples, as_tuples[1:], strict=False)), seen
    # every stamp made here carries this device; `last` is the newest one
    assert all(parse(s).device == DEVICE for s in seen[1 if start else 0 :])
    assert clock.last == seen[-1]


@given(script=events)
def test_every_stamp_has_the_fixed_width_format(script):
    wall = FakeWall(BASE)
    clock = Clock(DEVICE, now_ms=wall)
    for s in run(clock, wall, script):
        assert FORMAT.match(s), s
        assert is_stamp(s)
        wall_, counter, device = parse(s)
        assert s == f"{wall_:012x}-{counter:04x}-{device}"
        assert len(device) == 16


@given(a=stamps, b=stamps)
def test_string_order_is_stamp_order(a, b):
    sa, sb = parse(a), parse(b)
    key_a, key_b = (sa.wall, sa.counter, sa.device), (sb.wall, sb.counter, sb.device)
    assert (a < b) == (key_a < key_b)
    assert (a == b) == (key_a == key_b)


@given(wall=st.integers(0, 2**47), counter=st.integers(0, MAX_COUNTER), device=devices)
def test_parse_and_str_round_trip(wall, counter, device):
    text = str(Stamp(wall, counter, device))
    assert FORMAT.match(text)
    assert parse(text) == (wall, counter, device)


def test_counter_overflow_bumps_the_wall():
    wall = FakeWall(BASE)
    clock = Clock(DEVICE, f"{BASE:012x}-{MAX_COUNTER - 1:04x}-{DEVICE}", now_ms=wall)
    assert clock.now() == f"{BASE:012x}-ffff-{DEVICE}"
    assert clock.now() == f"{BASE + 1:012x}-0000-{DEVICE}"
    # the physical clock has not caught up: keep counting on the bumped wall
    assert clock.now() == f"{BASE + 1:012x}-0001-{DEVICE}"


def test_recv_of_a_remote_at_the_counter_limit_bumps_the_wall():
    wall = FakeWall(BASE - 1000)
    clock = Clock(DEVICE, now_ms=wall)
    remote = f"{BASE:012x}-ffff-{OTHER}"
    got = clock.recv(remote)
    assert got == f"{BASE + 1:012x}-0000-{DEVICE}"
    assert got > remote
    assert clock.now() > got


def test_recv_then_now_out_stamps_a_remote_from_the_future():
    wall = FakeWall(BASE)
    clock = Clock(DEVICE, now_ms=wall)
    remote = f"{BASE + 3_600_000:012x}-0007-{OTHER}"
    clock.recv(remote)
    assert clock.now() > remote


def test_a_clock_restarted_from_its_last_stamp_continues_above_it():
    wall = FakeWall(BASE)
    first = Clock(DEVICE, now_ms=wall)
    made = [first.now() for _ in range(3)]
    wall.ms = BASE - 60_000  # the laptop's clock was set back a minute
    second = Clock(DEVICE, first.last, now_ms=wall)
    assert second.now() > made[-1]


def test_offset_shifts_the_physical_time():
    clock = Clock(DEVICE, offset_ms=5_000, now_ms=FakeWall(BASE))
    assert parse(clock.now()).wall == BASE + 5_000


@pytest.mark.parametrize("bad", ["", "0123", "0123456789ABCDEF", "0123456789abcdeg", "x" * 16])
def test_bad_device_id_refused(bad):
    with pytest.raises(ValueError, match="device"):
        Clock(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0193a4f2c1d8-0003-9f2c4e1a7b3d5c6",
        "0193A4F2C1D8-0003-9f2c4e1a7b3d5c60",
        "193a4f2c1d8-0003-9f2c4e1a7b3d5c60",
        "0193a4f2c1d8-3-9f2c4e1a7b3d5c60",
    ],
)
def test_parse_refuses_what_is_not_a_stamp(bad):
    assert not is_stamp(bad)
    with pytest.raises(ValueError):
        parse(bad)
