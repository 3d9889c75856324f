from __future__ import annotations

from sqlalchemy import JSON
from sqlmodel import Field

from pm_cli.store.base import Mutable


class Grid(Mutable, table=True):
    """An area with one responsible owner; grids nest through `parent_id`."""

    __tablename__ = "grid"

    code: str = Field(index=True)
    name: str
    parent_id: str | None = Field(default=None, index=True)
    owner_id: str | None = None
    risk_level: str = "minor"  # minor | major | critical
    tags: list[str] = Field(default_factory=list, sa_type=JSON)


class GridDuty(Mutable, table=True):
    """One line of a grid's responsibility list; child rows so two people can add at once."""

    __tablename__ = "grid_duty"

    grid_id: str = Field(index=True)
    text: str
    position: int = 0
