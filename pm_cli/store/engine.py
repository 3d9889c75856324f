"""Opening the SQLite file: WAL, busy timeout, `BEGIN IMMEDIATE` for writes.

The schema revision is checked with plain sqlite3 before SQLAlchemy loads (`inspect_file`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_cli.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

# PRAGMA user_version written by the newest migration; bump with every revision.
SCHEMA_VERSION = 14
# Pm-Schema of sync.md §5: +1 per migration touching a synced table.
SYNC_SCHEMA = 8
# The Alembic revisions this pm knows: "0001" … the head; revision N leaves user_version N
# (tests/db/test_cli.py pins this against the migrations folder), so the hot path knows
# them without importing Alembic.
REVISIONS = tuple(f"{n:04d}" for n in range(1, SCHEMA_VERSION + 1))
DEFAULT_BUSY_MS = 30_000


def busy_timeout_ms() -> int:
    raw = os.environ.get("PM_BUSY_TIMEOUT")
    try:
        return int(float(raw) * 1000) if raw else DEFAULT_BUSY_MS
    except ValueError:
        raise StoreError(
            f"PM_BUSY_TIMEOUT must be a number of seconds, not {raw!r}", where="environment"
        ) from None


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_text(value: Any) -> str:
    """JSON as stored: compact, UTF-8 text as is (one encoder, not one per call)."""
    return _ENCODER.encode(value)


def inspect_file(path: Path) -> int:
    """The file's schema version (PRAGMA user_version), read with plain sqlite3.

    Raises StoreError when there is no file, it is not SQLite, or a newer pm made it.
    """
    if not path.exists():
        raise StoreError(
            "no pm database here", where=str(path), hint="run `pm init` or pass --db PATH"
        )
    if path.is_dir():
        raise StoreError("the database path is a directory", where=str(path))
    try:
        con = sqlite3.connect(path, timeout=5)
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            has_alembic = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            revs = (
                [r[0] for r in con.execute("SELECT version_num FROM alembic_version")]
                if has_alembic
                else []
            )
        finally:
            con.close()
    except sqlite3.Error as e:
        err = translate(e, path)
        if err is None or err.message.startswith("cannot use the database"):
            err = StoreError(
                f"cannot read the database: {e}",
                where=str(path),
                hint="is this a pm database? pass --db with yours, or restore a backup "
                "(a copy made by `pm db backup`)",
            )
        raise err from e
    unknown = [r for r in revs if r not in REVISIONS]
    if version > SCHEMA_VERSION or unknown:
        made = f"schema {version}" if version > SCHEMA_VERSION else f"revision {unknown[0]}"
        raise StoreError(
            f"this database was made by a newer pm ({made}; this pm knows up to "
            f"schema {SCHEMA_VERSION}, revision {REVISIONS[-1]})",
            where=str(path),
            hint="upgrade pm (pip install -U pm-cli); the file was not touched",
        )
    if not has_alembic:
        raise StoreError(
            "not a pm database (no schema revision)",
            where=str(path),
            hint="run `pm init` on a new path, or pass --db with your pm database",
        )
    return version


def check_current(path: Path) -> None:
    version = inspect_file(path)
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"the database schema is older than this pm (schema {version} < {SCHEMA_VERSION})",
            where=str(path),
            hint="run `pm db migrate` (a backup first: `pm db backup FILE`)",
        )


def create_private(path: Path) -> bool:
    """Create the database file empty with mode 0600 (owner only) before SQLite opens it, so
    it is never readable by others, even for a moment; SQLite gives its -wal and -shm files
    the mode of the database. True if made here. An existing file is left as it is (its mode
    is the user's choice), and on Windows nothing is done (no POSIX modes there)."""
    if os.name == "nt":
        return False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def make_engine(path: Path) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    busy = busy_timeout_ms()
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": busy / 1000},
        poolclass=NullPool,
        json_serializer=json_text,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # SQLAlchemy's pysqlite recipe: the driver stays out of transactions; we emit BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy}")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("pm_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


RESTORE_HINT = (
    "restore your newest backup: copy the file made by `pm db backup` in its "
    "place (and delete the -wal and -shm files beside it); `pm db check` shows "
    "the damage"
)


def _sqlite_error(e: BaseException) -> BaseException | None:
    """The sqlite3 error behind `e` (SQLAlchemy wraps it as `.orig`; a StoreError made from
    one has it as its cause)."""
    seen = 0
    cur: BaseException | None = e
    while cur is not None and seen < 5:
        if isinstance(cur, sqlite3.Error):
            return cur
        orig = getattr(cur, "orig", None)
        cur = orig if isinstance(orig, BaseException) else cur.__cause__
        seen += 1
    return None


def translate(e: BaseException, path: Path | None) -> StoreError | None:
    """A StoreError (one line, what to do) for the SQLite failures a user can meet on a
    laptop: busy, disk full, read-only file or folder, damaged file, not a database, cannot
    open, disk I/O. None for anything else (a bug: it keeps its traceback)."""
    err = _sqlite_error(e)
    if err is None:
        return None
    where = str(path) if path is not None else None
    name = getattr(err, "sqlite_errorname", "") or ""
    text = str(err)
    low = text.lower()

    def is_(code: str, *words: str) -> bool:
        return name.startswith(code) or any(w in low for w in words)

    if is_("SQLITE_BUSY", "database is locked", "database is busy") or name.startswith(
        "SQLITE_LOCKED"
    ):
        return StoreError(
            "the database is busy: another process kept it locked past the busy timeout",
            where=where,
            hint="try again; PM_BUSY_TIMEOUT=SECONDS waits longer",
        )
    if is_("SQLITE_FULL", "database or disk is full"):
        return StoreError(
            "the disk is full: the change was not saved",
            where=where,
            hint="free some space on the drive that holds the database, then run the command again",
        )
    if is_("SQLITE_READONLY", "readonly", "read-only") or (
        is_("SQLITE_CANTOPEN", "unable to open")
        and path is not None
        and path.exists()
        and _read_only(path) is not None
    ):
        what = (_read_only(path) if path is not None else None) or "file or its folder"
        return StoreError(
            f"the database {what} is read-only: nothing was saved",
            where=where,
            hint="pm writes the file and, beside it, its -wal and -shm files: make the file "
            "and its folder writable, or copy the file to a writable folder and pass --db",
        )
    if is_("SQLITE_CORRUPT", "malformed"):
        return StoreError(f"the database is damaged ({text})", where=where, hint=RESTORE_HINT)
    if is_("SQLITE_NOTADB", "not a database"):
        return StoreError(
            "not a database file: SQLite cannot read it",
            where=where,
            hint="pass --db with your pm database, or " + RESTORE_HINT.split(";")[0],
        )
    if is_("SQLITE_CANTOPEN", "unable to open"):
        return StoreError(
            f"cannot open the database ({text})",
            where=where,
            hint="check that the file and its folder exist and are readable and writable",
        )
    if is_("SQLITE_IOERR", "disk i/o"):
        return StoreError(
            f"the disk failed to read or write the database ({text})",
            where=where,
            hint="check the drive (removed? full? failing?), then run `pm db check`",
        )
    return None


def _read_only(path: Path) -> str | None:
    """ "folder" or "file" if this process may not write it (None: both look writable)."""
    if not os.access(path.parent, os.W_OK):
        return "folder"
    if not os.access(path, os.W_OK):
        return "file"
    return None


# What a Ctrl-C may leave (PmGroup reports it): how many write transactions this process
# committed, and whether one was interrupted while committing (then it is either kept
# whole or not at all: SQLite commits are atomic, but this process cannot tell which).
_writes = {"committed": 0, "uncertain": 0}


def note_commit(*, done: bool) -> None:
    """After a commit returned (`done=True`), or when one raised before returning."""
    _writes["committed" if done else "uncertain"] += 1


def writes_state() -> tuple[int, bool]:
    """(write transactions committed by this process, one cut off while committing); the
    flag is cleared by reading it."""
    uncertain = _writes["uncertain"] > 0
    _writes["uncertain"] = 0
    return _writes["committed"], uncertain


@contextmanager
def session_scope(engine: Engine, path: Path, *, write: bool) -> Iterator[Session]:
    """A session; a write one starts `BEGIN IMMEDIATE` and commits on success. A SQLite
    failure a user can meet (full disk, read-only, damaged file …) becomes a StoreError."""
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import Session

    bind = engine.execution_options(pm_write=True) if write else engine
    session = Session(bind=bind, expire_on_commit=False, autoflush=True)
    committing = False
    try:
        yield session
        if write:
            committing = True
            session.commit()
            committing = False
            note_commit(done=True)
    except (DBAPIError, sqlite3.Error) as e:
        _rollback(session)
        raise (translate(e, path) or e) from e
    except BaseException:
        if committing:  # e.g. Ctrl-C inside commit(): kept or not, this process can't tell
            note_commit(done=False)
        _rollback(session)
        raise
    finally:
        session.close()


@contextmanager
def connection_scope(engine: Engine, path: Path, *, write: bool) -> Iterator[Connection]:
    """`session_scope` without the ORM, for code that moves rows with Core statements (sync):
    a connection in a transaction, `BEGIN IMMEDIATE` when writing, committed on success;
    SQLite failures a user can meet become StoreErrors the same way."""
    from sqlalchemy.exc import DBAPIError

    bind = engine.execution_options(pm_write=True) if write else engine
    conn = bind.connect()
    committing = False
    try:
        conn.begin()
        yield conn
        if write:
            committing = True
            conn.commit()
            committing = False
            note_commit(done=True)
    except (DBAPIError, sqlite3.Error) as e:
        _rollback(conn)
        raise (translate(e, path) or e) from e
    except BaseException:
        if committing:
            note_commit(done=False)
        _rollback(conn)
        raise
    finally:
        conn.close()


def _rollback(session: Session | Connection) -> None:
    """Roll back; on a damaged or vanished file the rollback itself may fail, and the
    first error is the one to report."""
    try:
        session.rollback()
    except Exception:  # the error being handled is the one to report
        pass
