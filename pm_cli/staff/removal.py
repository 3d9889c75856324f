"""What a higher feature asks before a staff member is removed. Staff stand below the
features that name them (grids have owners), so those features register their check here and
`remove_staff` runs every one; a check refuses by raising (a `ConflictError` with a hint).
The root app imports the registering modules when it builds the `staff` commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.staff.models import Staff

Check = Callable[["Session", "Staff"], None]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    """Register `fn(session, staff)` to run before any staff member is removed."""
    if fn not in CHECKS:
        CHECKS.append(fn)
    return fn
