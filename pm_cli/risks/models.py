from __future__ import annotations

from typing import Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import AppendOnly, Mutable

RiskStatus = Literal["open", "closed"]
RiskEventKind = Literal["assess", "review"]


class Risk(Mutable, table=True):
    """A risk of the register. Its level is derived from likelihood × impact, never stored."""

    __tablename__ = "risk"
    __table_args__ = (Index("ix_risk_site_code", "site_id", "code"),)

    code: str
    title: str
    area: str | None = None  # the core service it belongs to
    grid_id: str | None = None
    cause: str | None = None
    consequence: str | None = None
    likelihood: int
    impact: int
    legal: bool = False  # an open legal non-compliance: at least major
    controls: str | None = None
    further_actions: str | None = None
    playbook_steps: list[str] = Field(default_factory=list, sa_type=JSON)
    owner_id: str | None = None
    review: str | None = None  # RRULE; None = by level (monthly / quarterly / yearly)
    status: RiskStatus = Field("open", sa_type=AutoString)


class RiskEvent(AppendOnly, table=True):
    """History of a risk: assessments and reviews."""

    __tablename__ = "risk_event"
    __table_args__ = (Index("ix_risk_event_risk", "risk_id"),)

    risk_id: str
    kind: RiskEventKind = Field(sa_type=AutoString)
    likelihood: int | None = None
    impact: int | None = None
    by_id: str | None = None
    note: str | None = None
