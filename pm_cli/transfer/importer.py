"""The import framework every kind of record follows: an Importer plans a file (reads its
rows, checks every one, says what would be created or updated and what is wrong) and then
applies the plan; it also lists the records export writes. The checks every kind shares
live here once: parsing a cell into a problem at `FILE:ROW`, and a key twice in one file."""

from __future__ import annotations

import enum
import gc
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pm_cli.errors import Problem
from pm_cli.transfer.table import Column, Row, Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

Progress = Callable[[int], object]


@dataclass
class Plan:
    """What importing a file would do: the records to create, the records to update (each
    importer's own entries, in file order), how many rows change nothing, and the problems
    that stop the import. `site` is where it writes (None for sites)."""

    site: Site | None
    creates: list[Any] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)


class Importer:
    """One kind of record in files: its columns, how a file of it is planned and applied,
    and the records `pm export` writes for it."""

    kind: str = ""
    plural: str = ""  # the kind in messages ("importing surveys needs a site")
    columns: tuple[Column, ...] = ()
    match: tuple[str, bool] = ("code", True)  # the column rows are matched by; required?
    needs_site: bool = True

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,
        progress: Progress | None = None,
    ) -> Plan:
        """Check every row of `table` against the database; write nothing. `grid`: the grid
        of checkpoint rows that name none; `progress` is told of rows done, as they are."""
        raise NotImplementedError

    def apply(self, session: Session, plan: Plan) -> None:
        """Write a plan that has no problems, in the caller's transaction."""
        raise NotImplementedError

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        """What `pm export KIND` writes: the same records `pm … list --json` prints."""
        raise NotImplementedError

    def ordered(self, problems: list[Problem]) -> list[Problem]:
        """The problems as they are listed: by row, then column."""
        return sorted(problems, key=_row_then_column)

    def export_columns(self, rows: list[dict[str, Any]]) -> list[str]:  # noqa: ARG002
        """The columns a CSV or workbook export of `rows` has."""
        return self.keys()

    def keys(self) -> list[str]:
        """The columns a file of this kind has (what import reads; export writes these)."""
        return [c.key for c in self.columns if not c.derived and not c.rest]


def _row_then_column(p: Problem) -> tuple[int, str]:
    """`FILE:ROW`, `FILE:LINE`, `FILE:#N` by their number (a workbook's `sheet S row N`
    reads as 0, so there problems sort by column alone)."""
    tail = p.where.rsplit(":", 1)[-1].lstrip("#")
    return (int(tail) if tail.isdigit() else 0, p.column or "")


# ---- cells -------------------------------------------------------------------------------


class _Bad(enum.Enum):
    """A cell that failed to parse (its problem is already recorded), or is not in the file."""

    BAD = enum.auto()


BAD: Final = _Bad.BAD  # a one-member enum, so `x is BAD` narrows x for the type checker


def cell(
    row: Row, key: str, parse: Callable[[Any], Any], problems: list[Problem], *, multi: bool = False
) -> Any:
    """Parse one cell (a list only in a `multi` column); on failure record
    `FILE:ROW: column: reason` and return BAD. A column the file lacks is BAD too."""
    raw = row.values.get(key, BAD)
    if raw is None:
        raw = ""
    elif raw is BAD:
        return BAD
    elif not isinstance(raw, str) and not (multi and isinstance(raw, list)):
        problems.append(Problem(row.where, "expected text, not a list", key))
        return BAD
    try:
        return parse(raw)
    except ValueError as e:
        problems.append(Problem(row.where, str(e), key))
        return BAD


def text(row: Row, key: str) -> str:
    """A cell as stripped text ("" when empty or absent)."""
    raw = row.values.get(key)
    return "" if raw is None else str(raw).strip()


def reference(
    row: Row, key: str, codes: Mapping[str, str], noun: str, site: Site, problems: list[Problem]
) -> Any:
    """A cell naming a record of the site by code: the code, None when empty, BAD when the
    column is absent or names no such record (`no grid X at site CH`)."""
    if key not in row.values:
        return BAD
    code = text(row, key)
    if not code:
        return None
    if code not in codes:
        problems.append(Problem(row.where, f"no {noun} {code} at site {site.code}", key))
        return BAD
    return code


def site_codes(session: Session, site: Site) -> tuple[dict[str, str], dict[str, str]]:
    """The site's grids and staff: {code: id} each."""
    from pm_cli.grids.models import Grid
    from pm_cli.staff.models import Staff
    from pm_cli.store.query import code_map

    grids = code_map(session, Grid, site_id=site.id, noun="grid", where=site.code, value=Grid.id)
    staff = code_map(
        session, Staff, site_id=site.id, noun="staff member", where=site.code, value=Staff.id
    )
    return grids, staff


def quiet(parse: Callable[[str], Any], value: str) -> Any:
    """`parse(value)`, or None where it fails (its problem is recorded elsewhere)."""
    try:
        return parse(value)
    except ValueError:
        return None


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """`parse`, with an empty cell meaning None."""

    def run(value: str) -> Any:
        return parse(value) if value.strip() else None

    return run


def memo(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse` remembered per cell text: a column of a few repeated values (tags, duty lists,
    levels) is parsed once per value, not once per row. A list comes back as a new list."""
    seen: dict[str, tuple[bool, Any]] = {}

    def run(raw: Any) -> Any:
        if type(raw) is not str:
            return parse(raw)
        hit = seen.get(raw)
        if hit is None:
            try:
                hit = (True, parse(raw))
            except ValueError as e:
                hit = (False, str(e))
            if len(seen) < 100_000:
                seen[raw] = hit
        ok, value = hit
        if not ok:
            raise ValueError(value)
        return list(value) if type(value) is list else value

    return run


def diff(current: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from the fields of `current`."""
    return {k: val for k, val in values.items() if getattr(current, k) != val}


# ---- a key twice in one file -------------------------------------------------------------


class Duplicates:
    """The keys of a file's rows (a code, an item number, a grid and day). A key on more than
    one row is a problem on each such row, naming them all:
    `FILE:6: code: code G1 appears more than once (2, 6)`."""

    def __init__(
        self,
        keyed: Iterable[tuple[Row, Hashable | None]],
        *,
        column: str,
        what: Callable[[Any], str],
    ):
        self.column = column
        self.first: dict[Any, Row] = {}  # the first row of each key
        groups: dict[Any, list[Row]] = {}
        for row, key in keyed:
            if key is None:
                continue
            if key in self.first:
                groups.setdefault(key, [self.first[key]]).append(row)
            else:
                self.first[key] = row
        self._messages: dict[int, str] = {}  # by id(row): the problem of each repeated row
        self._later: set[int] = set()  # rows whose key an earlier row has
        for key, group in groups.items():
            message = f"{what(key)} appears more than once ({', '.join(r.at for r in group)})"
            for row in group:
                self._messages[id(row)] = message
            self._later.update(id(row) for row in group[1:])

    def check(self, row: Row, problems: list[Problem]) -> bool:
        """Record the problem of `row` if its key is on other rows too; False when an earlier
        row has its key (the row is not planned)."""
        message = self._messages.get(id(row))
        if message is None:
            return True
        problems.append(Problem(row.where, message, self.column))
        return id(row) not in self._later


def codes(rows: Iterable[Row], column: str = "code") -> Iterator[tuple[Row, str | None]]:
    """Each row with the code it names (stripped, as typed; None where the cell is no text)."""
    for row in rows:
        raw = row.values.get(column)
        yield row, (raw.strip() or None) if isinstance(raw, str) else None


def code_duplicates(rows: Iterable[Row]) -> Duplicates:
    """Rows matched by code: a code twice is `code X appears more than once (ROWS)`."""
    return Duplicates(codes(rows), column="code", what=lambda code: f"code {code}")


# ---- bulk work ---------------------------------------------------------------------------


@contextmanager
def no_gc() -> Iterator[None]:
    """Bulk work makes ~10 objects a row and frees none until it is done: the cyclic GC
    would walk them all again and again (~20% of a 100 k-row import) for nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def drain(items: list[Any]) -> Iterator[Any]:
    """Yield and release each item, so written rows do not stay in memory."""
    items.reverse()
    while items:
        yield items.pop()


def load_rows(session: Session, model: type[Any], updates: list[tuple[Any, dict]]) -> list:
    """The ORM rows (with their field stamps) for planned updates found on plain rows."""
    from sqlmodel import select

    out = []
    for start in range(0, len(updates), 500):
        chunk = updates[start : start + 500]
        rows = {
            r.id: r
            for r in session.exec(select(model).where(model.id.in_([row.id for row, _ in chunk])))
        }
        out += [(rows[row.id], change) for row, change in chunk]
    return out
