from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field

from pm_cli.store.base import Mutable


class Route(Mutable, table=True):
    """An ordered walk of checkpoints, each with the playbook done there, on a schedule.

    `stops` is one JSON list edited as a whole (DESIGN §3): [{"checkpoint": id,
    "playbook": id-or-null}, …]."""

    __tablename__ = "route"
    __table_args__ = (Index("ix_route_site_code", "site_id", "code"),)

    code: str
    name: str
    stops: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    schedule: str | None = None  # RRULE (RFC 5545)
    window_start: str | None = None  # "HH:MM" in the site's zone
    window_end: str | None = None
