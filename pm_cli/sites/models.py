from __future__ import annotations

from sqlalchemy import JSON, Index
from sqlmodel import Field

from pm_cli.store.base import Mutable


class Site(Mutable, table=True):
    """A property; its own `site_id` is its `id`."""

    __tablename__ = "site"
    __table_args__ = (Index("ix_site_code", "code"),)

    code: str  # unique per site to people, not in the schema (sync may bring a twin)
    name: str
    tz: str | None = None  # IANA name; None = the machine's zone
    address: str | None = None
    # PDCA SLA per severity, hours: {"critical": [1, 24], …}; None = the defaults
    sla: dict[str, list[float]] | None = Field(default=None, sa_type=JSON)
