from __future__ import annotations

from typing import Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import AppendOnly, Mutable

DrillKind = Literal["tabletop", "functional", "full-scale"]
DrillStatus = Literal["open", "finished", "incomplete"]


class Drill(Mutable, table=True):
    """A planned drill of a scenario at a site (or one grid), on a schedule."""

    __tablename__ = "drill"
    __table_args__ = (Index("ix_drill_site_code", "site_id", "code"),)

    code: str
    scenario: str  # the bundled scenario id (fire, flood …)
    title: str | None = None
    grid_id: str | None = None
    schedule: str | None = None  # RRULE; the scenario's required frequency always applies too


class DrillRun(Mutable, table=True):
    """One execution of a drill; T0 is `started_at`, milestones are events after it."""

    __tablename__ = "drill_run"
    __table_args__ = (Index("ix_drill_run_drill", "drill_id", "started_at"),)

    drill_id: str
    scenario: str
    kind: DrillKind = Field("functional", sa_type=AutoString)
    started_at: str
    finished_at: str | None = None
    status: DrillStatus = Field("open", sa_type=AutoString)
    participants: int | None = None
    roster: list[str] = Field(default_factory=list, sa_type=JSON)
    observers: str | None = None
    weather: str | None = None
    note: str | None = None


class DrillEvent(AppendOnly, table=True):
    """A milestone reached (or a note) during a drill run; never changed."""

    __tablename__ = "drill_event"
    __table_args__ = (Index("ix_drill_event_run", "drill_run_id"),)

    drill_run_id: str
    milestone: str
    at: str  # stored UTC text
    note: str | None = None
