from __future__ import annotations

from typing import Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import AppendOnly

HandoverStatus = Literal["accepted", "refused"]


class Handover(AppendOnly, table=True):
    """A shift handover's sign-off (交接班): who handed over to whom, for which day and shift,
    what the report said then, and whether the receiver accepted it (or refused, and why).
    Never changed: a handover refused and then accepted is two rows."""

    __tablename__ = "handover"
    __table_args__ = (Index("ix_handover_site_day", "site_id", "day"),)

    day: str  # YYYY-MM-DD, site time
    shift: str | None = None
    from_id: str  # staff handing over
    to_id: str  # staff taking over
    status: HandoverStatus = Field("accepted", sa_type=AutoString)
    reason: str | None = None  # why it was refused
    at: str  # when it was signed (UTC text)
    summary: dict[str, int] = Field(default_factory=dict, sa_type=JSON)  # the report's counts
