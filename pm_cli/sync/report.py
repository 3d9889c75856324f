"""What one `pm sync` did (counts, refused changes, the cursor reached, warnings), filled in by
its push, pull and snapshot steps, and how a step reports its progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[str, int, int], None]  # (stage, done, total): a step's progress


@dataclass
class Report:
    """What one `pm sync` did: counts, refused changes, the cursor reached, warnings."""

    pushed: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    pulled: int = 0
    applied: int = 0
    parked: int = 0
    replayed: int = 0  # parked changes this pm now knows, applied
    cursor: int = 0
    expected: int = 0  # changes the server holds past our cursor (an upper bound)
    offset_ms: int = 0
    warnings: list[str] = field(default_factory=list)
