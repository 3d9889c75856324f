from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field, SQLModel

from pm_cli.store.base import AppendOnly

if TYPE_CHECKING:
    from sqlalchemy import Table

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


# ---- per-day rollups: local caches of derived figures, never synced ------------------------


class KpiDay(SQLModel, table=True):
    """What one site day counted toward the day-additive KPIs (inspections, on_time,
    steps_passed), by grid, service and staff: derived from the records by
    `reports.rollup`, so a year's report reads a few rows a day instead of every answer.
    Each replica (a laptop, the server) keeps its own; nothing here is synced."""

    __tablename__ = "kpi_day"
    __table_args__ = (Index("ix_kpi_day_site_day", "site_id", "day"),)

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    site_id: str = Field(primary_key=True)
    day: str = Field(primary_key=True)  # YYYY-MM-DD, site time
    week: str  # its ISO week, YYYY-Www (a year's report sums by week and month in SQL)
    kpi: str = Field(primary_key=True)
    grid_id: str = Field("", primary_key=True)  # '' for none
    service: str = Field("", primary_key=True)
    staff_id: str = Field("", primary_key=True)
    numerator: float = 0.0
    denominator: float = 0.0
    asked: float = 0.0


class KpiDayDone(SQLModel, table=True):
    """The site days whose `kpi_day` rows are current; a change to what they count removes
    the day's row (through `rollup_dirty`), and the next report counts it again."""

    __tablename__ = "kpi_day_done"

    if TYPE_CHECKING:
        __table__: ClassVar[Table]

    site_id: str = Field(primary_key=True)
    day: str = Field(primary_key=True)
    computed_at: str


class RollupDirty(SQLModel, table=True):
    """UTC days whose figures a write may have changed, marked by triggers on the tables the
    rollups read (`reports.rollup.TRIGGERS`): day '*' is every day of the site (a route or
    a playbook changed), site '' every site."""

    __tablename__ = "rollup_dirty"

    if TYPE_CHECKING:
        __table__: ClassVar[Table]

    site_id: str = Field(primary_key=True)
    day: str = Field(primary_key=True)
