from __future__ import annotations

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import Mutable
from pm_cli.validate import Level


class Grid(Mutable, table=True):
    """An area with one responsible owner; grids nest through `parent_id`."""

    __tablename__ = "grid"
    __table_args__ = (Index("ix_grid_site_code", "site_id", "code"),)

    code: str  # unique per site to people, not in the schema (sync may bring a twin)
    name: str
    parent_id: str | None = None
    owner_id: str | None = None
    risk_level: Level = Field("minor", sa_type=AutoString)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)


class GridDuty(Mutable, table=True):
    """One line of a grid's responsibility list; child rows so two people can add at once."""

    __tablename__ = "grid_duty"
    __table_args__ = (Index("ix_grid_duty_site_grid", "site_id", "grid_id"),)

    grid_id: str
    text: str
    position: int = 0
