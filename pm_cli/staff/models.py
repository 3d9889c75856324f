from __future__ import annotations

from sqlmodel import Field

from pm_cli.store.base import Mutable


class Staff(Mutable, table=True):
    __tablename__ = "staff"

    code: str = Field(index=True)
    name: str
    role: str  # admin | manager | lead | tech
    phone: str | None = None
    team: str | None = None
