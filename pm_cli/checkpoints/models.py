from __future__ import annotations

from sqlalchemy import JSON, Index
from sqlmodel import Field

from pm_cli.store.base import Mutable


class Checkpoint(Mutable, table=True):
    """A place an inspection stops at, in a grid: x/y metres on the site plan or lat/lon."""

    __tablename__ = "checkpoint"
    __table_args__ = (Index("ix_checkpoint_site_code", "site_id", "code"),)

    code: str
    name: str
    grid_id: str
    x: float | None = None
    y: float | None = None
    lat: float | None = None
    lon: float | None = None
    tag_uid: str | None = None  # QR / NFC tag
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
