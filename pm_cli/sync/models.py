from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import Mutable

ConflictKind = Literal[
    "field",
    "edit_after_delete",
    "duplicate_code",
    "duplicate_no",
    "invariant",
    "phase_race",
    "version_clash",
]


class ConflictRow(Mutable, table=True):
    """A value someone typed that lost to a concurrent edit, an edit after a delete, or a
    duplicate code: written by the server, pulled like any record (sync.md §4)."""

    __tablename__ = "conflict"
    __table_args__ = (Index("ix_conflict_site_record", "site_id", "record_id"),)

    entity: str
    record_id: str
    field: str | None = None
    kind: ConflictKind = Field(sa_type=AutoString)
    winner_value: Any = Field(default=None, sa_type=JSON, nullable=True)
    loser_value: Any = Field(default=None, sa_type=JSON, nullable=True)
    winner_change: str | None = None
    loser_change: str | None = None
    winner_hlc: str | None = None
    loser_hlc: str | None = None
    resolved_hlc: str | None = None
    resolution: str | None = None
