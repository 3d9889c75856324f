"""Conflicts the server recorded, as pulled: listing them and resolving one. A resolution is
an ordinary edit (synced like any) plus the conflict's `resolved_hlc` and `resolution`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel, col

from pm_cli.errors import ConflictError, PmError
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.query import get_by_tail, live
from pm_cli.sync.models import ConflictRow

KEEP = ("mine", "theirs", "winner", "loser")


def _model(entity: str) -> type[SQLModel]:
    for mapper in SQLModel._sa_registry.mappers:  # type: ignore[attr-defined]
        if getattr(mapper.local_table, "name", None) == entity:
            return mapper.class_  # type: ignore[no-any-return]
    raise PmError(f"this pm does not know {entity} records", hint="upgrade pm")


def record(r: ConflictRow) -> dict[str, Any]:
    return {"id": r.id[-8:], "entity": r.entity, "record": r.record_id[-8:], "field": r.field,
            "kind": r.kind, "kept": r.winner_value, "lost": r.loser_value,
            "at": r.created_at, "resolution": r.resolution}


def list_open(session: Session, *, site: Site) -> list[dict[str, Any]]:
    rows = session.exec(live(ConflictRow, site.id).where(col(ConflictRow.resolved_hlc).is_(None))
                        .order_by(ConflictRow.created_at))
    return [record(r) for r in rows]


def _mine(session: Session, stamp: str | None) -> bool:
    """Was the value stamped on this laptop? (a stamp ends in its device id)"""
    if not stamp:
        return False
    from pm_cli.store.changes import SyncState

    state = session.get(SyncState, 1)
    return state is not None and stamp.endswith("-" + state.device_id)


def resolve(session: Session, *, site: Site, ref: str, keep: str | None = None,
            restore: bool = False) -> dict[str, Any]:
    """Keep one value (mine, theirs, winner, loser, or a value typed now) for a field
    conflict; restore the record, or leave it deleted (theirs), after an edit_after_delete."""
    c = get_by_tail(session, ConflictRow, ref, site_id=site.id, noun="conflict",
                    where=site.code, hint="`pm sync conflicts` lists the open ones")
    if c.resolved_hlc:
        raise ConflictError(f"conflict {ref} is already resolved ({c.resolution})")
    model = _model(c.entity)
    row = session.get(model, c.record_id)
    if row is None:
        raise PmError(f"the {c.entity} of conflict {ref} is not on this laptop",
                      hint="pm sync, then try again")
    if c.kind == "edit_after_delete":
        if restore:
            write.restore(session, row)  # type: ignore[arg-type]
            resolution = "restored"
        elif keep in ("theirs", "winner"):
            resolution = "left deleted"
        else:
            raise PmError("an edit made after a delete: --restore, or --keep theirs to leave "
                          "it deleted", where="--keep/--restore")
    else:
        if restore or not keep:
            raise PmError("say which value stays: --keep mine|theirs|winner|loser|VALUE",
                          where="--keep")
        if keep in ("mine", "theirs"):
            loser_mine = _mine(session, c.loser_hlc)
            winner_mine = _mine(session, c.winner_hlc)
            if not (loser_mine or winner_mine):
                raise PmError("neither value was typed on this laptop", where="--keep",
                              hint="--keep winner, --keep loser, or the value itself")
            mine_is_loser = loser_mine and not winner_mine
            keep = ("loser" if mine_is_loser else "winner") if keep == "mine" else (
                "winner" if mine_is_loser else "loser")
        if keep == "winner":
            value, resolution = c.winner_value, "kept the winner"
        elif keep == "loser":
            value, resolution = c.loser_value, "kept the loser"
        else:
            value, resolution = keep, f"set to {keep!r}"
        assert c.field is not None
        if c.field not in type(row).model_fields:
            raise PmError(f"{c.entity} has no field {c.field}")
        write.update(session, row, **{c.field: value})  # type: ignore[arg-type]
    write.update(session, c, resolved_hlc=write.writer(session).stamp(),
                 resolution=resolution)
    return {**record(c), "resolution": resolution}
