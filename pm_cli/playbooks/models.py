from __future__ import annotations

from sqlalchemy import Index, Text
from sqlmodel import Field

from pm_cli.store.base import AppendOnly


class PlaybookRow(AppendOnly, table=True):
    """One version of a playbook, company-wide (`site_id` NULL), never changed once stored."""

    __tablename__ = "playbook"
    __table_args__ = (Index("ix_playbook_key", "playbook_id", "version"),)

    playbook_id: str
    version: int
    sha256: str  # of the canonical JSON content, not of the YAML bytes
    title: str
    service: str
    schedule: str | None = None
    yaml: str = Field(sa_type=Text)  # the text as written, comments and all
    spec: str = Field(sa_type=Text)  # canonical JSON, what runs read
