"""Conflicts the server recorded, as pulled: listing them (resolving comes next)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col

from pm_cli.sites.models import Site
from pm_cli.store.query import live
from pm_cli.sync.models import ConflictRow


def list_open(session: Session, *, site: Site) -> list[dict[str, Any]]:
    rows = session.exec(live(ConflictRow, site.id).where(col(ConflictRow.resolved_hlc).is_(None))
                        .order_by(ConflictRow.created_at))
    return [{"id": r.id[-8:], "entity": r.entity, "record": r.record_id[-8:], "field": r.field,
             "kind": r.kind, "kept": r.winner_value, "lost": r.loser_value,
             "at": r.created_at} for r in rows]
