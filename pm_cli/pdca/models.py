from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import AppendOnly, Mutable
from pm_cli.validate import Level

Source = Literal["step", "drill", "risk", "complaint", "audit", "manual"]
Phase = Literal["plan", "do", "check", "act", "closed"]
# withdraw: the item (or, with data.occurrence, one occurrence of it) was raised in error
EventKind = Literal["transition", "comment", "occurrence", "assign", "edit", "withdraw"]


class Pdca(Mutable, table=True):
    """An improvement item. Its phase and cycle are derived from its transition events."""

    __tablename__ = "pdca"
    __table_args__ = (
        Index("ix_pdca_site_no", "site_id", "no"),
        Index("ix_pdca_site_dedup", "site_id", "dedup_key"),
    )

    no: int | None = None  # per site: #17
    title: str
    description: str | None = None
    source: Source = Field("manual", sa_type=AutoString)
    source_ref: str | None = None  # what raised it (a step result, drill event, risk …)
    dedup_key: str | None = None  # a repeat of the same failure while open adds an occurrence
    grid_id: str | None = None
    owner_id: str | None = None
    severity: Level = Field("minor", sa_type=AutoString)
    respond_by: str
    resolve_by: str
    plan: str | None = None
    containment: str | None = None
    root_cause: str | None = None
    corrective: str | None = None
    preventive: str | None = None


class PdcaEvent(AppendOnly, table=True):
    """History: transitions, comments, occurrences, assignments. Never changed."""

    __tablename__ = "pdca_event"
    __table_args__ = (Index("ix_pdca_event_item", "pdca_id"),)

    pdca_id: str
    kind: EventKind = Field(sa_type=AutoString)
    from_phase: Phase | None = Field(None, sa_type=AutoString)
    to_phase: Phase | None = Field(None, sa_type=AutoString)
    cycle: int | None = None
    by_id: str | None = None
    note: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
