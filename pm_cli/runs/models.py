from __future__ import annotations

from typing import Literal

from sqlalchemy import Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import AppendOnly, Mutable

RunStatus = Literal["open", "finished", "incomplete", "aborted"]
Outcome = Literal["pass", "fail", "na"]


class Run(Mutable, table=True):
    """One execution of a playbook, pinned to its version and content (playbook@version)."""

    __tablename__ = "run"
    __table_args__ = (Index("ix_run_site_started", "site_id", "started_at"),)

    playbook_id: str
    playbook_version: int
    playbook_sha256: str
    grid_id: str | None = None
    checkpoint_id: str | None = None
    route_id: str | None = None
    by_id: str | None = None  # staff
    started_at: str
    finished_at: str | None = None
    status: RunStatus = Field("open", sa_type=AutoString)
    reason: str | None = None  # why finished incomplete or aborted


class StepResult(AppendOnly, table=True):
    """One answer to one step; a correction is a newer row (the newest counts)."""

    __tablename__ = "step_result"
    __table_args__ = (Index("ix_step_result_run", "run_id"),)

    run_id: str
    step_id: str
    outcome: Outcome = Field(sa_type=AutoString)
    value: float | None = None
    note: str | None = None
    reason: str | None = None  # why it failed when pm decided (out of range)
    evidence_path: str | None = None
    evidence_sha256: str | None = None
    by_id: str | None = None  # created_at is when it was answered; hlc orders answers
