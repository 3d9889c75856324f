"""Where `pm run show RUN --photos` gets the photos this laptop lacks. Runs know no server:
the sync feature registers its download here (`sync/adds.py`), and the root app imports that
module when it builds the `run` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class Fetched(Protocol):
    """What a download did: photos it refused (why), offline (why) or counts."""

    refused: list[str]
    offline: str | None
    downloaded: int
    not_uploaded: int


Fetch = Callable[[Path, str], Fetched]  # (database path, run id) → what was fetched
_source: list[Fetch] = []


def register(fetch: Fetch) -> None:
    """Make `fetch` the way photos are downloaded (the last registered wins)."""
    _source[:] = [fetch]


def fetch(db_path: Path, run_id: str) -> Fetched | None:
    """Download the run's missing photos; None when this pm has no way to (no sync)."""
    return _source[0](db_path, run_id) if _source else None
