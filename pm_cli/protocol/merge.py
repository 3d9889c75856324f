"""The one merge function of sync.md §4, used by the server and by laptops alike.

Pure: a record's state and a change in, the new state, the outcome and any conflicts out.
Mutable fields: per field the larger stamp wins (ties cannot happen: stamps end in a device
id and a device never reuses one); `deleted` is such a field. Append-only rows are inserted
once and never changed. Any order, grouping or repetition of the same changes gives the same
state; the conflicts it reports depend on the order, which is why only the server (one order,
its sequence) records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MUTABLE_OPS = ("upsert", "delete", "restore")


@dataclass
class State:
    """A record as the merge sees it: the values and, per value, the stamp that set it."""

    fields: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        return bool(self.fields.get("deleted"))

    @property
    def updated_hlc(self) -> str:
        return max(self.stamps.values(), default="")


@dataclass
class Conflict:
    """A value someone typed that lost to another edit, or an edit made to a deleted row."""

    kind: str  # field | edit_after_delete
    field: str | None
    winner_value: Any
    loser_value: Any
    winner_hlc: str | None
    loser_hlc: str | None
    loser_is_change: bool  # the incoming change lost (else the stored value did)


@dataclass
class Merged:
    state: State
    outcome: str  # applied | superseded
    conflicts: list[Conflict]


def merge(kind: str, state: State | None, change: dict[str, Any]) -> Merged:
    """Fold one change (`op`, `fields`, `base`, `hlc`) into a record's state (None: new)."""
    op, values, hlc = change["op"], change["fields"], change["hlc"]
    if kind == "append":
        if op != "append":
            raise ValueError(f"an append-only record takes op append, not {op!r}")
        if state is not None:
            return Merged(state, "superseded", [])
        return Merged(State(dict(values), {"hlc": hlc}), "applied", [])
    if op not in MUTABLE_OPS:
        raise ValueError(f"a mutable record takes op {'|'.join(MUTABLE_OPS)}, not {op!r}")
    base: dict[str, str] = change.get("base") or {}
    old = state or State()
    fields, stamps = dict(old.fields), dict(old.stamps)
    conflicts: list[Conflict] = []
    won = False
    for name, value in values.items():
        held = stamps.get(name)
        if held == hlc:
            continue  # this very change, again
        concurrent = held is not None and base.get(name) != held
        if held is None or hlc > held:
            if concurrent and name != "deleted" and fields.get(name) != value:
                conflicts.append(
                    Conflict(
                        "field", name, value, fields.get(name), hlc, held, loser_is_change=False
                    )
                )
            fields[name], stamps[name] = value, hlc
            won = True
        elif name != "deleted" and fields.get(name) != value:
            conflicts.append(
                Conflict("field", name, fields.get(name), value, held, hlc, loser_is_change=True)
            )
    deleted_at = stamps.get("deleted")
    if (
        values.get("deleted") is True
        and deleted_at == hlc
        and state is not None
        and stamps.get("deleted") != old.stamps.get("deleted")
    ):
        # a delete arriving after edits made later without seeing it (another laptop's):
        # they are kept in the hidden row, as when the edit arrives second
        newer = {
            k: fields[k]
            for k, st in stamps.items()
            if k not in ("deleted", "created_at") and st > hlc
        }
        if newer:
            conflicts.append(
                Conflict(
                    "edit_after_delete",
                    None,
                    None,
                    newer,
                    hlc,
                    max(stamps[k] for k in newer),
                    loser_is_change=False,
                )
            )
    if (
        op == "upsert"
        and won
        and fields.get("deleted")
        and deleted_at is not None
        and deleted_at < hlc
        and base.get("deleted") != deleted_at
    ):
        # an edit made without seeing the delete, newer than it: kept, the row stays deleted
        conflicts.append(
            Conflict(
                "edit_after_delete",
                None,
                None,
                {k: values[k] for k in values if k != "deleted"},
                deleted_at,
                hlc,
                loser_is_change=True,
            )
        )
    return Merged(State(fields, stamps), "applied" if won else "superseded", conflicts)


def merge_state(kind: str, state: State | None, remote: State) -> State:
    """Fold a whole record as another replica holds it (a snapshot row) into ours: per field
    the larger stamp wins; an append-only row is kept as first stored."""
    if state is None:
        return State(dict(remote.fields), dict(remote.stamps))
    if kind == "append":
        return state
    fields, stamps = dict(state.fields), dict(state.stamps)
    for name, stamp in remote.stamps.items():
        if name in remote.fields and (name not in stamps or stamp > stamps[name]):
            fields[name], stamps[name] = remote.fields[name], stamp
    return State(fields, stamps)
