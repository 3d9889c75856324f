from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sqlalchemy import Index
from sqlmodel import AutoString, Field, SQLModel

from pm_cli.store.base import AppendOnly, Mutable

if TYPE_CHECKING:
    from sqlalchemy import Table

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
    evidence_path: str | None = None  # content address `<sha256>.<ext>` (runs/evidence.py)
    evidence_sha256: str | None = None
    by_id: str | None = None  # created_at is when it was answered; hlc orders answers


class EvidenceCopy(SQLModel, table=True):
    """Local only (never synced): what this laptop knows of the server's copy of a photo,
    by sha256. `uploaded` (sent from here) and `downloaded` (fetched from there) both mean
    the server holds the bytes; `absent`: the server had none at the last fetch (the author
    has not synced it yet). No row: never sent, never fetched."""

    __tablename__ = "evidence_copy"

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    sha256: str = Field(primary_key=True)
    state: str  # uploaded | downloaded | absent
    at: str


def failed_answers() -> tuple[Any, Any]:
    """(f, condition): step_result rows `f` that are the newest answer to their step and a
    fail (what `RunView.failed` counts), for SQL that joins or correlates `f.c.run_id`."""
    from sqlalchemy import exists

    f, g = StepResult.__table__.alias("f"), StepResult.__table__.alias("g")
    newer = exists().where(g.c.run_id == f.c.run_id, g.c.step_id == f.c.step_id, g.c.hlc > f.c.hlc)
    return f, (f.c.outcome == "fail") & ~newer
