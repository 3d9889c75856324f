from __future__ import annotations

from sqlmodel import Field

from pm_cli.store.base import Mutable


class Site(Mutable, table=True):
    """A property; its own `site_id` is its `id`."""

    __tablename__ = "site"

    code: str = Field(index=True)
    name: str
    tz: str | None = None  # IANA name; None = the machine's zone
    address: str | None = None
