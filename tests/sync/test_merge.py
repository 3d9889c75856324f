"""The merge function (sync.md §4): any order, grouping or repetition of the same changes
gives the same record; appends are inserted once; edits after a delete are reported."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pm_cli.protocol.merge import State, merge

DEVICES = ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc")
FIELDS = ("name", "owner_id", "risk_level", "deleted")


def stamp(ms: int, counter: int, device: str) -> str:
    return f"{ms:012x}-{counter:04x}-{device}"


@st.composite
def changes(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 12))
    out = [
        {
            "op": "upsert",
            "fields": {"name": "init", "created_at": "t"},
            "base": {},
            "hlc": stamp(1, 0, DEVICES[0]),
        }
    ]
    for i in range(n):
        f = draw(st.sampled_from(FIELDS))
        value = draw(st.booleans()) if f == "deleted" else draw(st.text("xyz门", max_size=3))
        out.append(
            {
                "op": ("delete" if value else "restore") if f == "deleted" else "upsert",
                "fields": {f: value},
                "base": {},
                "hlc": stamp(draw(st.integers(2, 50)), i, draw(st.sampled_from(DEVICES))),
            }
        )
    return out


def fold(chs):  # type: ignore[no-untyped-def]
    state = None
    for ch in chs:
        state = merge("mutable", state, ch).state
    return state


@given(changes(), st.randoms(use_true_random=False))
def test_any_order_and_repetition_gives_the_same_record(chs, rnd):
    expected = fold(chs)
    shuffled = chs + chs[: len(chs) // 2]
    rnd.shuffle(shuffled)
    got = fold(shuffled)
    assert (got.fields, got.stamps) == (expected.fields, expected.stamps)
    for f, s in expected.stamps.items():  # each field holds its newest value
        newest = max((c for c in chs if f in c["fields"]), key=lambda c: c["hlc"])
        assert s == newest["hlc"] and expected.fields[f] == newest["fields"][f]


def test_a_concurrent_loser_is_reported_whichever_arrives_first():
    base = {
        "op": "upsert",
        "fields": {"name": "门", "created_at": "t"},
        "base": {},
        "hlc": stamp(1, 0, DEVICES[0]),
    }
    a = {
        "op": "upsert",
        "fields": {"name": "A"},
        "base": {"name": base["hlc"]},
        "hlc": stamp(5, 0, DEVICES[0]),
    }
    b = {
        "op": "upsert",
        "fields": {"name": "B"},
        "base": {"name": base["hlc"]},
        "hlc": stamp(6, 0, DEVICES[1]),
    }
    for order in ((a, b), (b, a)):
        s = merge("mutable", None, base).state
        first = merge("mutable", s, order[0])
        second = merge("mutable", first.state, order[1])
        assert second.state.fields["name"] == "B"
        [c] = first.conflicts + second.conflicts
        assert (c.kind, c.field, c.winner_value, c.loser_value) == ("field", "name", "B", "A")


def test_a_sequential_edit_is_not_a_conflict():
    s = merge(
        "mutable",
        None,
        {"op": "upsert", "fields": {"name": "x"}, "base": {}, "hlc": stamp(1, 0, DEVICES[0])},
    ).state
    r = merge(
        "mutable",
        s,
        {
            "op": "upsert",
            "fields": {"name": "y"},
            "base": {"name": stamp(1, 0, DEVICES[0])},
            "hlc": stamp(2, 0, DEVICES[1]),
        },
    )
    assert r.outcome == "applied" and not r.conflicts and r.state.fields["name"] == "y"


def test_delete_beats_an_older_edit_and_a_newer_blind_edit_is_kept_as_a_conflict():
    s = merge(
        "mutable",
        None,
        {"op": "upsert", "fields": {"name": "x"}, "base": {}, "hlc": stamp(1, 0, DEVICES[0])},
    ).state
    deleted = merge(
        "mutable",
        s,
        {"op": "delete", "fields": {"deleted": True}, "base": {}, "hlc": stamp(5, 0, DEVICES[0])},
    ).state
    older = merge(
        "mutable",
        deleted,
        {
            "op": "upsert",
            "fields": {"name": "old"},
            "base": {"name": stamp(1, 0, DEVICES[0])},
            "hlc": stamp(3, 0, DEVICES[1]),
        },
    )
    assert older.state.deleted and not [c for c in older.conflicts if c.kind == "edit_after_delete"]
    newer = merge(
        "mutable",
        deleted,
        {
            "op": "upsert",
            "fields": {"name": "new"},
            "base": {"name": stamp(1, 0, DEVICES[0])},
            "hlc": stamp(9, 0, DEVICES[1]),
        },
    )
    assert newer.state.deleted and newer.state.fields["name"] == "new"
    assert [c.kind for c in newer.conflicts] == ["edit_after_delete"]


def test_an_append_is_inserted_once():
    ch = {
        "op": "append",
        "fields": {"step_id": "s1", "outcome": "pass"},
        "base": {},
        "hlc": stamp(1, 0, DEVICES[0]),
    }
    first = merge("append", None, ch)
    again = merge("append", first.state, ch)
    assert (first.outcome, again.outcome) == ("applied", "superseded")
    assert again.state == first.state


def test_state_reports_the_newest_stamp():
    assert State({}, {"a": "1", "b": "3"}).updated_hlc == "3"
