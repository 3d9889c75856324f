from __future__ import annotations

from sqlalchemy import Index

from pm_cli.store.base import Mutable


class Staff(Mutable, table=True):
    __tablename__ = "staff"
    __table_args__ = (Index("ix_staff_site_code", "site_id", "code"),)

    code: str  # unique per site to people, not in the schema (sync may bring a twin)
    name: str
    role: str  # admin | manager | lead | tech
    phone: str | None = None
    team: str | None = None
