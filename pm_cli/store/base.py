"""Synced-model bases (DESIGN §3): the columns every synced row has."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from sqlalchemy import Table


class Synced(SQLModel):
    """Columns every synced row has. No FOREIGN KEYs: sync may deliver a child first."""

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    id: str = Field(primary_key=True)
    site_id: str | None = Field(default=None)  # indexed per table, with what it is read by
    created_at: str
    deleted: bool = Field(default=False)


class Mutable(Synced):
    """A row merged field by field: `field_hlc` maps each field to the stamp that set it."""

    field_hlc: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    updated_hlc: str = Field(default="")


class AppendOnly(Synced):
    """A row inserted once and never updated; a correction is a new row."""

    hlc: str
