"""The request bodies of sync (sync.md §6) as the server validates them: pydantic models,
`extra="forbid"`, every id and stamp by its pattern."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

ID = r"^[0-9a-zA-Z-]{1,64}$"
STAMP = r"^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$"


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    numbers_left: dict[str, int] = Field(default_factory=dict)
    # the sites this laptop holds: the answer names those on the server it may no longer see
    sites_held: Annotated[list[Annotated[str, Field(pattern=ID)]], Field(max_length=10_000)] = (
        Field(default_factory=list)
    )


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
