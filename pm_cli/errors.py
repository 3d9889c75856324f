"""Exit codes and the errors services raise. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    NETWORK = 4


class PmError(Exception):
    """A foreseeable failure: printed as `error: … (where)` plus an optional hint."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint


class NotFoundError(PmError):
    exit_code = ExitCode.NOT_FOUND


class UsageError(PmError):
    exit_code = ExitCode.USAGE


class ConflictError(PmError):
    """A rule refuses the change (duplicate code, cycle, children left behind …)."""


class StoreError(PmError):
    """The database file cannot be used as it is (missing, newer, locked, corrupt)."""


class SyncError(PmError):
    exit_code = ExitCode.NETWORK


@dataclass(frozen=True)
class Problem:
    """One problem in bulk input: where is `FILE:ROW`, column is the English name."""

    where: str
    message: str
    column: str | None = None

    def __str__(self) -> str:
        col = f" {self.column}:" if self.column else ""
        return f"{self.where}:{col} {self.message}"


class InputError(PmError):
    """Bulk input with problems: every one is listed, nothing was written."""

    def __init__(
        self,
        problems: list[Problem],
        *,
        source: str,
        hint: str | None = None,
        outcome: str | None = "nothing was written",
    ):
        n = len(problems)
        noun = "problem" if n == 1 else "problems"
        tail = f"; {outcome}" if outcome else ""
        super().__init__(f"{n} {noun} in {source}{tail}", hint=hint)
        self.problems = problems
