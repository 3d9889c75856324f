from __future__ import annotations

from typing import ClassVar

from sqlalchemy import JSON, Index
from sqlmodel import Field

from pm_cli.store.base import Mutable
from pm_cli.surveys import rules


class Survey(Mutable, table=True):
    """One owner-satisfaction survey (业主满意度) of a grid (or of the whole site) on a day:
    how many households were asked and answered, and either how many were satisfied or the
    mean 1–5 score of each question. Imported by `pm import FILE --kind survey`; one per grid
    and day (a re-import updates it)."""

    __tablename__ = "survey"
    # what the server checks across a pushed change's fields (protocol.rules asks the model)
    field_rules: ClassVar = staticmethod(rules.problems)
    __table_args__ = (Index("ix_survey_site_day", "site_id", "day"),)

    day: str  # YYYY-MM-DD, site time
    grid_id: str | None = None  # None: the whole site
    asked: int  # households asked
    answered: int  # households answering
    satisfied: float | None = None  # households satisfied (when the file counts them)
    scores: dict[str, float] = Field(default_factory=dict, sa_type=JSON)  # question → mean 1–5
    note: str | None = None
