"""Every write goes through here: stamp the fields, append to the change log, same transaction.

`create`, `update`, `delete`, `restore` and `append` are for single rows through the ORM;
`bulk_create` and `bulk_update` are the executemany paths for imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy import update as sa_update
from sqlmodel import Session, SQLModel, col

from pm_cli.errors import StoreError
from pm_cli.store.base import AppendOnly, Mutable, Synced
from pm_cli.store.engine import SYNC_SCHEMA
from pm_cli.store.hlc import Clock, new_device_id
from pm_cli.store.ids import new_id, now_text

if TYPE_CHECKING:  # the local tables are built on the first write, not by read commands
    from pm_cli.store.changes import SyncState

M = TypeVar("M", bound=Mutable)
A = TypeVar("A", bound=AppendOnly)

_SKIP = frozenset({"id", "site_id", "field_hlc", "updated_hlc"})


class Writer:
    """The clock and change-log position of one write transaction."""

    def __init__(self, session: Session):
        from pm_cli.store.changes import Change, SyncState

        self.session = session
        state = session.get(SyncState, 1)
        if state is None:
            raise StoreError("this database has no device id", hint="run `pm init` on it")
        self.clock = Clock(state.device_id, state.last_hlc, offset_ms=state.clock_offset_ms)
        # before the first sync an append-only row is its own record of what to send
        # (sync.backlog logs them all then): no second copy of every answer in the log
        self.logs_appends = state.appends_logged
        top = session.execute(select(func.max(Change.local_no))).scalar()
        self.next_no = (top or 0) + 1
        self._changes: list[dict[str, Any]] = []

    @property
    def device(self) -> str:
        return self.clock.device

    def stamp(self) -> str:
        return self.clock.now()

    def log(
        self,
        *,
        site_id: str,
        entity: str,
        record_id: str,
        op: str,
        fields: Mapping[str, Any],
        base: Mapping[str, str],
        hlc: str,
    ) -> None:
        self._changes.append(
            {
                "change_id": new_id(),
                "local_no": self.next_no,
                "site_id": site_id,
                "entity": entity,
                "record_id": record_id,
                "op": op,
                "fields": dict(fields),
                "base": dict(base),
                "hlc": hlc,
                "device_id": self.clock.device,
                "schema": SYNC_SCHEMA,
                "state": "pending",
            }
        )
        self.next_no += 1

    def flush_changes(self) -> None:
        if self._changes:
            from pm_cli.store.changes import Change

            self.session.execute(Change.__table__.insert(), self._changes)
            self._changes = []

    def flush(self) -> None:
        """Insert the logged changes and save the clock (called before commit)."""
        from pm_cli.store.changes import SyncState

        self.flush_changes()
        self.session.execute(
            sa_update(SyncState).where(col(SyncState.id) == 1).values(last_hlc=self.clock.last)
        )


def writer(session: Session) -> Writer:
    w = session.info.get("pm_writer")
    if w is None:
        from sqlalchemy import event

        w = session.info["pm_writer"] = Writer(session)

        @event.listens_for(session, "before_commit")
        def _flush_writer(s: Session) -> None:
            s.flush()
            s.info["pm_writer"].flush()

    return w


def init_state(session: Session) -> SyncState:
    """Make the one sync_state row if there is none (pm init); idempotent."""
    from pm_cli.store.changes import SyncState

    state = session.get(SyncState, 1)
    if state is None:
        device = new_device_id()
        state = SyncState(id=1, device_id=device, last_hlc=Clock(device).now())
        session.add(state)
        session.flush()
    return state


def _entity(model: type[SQLModel]) -> str:
    return str(model.__tablename__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def check(model: type[SQLModel], fields: Mapping[str, Any], *, create: bool = False) -> None:
    """Refuse values the record's table cannot hold (store.fields: types, enums, caps), the
    same rules the server applies to every pushed change."""
    from pm_cli.errors import UsageError
    from pm_cli.store.fields import describe, fields_of

    problems = fields_of(model).problems(fields, create=create)
    if problems:
        raise UsageError(
            f"cannot save this {_entity(model).replace('_', ' ')}: {describe(problems)}",
            where=problems[0][0],
        )


def create(
    session: Session, model: type[M], *, site_id: str, created_at: str | None = None, **values: Any
) -> M:
    """Insert a new mutable row, every given field stamped, and log it. `created_at` backdates
    a record of something that happened earlier (stored UTC text)."""
    w = writer(session)
    row_id = values.pop("id", None) or new_id()
    created = created_at or now_text()
    fields = {"created_at": created, **{k: _jsonable(v) for k, v in values.items()}}
    check(model, fields, create=True)
    h = w.stamp()
    row = model(id=row_id, site_id=site_id, created_at=created, **values)
    row.field_hlc = dict.fromkeys(fields, h)
    row.updated_hlc = h
    session.add(row)
    w.log(
        site_id=site_id,
        entity=_entity(model),
        record_id=row_id,
        op="upsert",
        fields=fields,
        base={},
        hlc=h,
    )
    return row


def update(session: Session, row: Mutable, **values: Any) -> bool:
    """Set the fields that differ; stamp and log only those. False when nothing changed."""
    return _update(session, row, "upsert", values)


def _update(session: Session, row: Mutable, op: str, values: Mapping[str, Any]) -> bool:
    """`update` logged as `op` (upsert, delete, restore); the fields are never mixed up with
    the op, whatever they are called."""
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return False
    unknown = [k for k in changed if k in _SKIP or k not in type(row).model_fields]
    if unknown:
        raise ValueError(f"not an editable field of {_entity(type(row))}: {unknown}")
    check(type(row), {k: _jsonable(v) for k, v in changed.items()})
    w = writer(session)
    h = w.stamp()
    stamps = dict(row.field_hlc or {})
    base = {k: stamps[k] for k in changed if k in stamps}
    for k, v in changed.items():
        setattr(row, k, v)
        stamps[k] = h
    row.field_hlc = stamps
    row.updated_hlc = h
    session.add(row)
    w.log(
        site_id=row.site_id or "",
        entity=_entity(type(row)),
        record_id=row.id,
        op=op,
        fields={k: _jsonable(v) for k, v in changed.items()},
        base=base,
        hlc=h,
    )
    return True


def delete(session: Session, row: Mutable) -> bool:
    """Tombstone a row (rows are never physically deleted)."""
    return _update(session, row, "delete", {"deleted": True})


def restore(session: Session, row: Mutable) -> bool:
    return _update(session, row, "restore", {"deleted": False})


def append(
    session: Session,
    model: type[A],
    *,
    site_id: str | None,
    created_at: str | None = None,
    **values: Any,
) -> A:
    """Insert an append-only row and log the whole row (site_id None: company-wide) once
    the database has synced (before, the row is logged at the first sync: sync.backlog).
    `created_at` backdates a record of something that happened earlier (stored UTC text)."""
    w = writer(session)
    row_id = values.pop("id", None) or new_id()
    created = created_at or now_text()
    fields = {"created_at": created, **{k: _jsonable(v) for k, v in values.items()}}
    check(model, fields, create=True)
    h = w.stamp()
    row = model(id=row_id, site_id=site_id, created_at=created, hlc=h, **values)
    session.add(row)
    if w.logs_appends:
        w.log(
            site_id=site_id or "",
            entity=_entity(model),
            record_id=row_id,
            op="append",
            fields=fields,
            base={},
            hlc=h,
        )
    return row


def _value_columns(
    model: type[Synced], skip: Iterable[str]
) -> tuple[list[str], dict[str, Any], list[bool]]:
    """The columns a bulk insert takes from each row's values (not `skip`), their defaults,
    and which of them hold JSON."""
    from sqlalchemy import JSON

    left_out = set(skip)
    names = [n for n in model.model_fields if n not in left_out]
    defaults = {n: model.model_fields[n].get_default(call_default_factory=True) for n in names}
    return names, defaults, [isinstance(model.__table__.c[n].type, JSON) for n in names]


CHUNK = 5000
_PH = "@@HLC@@"  # JSON leaves it as it is, so replace() finds it
_CHANGE_COLS = (
    "change_id",
    "local_no",
    "site_id",
    "entity",
    "record_id",
    "op",
    "fields",
    "base",
    "hlc",
    "device_id",
    "schema",
    "state",
)
_CHANGE_SQL = (
    f"INSERT INTO change ({', '.join(_CHANGE_COLS)}) VALUES ({', '.join('?' * len(_CHANGE_COLS))})"
)


def bulk_create(
    session: Session,
    model: type[Mutable],
    *,
    site_id: str,
    rows: Iterable[dict[str, Any]],
    progress: Callable[[int], object] | None = None,
) -> int:
    """executemany-insert new rows (dicts of field values, `id` and `created_at` optional),
    logging each.

    The bulk path of imports: plain DBAPI executemany in chunks (no ORM object, no per-row
    SQLAlchemy parameter processing), so memory stays flat and 100 k rows take seconds.
    """

    from pm_cli.store.engine import json_text

    w = writer(session)
    session.flush()
    conn = session.connection()
    table = model.__table__
    entity = _entity(model)
    created = now_text()
    names, defaults, is_json = _value_columns(model, (*_SKIP, "created_at", "deleted"))
    cols = ("id", "site_id", "created_at", "deleted", "field_hlc", "updated_hlc", *names)
    row_sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    stamps_tpl = json_text(dict.fromkeys(("created_at", *names), _PH))
    clock, device = w.clock, w.device
    conn.exec_driver_sql("PRAGMA cache_size = -32768")  # 32 MiB: index pages stay in memory
    json_cache: dict[tuple[Any, ...], str] = {}

    def as_json(x: Any) -> str:  # tag lists repeat across rows: serialise each once
        if isinstance(x, list) and len(json_cache) < 10_000 and all(type(e) is str for e in x):
            key = tuple(x)
            if key not in json_cache:
                json_cache[key] = json_text(x)
            return json_cache[key]
        return json_text(x)

    # Each chunk's changes are made by SQLite from the rows just inserted (json_object in C,
    # no JSON encoded or id made per row in Python): the rows of one INSERT in our write
    # transaction take the rowids after the table's largest, in order. A created record's
    # change has the record's id, as a backlog's has (an id is made once, so it is unique).
    from pm_cli.store.outbox import CHANGE_COLUMNS, json_object

    fields_sql = json_object(table.c[k] for k in ("created_at", *names))
    change_sql = (
        f"INSERT INTO change ({CHANGE_COLUMNS}) SELECT id, ? + rowid, site_id, ?, id, "
        f"'upsert', {fields_sql}, '{{}}', updated_hlc, ?, ?, 'pending' "
        f"FROM {table.name} WHERE rowid > ? ORDER BY rowid"
    )
    last_sql = f"SELECT coalesce(max(rowid), 0) FROM {table.name}"
    batch: list[tuple[Any, ...]] = []
    n = 0

    def write_chunk() -> None:
        before = conn.exec_driver_sql(last_sql).scalar_one()
        conn.exec_driver_sql(row_sql, batch)
        logged = conn.exec_driver_sql(
            change_sql, (w.next_no - before - 1, entity, device, SYNC_SCHEMA, before)
        ).rowcount
        if logged != len(batch):  # rowids not in one run: never in one write transaction
            raise RuntimeError(f"bulk insert into {table.name}: {logged} of {len(batch)} logged")
        w.next_no += len(batch)
        if progress:
            progress(len(batch))

    from pm_cli.errors import UsageError
    from pm_cli.store.fields import fields_of

    caps = fields_of(model).caps
    capped = [(i, k, caps[k]) for i, k in enumerate(names) if caps.get(k) is not None]
    json_at = [i for i, j in enumerate(is_json) if j]
    blank = [defaults[k] for k in names]
    for values in rows:
        h = clock.now()
        vals = [values.get(k, d) for k, d in zip(names, blank, strict=True)]
        for i, k, cap in capped:  # the text caps, cheaply
            x = vals[i]
            if type(x) is str and len(x) > cap:
                raise UsageError(
                    f"cannot save {entity.replace('_', ' ')} {n + len(batch) + 1}"
                    f": {k}: at most {cap:,} characters (this one {len(x):,})",
                    where=k,
                )
        for i in json_at:
            vals[i] = as_json(vals[i])
        batch.append(
            (
                values.get("id") or new_id(),
                site_id,
                values.get("created_at") or created,
                0,
                stamps_tpl.replace(_PH, h),
                h,
                *vals,
            )
        )
        if len(batch) >= CHUNK:
            write_chunk()
            n += len(batch)
            batch = []
    if batch:
        write_chunk()
        n += len(batch)
    return n


def bulk_update(
    session: Session, model: type[Mutable], edits: Iterable[tuple[Mutable, dict[str, Any]]]
) -> int:
    """Apply {field: value} edits to loaded rows with executemany; log each. Rows stay in sync."""
    w = writer(session)
    entity = _entity(model)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    n = 0
    for row, values in edits:
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if not changed:
            continue
        h = w.stamp()
        stamps = dict(row.field_hlc or {})
        base = {k: stamps[k] for k in changed if k in stamps}
        stamps.update(dict.fromkeys(changed, h))
        w.log(
            site_id=row.site_id or "",
            entity=entity,
            record_id=row.id,
            op="upsert",
            fields=changed,
            base=base,
            hlc=h,
        )
        params = {**changed, "field_hlc": stamps, "updated_hlc": h, "b_id": row.id}
        groups.setdefault(tuple(sorted(changed)), []).append(params)
        n += 1
    session.flush()
    table = model.__table__
    from sqlalchemy import bindparam

    for keys, group in groups.items():
        stmt = (
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in (*keys, "field_hlc", "updated_hlc")})
        )
        session.execute(stmt, group)
    if n:
        session.expire_all()
    return n


def bulk_append(
    session: Session,
    model: type[AppendOnly],
    *,
    site_id: str | None,
    rows: Iterable[dict[str, Any]],
) -> int:
    """executemany-insert append-only rows (`id` and `created_at` optional), each logged as
    `append` with the whole row, as `append` does one at a time (and as it does, only once
    the database has synced)."""

    from pm_cli.store.engine import json_text

    w = writer(session)
    session.flush()
    conn = session.connection()
    table = model.__table__
    entity = _entity(model)
    now = now_text()
    names, defaults, is_json = _value_columns(
        model, ("id", "site_id", "created_at", "deleted", "hlc")
    )
    cols = ("id", "site_id", "created_at", "deleted", "hlc", *names)
    row_sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    from pm_cli.store.fields import fields_of

    checker = fields_of(model)
    batch: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    n = 0
    for values in rows:
        h = w.clock.now()
        row_id = values.get("id") or new_id()
        at = values.get("created_at") or now
        vals = [values.get(k, defaults[k]) for k in names]
        fields = {"created_at": at, **dict(zip(names, vals, strict=True))}
        problems = checker.problems(fields, create=True)
        if problems:
            from pm_cli.errors import UsageError
            from pm_cli.store.fields import describe

            raise UsageError(
                f"cannot save {entity.replace('_', ' ')} {n + len(batch) + 1}: "
                f"{describe(problems)}",
                where=problems[0][0],
            )
        batch.append(
            (
                row_id,
                site_id,
                at,
                0,
                h,
                *[json_text(x) if j else x for x, j in zip(vals, is_json, strict=True)],
            )
        )
        if w.logs_appends:
            changes.append(
                (
                    new_id(),
                    w.next_no,
                    site_id or "",
                    entity,
                    row_id,
                    "append",
                    json_text(fields),
                    "{}",
                    h,
                    w.device,
                    SYNC_SCHEMA,
                    "pending",
                )
            )
            w.next_no += 1
        if len(batch) >= CHUNK:
            _insert(conn, row_sql, batch, changes)
            n += len(batch)
            batch, changes = [], []
    if batch:
        _insert(conn, row_sql, batch, changes)
        n += len(batch)
    return n


def _insert(
    conn: Any, row_sql: str, rows: list[tuple[Any, ...]], changes: list[tuple[Any, ...]]
) -> None:
    conn.exec_driver_sql(row_sql, rows)
    if changes:
        conn.exec_driver_sql(_CHANGE_SQL, changes)
