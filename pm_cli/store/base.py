"""Synced-model bases (DESIGN §3) and the local-only tables the store itself keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel


class Synced(SQLModel):
    """Columns every synced row has. No FOREIGN KEYs: sync may deliver a child first."""

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


class Change(SQLModel, table=True):
    """The outbox: one row per local write, made in the write's own transaction (sync.md §1)."""

    __tablename__ = "change"

    change_id: str = Field(primary_key=True)
    local_no: int = Field(unique=True)
    site_id: str
    entity: str
    record_id: str
    op: str  # upsert | delete | restore | append
    fields: dict[str, Any] = Field(sa_type=JSON)
    base: dict[str, str] = Field(sa_type=JSON)
    hlc: str
    device_id: str
    schema_no: int = Field(sa_column_kwargs={"name": "schema"})
    state: str = Field(default="pending")  # pending | sent | acked | rejected
    seq: int | None = None
    reason: str | None = None


class SyncState(SQLModel, table=True):
    """This database's device id and clock; one row, made by `pm init`."""

    __tablename__ = "sync_state"

    id: int = Field(default=1, primary_key=True)
    device_id: str
    last_hlc: str
    clock_offset_ms: int = 0
    server_epoch: str | None = None
