"""Playbooks as runs pinned them, read with Core (`store.tables`): the commands that only
read runs build no model class. The service passes its session (its transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from pm_cli.errors import NotFoundError
from pm_cli.playbooks.spec import Playbook
from pm_cli.store import read, tables


@dataclass
class Pinned:
    """A playbook as stored: the spec a run follows, with the version and hash it pins."""

    playbook: Playbook
    version: int
    sha256: str
    yaml: str


def get_pinned(db: Any, playbook_id: str, version: int, sha256: str) -> Pinned:
    """The exact content a run pinned (sync may bring two rows for one id@version)."""
    t = tables.playbook
    row = (
        read.connection(db)
        .execute(
            sa.select(t).where(
                t.c.playbook_id == playbook_id, t.c.version == version, t.c.sha256 == sha256
            )
        )
        .first()
    )
    if row is None:
        raise NotFoundError(
            f"playbook {playbook_id}@{version} ({sha256[:12]}) is not here",
            hint="pm sync brings it from the server",
        )
    return pinned_from(row)


def pinned_many(
    db: Any, keys: Iterable[tuple[str, int, str]]
) -> dict[tuple[str, int, str], Pinned]:
    """The pinned contents of many runs, (id, version, sha256) → Pinned, in one query (a
    page of runs names a handful of playbooks)."""
    wanted = set(keys)
    out: dict[tuple[str, int, str], Pinned] = {}
    conn, t = read.connection(db), tables.playbook
    for part in read.chunks(k[0] for k in wanted):
        for row in conn.execute(sa.select(t).where(t.c.playbook_id.in_(part))):
            key = (row.playbook_id, row.version, row.sha256)
            if key in wanted and key not in out:
                out[key] = pinned_from(row)
    missing = sorted(wanted - out.keys())
    if missing:
        pid, version, sha256 = missing[0]
        raise NotFoundError(
            f"playbook {pid}@{version} ({sha256[:12]}) is not here",
            hint="pm sync brings it from the server",
        )
    return out


def pinned_from(row: Any) -> Pinned:
    return Pinned(_spec(row.spec), row.version, row.sha256, row.yaml)


@cache
def _spec(canonical: str) -> Playbook:
    return Playbook.model_validate_json(canonical)


def _rows(db: Any, playbook_id: str | None = None) -> list[Any]:
    t = tables.playbook
    stmt = sa.select(t).where(t.c.deleted == sa.false())
    if playbook_id:
        stmt = stmt.where(t.c.playbook_id == playbook_id)
    return list(read.connection(db).execute(stmt.order_by(t.c.playbook_id, t.c.version)))


def get(db: Any, playbook_id: str, version: int | None = None) -> Pinned:
    """`ID`, `ID@VERSION` or an explicit version; the newest version by default."""
    if "@" in playbook_id and version is None:
        playbook_id, _, raw = playbook_id.partition("@")
        if not raw.isdigit():
            raise NotFoundError(
                f"bad playbook version {raw!r}", hint="write ID@VERSION, e.g. fire.monthly@2"
            )
        version = int(raw)
    rows = _rows(db, playbook_id)
    if not rows:
        raise NotFoundError(
            f"no playbook {playbook_id}", hint="`pm playbook list` shows the installed ones"
        )
    if version is None:
        version = rows[-1].version
    same = [r for r in rows if r.version == version]
    if not same:
        have = ", ".join(str(r.version) for r in rows)
        raise NotFoundError(f"no version {version} of {playbook_id} (have {have})")
    # two laptops may have published one id@version with other content (a version_clash
    # conflict): every laptop takes the same one (by content hash, which no laptop's own
    # stamps can change), so they all run the same steps until a new version settles it
    row = min(same, key=lambda r: r.sha256)
    return pinned_from(row)
