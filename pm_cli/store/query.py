"""Feature-agnostic reads: live rows of a site, a row by its code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from pm_cli.errors import ConflictError, NotFoundError, PmError
from pm_cli.store.base import AppendOnly, Synced
from pm_cli.store.read import IN_CHUNK as IN_CHUNK
from pm_cli.store.read import ambiguous as ambiguous  # its home is store.read
from pm_cli.store.read import chunks as chunks

T = TypeVar("T", bound=Synced)
A = TypeVar("A", bound=AppendOnly)
V = TypeVar("V")


def live(model: type[T], site_id: str | None = None) -> SelectOfScalar[T]:
    stmt = select(model).where(model.deleted == False)  # noqa: E712
    if site_id is not None:
        stmt = stmt.where(model.site_id == site_id)
    return stmt


def find_by_code(
    session: Session, model: type[T], code: str, *, site_id: str | None, noun: str, where: str
) -> T | None:
    """The one live row with this code, None if there is none; two is an ambiguity error."""
    # every model given here has a `code` column, which the Synced bound cannot say
    rows = list(session.exec(live(model, site_id).where(model.code == code)))  # type: ignore[attr-defined]
    if len(rows) > 1:
        raise ambiguous(code, len(rows), noun, where)
    return rows[0] if rows else None


class CodeMap(dict[str, V]):
    """code → value for every code a site's live rows hold once. Looking up a code held by
    two rows raises the ambiguity error (never picks one); `twice` lists those codes."""

    def __init__(self, pairs: Iterable[tuple[str, V]], *, noun: str, where: str):
        super().__init__()
        self.twice: dict[str, int] = {}
        self.noun, self.where = noun, where
        for code, value in pairs:
            if code in self.twice:
                self.twice[code] += 1
            elif code in self:
                del self[code]
                self.twice[code] = 2
            else:
                self[code] = value

    def _check(self, code: object) -> None:
        if isinstance(code, str) and code in self.twice:
            raise ambiguous(code, self.twice[code], self.noun, self.where)

    def __contains__(self, code: object) -> bool:
        self._check(code)
        return super().__contains__(code)

    def __getitem__(self, code: str) -> V:
        self._check(code)
        return super().__getitem__(code)

    def get(self, code: str, default: Any = None) -> Any:
        self._check(code)
        return super().get(code, default)


def code_map(
    session: Session,
    model: type[T],
    *,
    site_id: str | None,
    noun: str,
    where: str,
    value: Any = None,
    codes: Iterable[str] | None = None,
    chunk: int = IN_CHUNK,
) -> CodeMap[Any]:
    """Every live row of a site by its code (the row, or the column `value` such as the id);
    the one way importers and planners look codes up, so none picks one of two. `codes`
    reads only those (a route's stops among 20,000 checkpoints)."""
    # every model given here has a `code` column, which the Synced bound cannot say
    code_col = model.code  # type: ignore[attr-defined]
    stmt: Any = (
        live(model, site_id)
        if value is None
        else select(code_col, value).where(model.deleted == False)  # noqa: E712
    )
    if value is not None and site_id is not None:
        stmt = stmt.where(model.site_id == site_id)
    if codes is None:
        rows: Iterable[Any] = session.exec(stmt)
    else:
        rows = [
            r
            for part in chunks(codes, chunk)
            for r in session.exec(stmt.where(col(code_col).in_(part)))
        ]
    if value is None:
        return CodeMap(((r.code, r) for r in rows), noun=noun, where=where)
    return CodeMap(((c, x) for c, x in rows), noun=noun, where=where)


def one_or_none(session: Session, stmt: Any, *, what: str, where: str) -> Any:
    """The one row a query finds, None for none; two is an ambiguity error."""
    rows = list(session.exec(stmt.limit(2)))
    if len(rows) > 1:
        raise ConflictError(
            f"{what} is ambiguous (more than one at {where})",
            hint="pm sync conflicts; rename or remove one of them",
        )
    return rows[0] if rows else None


def get_by_code(
    session: Session,
    model: type[T],
    code: str,
    *,
    site_id: str | None,
    noun: str,
    where: str,
    hint: str | None = None,
) -> T:
    row = find_by_code(session, model, code, site_id=site_id, noun=noun, where=where)
    if row is None:
        raise NotFoundError(f"no {noun} {code}", where=where, hint=hint)
    return row


def get_by_tail(
    session: Session,
    model: type[T],
    ref: str,
    *,
    site_id: str,
    noun: str,
    where: str,
    hint: str,
    scope: Any = None,
) -> T:
    """A row by its id or the tail of it (≥ 6 characters: a UUIDv7's random end, since its
    start is the same for everything made in one minute). `scope`, a WHERE clause, widens
    the site filter (a site's rows and the company-wide ones)."""
    key = ref.strip().lower()
    if len(key) < 6:
        raise PmError(
            f"{noun} {ref!r} is too short to find",
            where=noun.upper().replace(" ", "_"),
            hint="give the id, or its last 8 characters as lists show them",
        )
    stmt = live(model, site_id) if scope is None else live(model).where(scope)
    stmt = (
        stmt.where(model.id == key) if len(key) == 36 else stmt.where(col(model.id).endswith(key))
    )
    rows = list(session.exec(stmt.limit(3)))
    if not rows:
        raise NotFoundError(f"no {noun} {ref} at {where}", hint=hint)
    if len(rows) > 1:
        raise PmError(f"{noun} {ref} is ambiguous at {where}", hint="give more of the id")
    return rows[0]


def children(
    session: Session, model: type[A], parent: str, ids: list[str], chunk: int = IN_CHUNK
) -> dict[str, list[A]]:
    """Append-only rows of many parents (events, step results) grouped by parent id, each
    list in stamp order; queried in chunks so the IN list stays within SQLite's limits."""
    key = getattr(model, parent)
    out: dict[str, list[A]] = {}
    for part in chunks(ids, chunk):
        for row in session.exec(select(model).where(col(key).in_(part)).order_by(col(model.hlc))):
            out.setdefault(getattr(row, parent), []).append(row)
    return out


def codes_by_id(
    session: Session, model: type[T], ids: Iterable[str], chunk: int = IN_CHUNK
) -> dict[str, str]:
    """id → code of the rows with these ids (deleted ones too: history still names them),
    in chunks so the IN list stays within SQLite's limits."""
    id_col, code_col = model.__table__.c.id, model.__table__.c.code
    out: dict[str, str] = {}
    for part in chunks(ids, chunk):
        out.update(session.exec(select(id_col, code_col).where(id_col.in_(part))).all())
    return out


def rows_by_id(
    session: Session, model: type[T], ids: Iterable[str], chunk: int = IN_CHUNK
) -> dict[str, T]:
    """id → row of the rows with these ids, in chunks (IN lists within SQLite's limits)."""
    id_col = col(model.id)
    out: dict[str, T] = {}
    for part in chunks(ids, chunk):
        for row in session.exec(select(model).where(id_col.in_(part))):
            out[row.id] = row
    return out
