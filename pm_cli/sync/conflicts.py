"""Conflicts the server recorded, as pulled: listing them and resolving one. A resolution is
an ordinary edit (synced like any) plus the conflict's `resolved_hlc` and `resolution`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, SQLModel, col

from pm_cli.errors import ConflictError, PmError
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.base import Mutable
from pm_cli.store.query import get_by_tail, live
from pm_cli.sync.models import ConflictRow

KEEP = ("mine", "theirs", "winner", "loser")


def _model(entity: str) -> type[SQLModel]:
    """The model of a synced entity, from the schema's own map (not from whatever models
    this process happened to import)."""
    from pm_cli.schema import model_of

    model = model_of(entity)
    if model is None:
        raise PmError(f"this pm does not know {entity} records", hint="upgrade pm")
    return model


STRUCTURE = ("invariant", "phase_race", "version_clash")  # the server's findings


def record(r: ConflictRow, note: str | None = None, label: str | None = None) -> dict[str, Any]:
    return {
        "id": r.id[-8:],
        "entity": r.entity,
        "record": label or r.record_id[-8:],
        "field": r.field,
        "kind": r.kind,
        "kept": r.winner_value,
        "lost": r.loser_value,
        "note": note,
        "at": r.created_at,
        "resolution": r.resolution,
    }


def _label(session: Session, entity: str, record_id: str | None) -> str:
    """A record as people name it: its code (an item's #number), else its id's tail."""
    if not record_id:
        return "?"
    try:
        row = session.get(_model(entity), record_id)
    except PmError:
        row = None
    if row is not None:
        if code := getattr(row, "code", None):
            return str(code)
        if (no := getattr(row, "no", None)) is not None:
            return f"#{no}"
    return record_id[-8:]


def _live(row: Any) -> bool:
    return row is not None and not getattr(row, "deleted", False)


def describe(session: Session, c: ConflictRow) -> tuple[str | None, bool]:
    """(what happened in words, whether it still holds). A duplicate code somebody renamed
    since, or a grid cycle a later move undid, no longer holds: it leaves the open list."""
    lost = c.loser_value if isinstance(c.loser_value, dict) else {}
    if c.kind.startswith("duplicate_"):
        model = _model(c.entity)
        row, other = session.get(model, c.record_id), session.get(model, lost.get("other", ""))
        name = c.field or "code"
        holds = (
            _live(row)
            and _live(other)
            and getattr(row, name) == c.winner_value
            and getattr(other, name) == c.winner_value
        )
        shown = f"#{c.winner_value}" if name == "no" else str(c.winner_value)
        twin = _label(session, c.entity, lost.get("other"))
        return f"{shown} is also on another {c.entity} ({twin}): rename one (--rename NEW)", holds
    if c.kind == "invariant":
        from pm_cli.grids.models import Grid

        grid = session.get(Grid, c.record_id)
        if lost.get("rule") == "cycle":
            ids = list(lost.get("grids") or [])
            parents = {g: getattr(session.get(Grid, g), "parent_id", None) for g in ids}
            holds = all(parents.get(g) == ids[(i + 1) % len(ids)] for i, g in enumerate(ids))
            path = " → ".join(_label(session, "grid", g) for g in [*ids, ids[0]]) if ids else "?"
            return (
                f"grids moved under each other form a cycle {path}: they show at the top "
                "level until one moves (pm grid edit CODE --parent P)",
                holds,
            )
        parent = lost.get("parent")
        holds = (
            _live(grid)
            and grid is not None
            and grid.parent_id == parent
            and not _live(session.get(Grid, parent or ""))
        )
        return (
            f"its parent grid ({_label(session, 'grid', parent)}) was deleted: it shows at "
            "the top level until it moves (pm grid edit CODE --parent P)",
            holds,
        )
    if c.kind == "version_clash":
        from pm_cli.playbooks import service as playbooks

        label = str(lost.get("playbook") or "?")
        try:
            used = playbooks.get(session, label).sha256[:12]
        except PmError:
            used = "?"
        return (
            f"{label} was published twice with different content; every laptop uses "
            f"the same one ({used}): import the right one as a new version",
            True,
        )
    if c.kind == "phase_race":
        from pm_cli.pdca import service as pdca
        from pm_cli.pdca.models import Pdca

        to = lost.get("to") or []
        item = session.get(Pdca, c.record_id)
        now = f"it is in {pdca.state_of(pdca.events_of(session, item)).phase}" if item else ""
        return (
            f"{_label(session, 'pdca', c.record_id)} moved from {lost.get('from')} to "
            f"{' and to '.join(map(str, to))} at once; {now} (the higher phase stands): "
            "check its history (pm pdca show)",
            True,
        )
    what = f"{c.entity.replace('_', ' ')} {_label(session, c.entity, c.record_id)}"
    if c.kind == "edit_after_delete":
        return (
            f"{what} was edited after it was deleted on another laptop; the edit is kept "
            "in the hidden record: --restore brings it back, --keep theirs leaves it "
            "deleted",
            True,
        )
    if c.kind == "field":
        return (
            f"{c.field} of {what} was edited on two laptops at once: {c.winner_value!r} "
            f"stands, {c.loser_value!r} was overwritten (--keep loser brings it back)",
            True,
        )
    return None, True


def typed(model: type[SQLModel], name: str, text: str) -> Any:
    """A value typed for `--keep`, as the field holds it: a list for a tag list (JSON or
    `a;b`), a number for a number, yes/no for a flag, else the text."""
    import json

    import sqlalchemy as sa

    from pm_cli import validate as v

    col = model.__table__.c[name]  # type: ignore[attr-defined]
    kind = col.type
    try:
        if isinstance(kind, sa.JSON):
            try:
                return json.loads(text)
            except ValueError:
                if text.lstrip()[:1] in "[{":
                    raise
                return [t.strip() for t in v.TAG_SPLIT.split(text) if t.strip()]
        if isinstance(kind, sa.Boolean):
            flag = text.strip().lower()
            if flag not in ("yes", "no", "true", "false", "1", "0"):
                raise ValueError(text)
            return flag in ("yes", "true", "1")
        if isinstance(kind, sa.Integer):
            return int(text.strip())
        if isinstance(kind, sa.Float | sa.Numeric):
            return float(text.strip())
    except ValueError:
        raise PmError(
            f"{text!r} is not a value of {name} ({kind})",
            where="--keep",
            hint="mine, theirs, winner, loser, or a value of the field's type",
        ) from None
    return text


def _here(site: Site) -> Any:
    """This site's conflicts and the company-wide ones (playbooks: no site)."""
    sid = col(ConflictRow.site_id)
    return or_(sid == site.id, sid == "", sid.is_(None))


def list_open(session: Session, *, site: Site) -> list[dict[str, Any]]:
    """The site's open conflicts and the company-wide ones (playbooks)."""
    rows = session.exec(
        live(ConflictRow)
        .where(_here(site))
        .where(col(ConflictRow.resolved_hlc).is_(None))
        .order_by(ConflictRow.created_at)
    )
    out = []
    for r in rows:
        note, holds = describe(session, r)
        if holds:
            out.append(record(r, note, _label(session, r.entity, r.record_id)))
    return out


def _mine(session: Session, stamp: str | None) -> bool:
    """Was the value stamped on this laptop? (a stamp ends in its device id)"""
    if not stamp:
        return False
    from pm_cli.store.changes import SyncState

    state = session.get(SyncState, 1)
    return state is not None and stamp.endswith("-" + state.device_id)


def resolve(
    session: Session,
    *,
    site: Site,
    ref: str,
    keep: str | None = None,
    restore: bool = False,
    rename: str | None = None,
) -> dict[str, Any]:
    """Keep one value (mine, theirs, winner, loser, or a value typed now) for a field
    conflict; restore the record, or leave it deleted (theirs), after an edit_after_delete;
    rename one of two records with the same code; accept what the server merged (--keep
    winner) after a grid cycle or a phase race."""
    c = get_by_tail(
        session,
        ConflictRow,
        ref,
        site_id=site.id,
        noun="conflict",
        where=site.code,
        hint="`pm sync conflicts` lists the open ones",
        scope=_here(site),
    )
    if c.resolved_hlc:
        raise ConflictError(f"conflict {ref} is already resolved ({c.resolution})")
    model = _model(c.entity)
    row = session.get(model, c.record_id)
    if row is None:
        raise PmError(
            f"the {c.entity} of conflict {ref} is not on this laptop",
            hint="pm sync, then try again",
        )
    note, holds = describe(session, c)
    if rename is not None and not c.kind.startswith("duplicate_"):
        raise PmError(
            f"--rename settles a duplicate code; this conflict is {c.kind}", where="--rename"
        )
    if c.kind.startswith("duplicate_"):
        if rename is None:
            if holds:
                raise PmError(
                    f"two records share a code: {note}",
                    where="--rename",
                    hint=f"pm sync resolve {ref} --rename NEW",
                )
            resolution = "no longer applies"
        else:
            resolution = _rename(session, site, row, c.field or "code", rename)
    elif c.kind in STRUCTURE:
        if keep != "winner" or restore:
            raise PmError(
                f"the server kept both ({note}); fix it with the command named, then "
                "accept: --keep winner",
                where="--keep",
            )
        resolution = "accepted"
    elif c.kind == "edit_after_delete":
        if restore:
            assert isinstance(row, Mutable)  # only a mutable record is edited after a delete
            write.restore(session, row)
            resolution = "restored"
        elif keep in ("theirs", "winner"):
            resolution = "left deleted"
        else:
            raise PmError(
                "an edit made after a delete: --restore, or --keep theirs to leave it deleted",
                where="--keep/--restore",
            )
    else:
        if restore or not keep:
            raise PmError(
                "say which value stays: --keep mine|theirs|winner|loser|VALUE", where="--keep"
            )
        if keep in ("mine", "theirs"):
            loser_mine = _mine(session, c.loser_hlc)
            winner_mine = _mine(session, c.winner_hlc)
            if not (loser_mine or winner_mine):
                raise PmError(
                    "neither value was typed on this laptop",
                    where="--keep",
                    hint="--keep winner, --keep loser, or the value itself",
                )
            mine_is_loser = loser_mine and not winner_mine
            keep = (
                ("loser" if mine_is_loser else "winner")
                if keep == "mine"
                else ("winner" if mine_is_loser else "loser")
            )
        if keep == "winner":
            value, resolution = c.winner_value, "kept the winner"
        elif keep == "loser":
            value, resolution = c.loser_value, "kept the loser"
        else:
            assert c.field is not None
            if c.field not in type(row).model_fields:
                raise PmError(f"{c.entity} has no field {c.field}")
            value = typed(type(row), c.field, keep)
            resolution = f"set to {value!r}"
        assert c.field is not None
        assert isinstance(row, Mutable)  # field conflicts are on mutable records only
        write.update(session, row, **{c.field: value})
    write.update(session, c, resolved_hlc=write.writer(session).stamp(), resolution=resolution)
    return {**record(c, note, _label(session, c.entity, c.record_id)), "resolution": resolution}


def _rename(session: Session, site: Site, row: Any, name: str, value: str) -> str:
    """Give one of two records sharing a code (an item's number) a new one, unused here."""
    from pm_cli import validate as v

    model = type(row)
    new: str | int
    if name == "no":
        try:
            new = int(value.strip().lstrip("#"))
        except ValueError:
            raise PmError(
                f"{value!r} is not an item number", where="--rename", hint="a number such as 42"
            ) from None
    else:
        new = v.check(v.code, value, field="--rename")
    taken = session.exec(
        live(model, site.id).where(getattr(model, name) == new).where(model.id != row.id).limit(1)
    ).first()
    if taken is not None:
        raise ConflictError(
            f"{'#' if name == 'no' else ''}{new} is taken by another {model.__tablename__}",
            where="--rename",
            hint="pick a code nobody has",
        )
    write.update(session, row, **{name: new})
    return f"renamed to {'#' if name == 'no' else ''}{new}"
