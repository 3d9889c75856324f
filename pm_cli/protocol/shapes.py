"""The shapes both sides of sync agree on (sync.md §6, §7): the protocol number and limits,
the request bodies (validated by pydantic on the server, `extra="forbid"`), and the error
every refusal carries (`{error, message, where[], hint}`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pm_cli.store.engine import SYNC_SCHEMA

__all__ = ["SYNC_SCHEMA"]

PROTOCOL = 1
MIN_CLIENT_SCHEMA = 8  # the first schema that speaks this protocol
MAX_BATCH = 500
MAX_BYTES = 4 * 1024 * 1024
MAX_AHEAD = timedelta(hours=24)
PULL_DEFAULT, PULL_MAX = 1000, 10_000


class ApiError(Exception):
    """An answer other than 200: status, machine code, message, where, hint (sync.md §6)."""

    def __init__(self, status: int, error: str, message: str, *, where: list[str] | None = None,
                 hint: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.where, self.hint, self.extra = where or [], hint, extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, "where": self.where,
                "hint": self.hint, **self.extra}


SNAPSHOT_PAGE = 5000


ID = r"^[0-9a-zA-Z-]{1,64}$"
STAMP = r"^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$"


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    numbers_left: dict[str, int] = Field(default_factory=dict)
    # the sites this laptop holds: the answer names those on the server it may no longer see
    sites_held: Annotated[list[Annotated[str, Field(pattern=ID)]], Field(max_length=10_000)] = \
        Field(default_factory=list)


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    change_id: Annotated[str, Field(pattern=ID)]
    site_id: Annotated[str, Field(pattern=r"^[0-9a-zA-Z-]{0,64}$")]
    entity: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
    record_id: Annotated[str, Field(pattern=ID)]
    op: Annotated[str, Field(pattern=r"^(upsert|delete|restore|append)$")]
    fields: dict[str, Any]
    base: dict[str, Annotated[str, Field(pattern=STAMP)]] = Field(default_factory=dict)
    hlc: Annotated[str, Field(pattern=STAMP)]


class Push(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: list[ChangeIn]
