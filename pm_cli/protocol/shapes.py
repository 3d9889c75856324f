"""The shapes both sides of sync agree on (sync.md §6, §7): the protocol number and limits,
and the error every refusal carries (`{error, message, where[], hint}`). The request bodies
the server validates are in `protocol.bodies` (pydantic models: the laptop, which only
sends them, does not build them at start-up)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        where: list[str] | None = None,
        hint: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.where, self.hint, self.extra = where or [], hint, extra or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "message": self.message,
            "where": self.where,
            "hint": self.hint,
            **self.extra,
        }


SNAPSHOT_PAGE = 5000
