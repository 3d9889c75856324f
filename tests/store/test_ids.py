import os
import uuid

from pm_cli.store.ids import new_id, utc_text


def test_ids_are_uuid7_unique_and_in_creation_order():
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    u = uuid.UUID(ids[0])
    assert (u.version, u.variant) == (7, uuid.RFC_4122)


def test_forked_child_makes_other_ids():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        os.write(w, new_id().encode())
        os._exit(0)
    os.close(w)
    parent_id = new_id()
    child_id = os.read(r, 64).decode()
    os.waitpid(pid, 0)
    assert child_id and child_id[19:] != parent_id[19:]  # the random tails differ


def test_utc_text_is_sortable_milliseconds_z():
    from datetime import datetime, timedelta, timezone

    t = datetime(2026, 3, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    assert utc_text(t) == "2026-03-01T06:00:00.123Z"
