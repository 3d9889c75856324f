"""Load: concurrent laptops pushing to one server on PostgreSQL (two workers) while another
pulls: every change stored exactly once with seqs 1..head, and everyone ends with all of
them. 10 × 200 here; 50 × 1,000 in bench/sync_bench.py."""

from __future__ import annotations

import threading

import pytest

from tests.sync.conftest import snapshot
from tests.sync.test_faults import assert_log_clean
from tests.sync.test_sync import setup_site

CLIENTS, CHANGES = 10, 200


@pytest.fixture
def workers() -> int:
    return 2


@pytest.mark.slow
@pytest.mark.live  # two worker processes behind one port
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_pushes_store_each_change_once_and_everyone_gets_all(laptop, server):
    from pm_cli.sync import client

    first = laptop("l0", "alice")
    setup_site(first)
    first("sync")
    laptops = [first] + [laptop(f"l{k}", "alice") for k in range(1, CLIENTS)]
    for k, lp in enumerate(laptops):
        lp("sync")
        csv = lp.db.parent / f"g{k}.csv"
        csv.write_text(
            "code,name,parent\n" + "".join(f"L{k}-{i:03d},第{k}台 {i},A\n" for i in range(CHANGES)),
            encoding="utf-8",
        )
        lp("import", str(csv), "--kind", "grids")
    watcher = laptop("w", "bob")
    errors: list[BaseException] = []
    done = threading.Event()

    def push(lp) -> None:  # type: ignore[no-untyped-def]
        try:
            cfg = {"url": server.url, "token": _token(lp)}
            client.sync(lp.db, **cfg)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def watch() -> None:  # pulls while the pushes run: must skip nothing
        try:
            cfg = {"url": server.url, "token": _token(watcher)}
            while not done.is_set():
                client.sync(watcher.db, **cfg, pull_only=True)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=push, args=(lp,)) for lp in laptops]
    w = threading.Thread(target=watch)
    w.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    done.set()
    w.join(300)
    assert not errors, errors
    assert_log_clean(server)
    watcher("sync")
    for lp in laptops:
        lp("sync")
    expected = 2 + CLIENTS * CHANGES
    assert len(watcher.json("grid", "list")) == expected
    ref = snapshot(watcher)
    for lp in laptops:
        assert snapshot(lp) == ref


def _token(lp) -> str:  # type: ignore[no-untyped-def]
    return lp.config.read_text().split('token = "')[1].split('"')[0]
