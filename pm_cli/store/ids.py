"""Ids and times as stored: UUIDv7 text, UTC text with milliseconds and `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

from uuid6 import uuid7


def new_id() -> str:
    return str(uuid7())


def utc_text(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give it a time zone")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_text() -> str:
    return utc_text(datetime.now(UTC))
