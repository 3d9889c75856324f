from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import Mutable
from pm_cli.validate import Role


class Staff(Mutable, table=True):
    __tablename__ = "staff"
    __table_args__ = (Index("ix_staff_site_code", "site_id", "code"),)

    code: str  # unique per site to people, not in the schema (sync may bring a twin)
    name: str
    role: Role = Field(sa_type=AutoString)
    phone: str | None = None
    team: str | None = None
