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
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

# PRAGMA user_version written by the newest migration; bump with every revision.
SCHEMA_VERSION = 10
# Pm-Schema of sync.md §5: +1 per migration touching a synced table.
SYNC_SCHEMA = 8
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
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        raise StoreError(
            f"cannot read the database: {e}",
            where=str(path),
            hint="is this a pm database? `pm db check` reports on it",
        ) from e
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"this database was made by a newer pm (schema {version}; this pm knows up to "
            f"{SCHEMA_VERSION})",
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


def translate(e: BaseException, path: Path) -> StoreError | None:
    """A StoreError for the SQLite failures a user can meet, else None."""
    text = str(getattr(e, "orig", None) or e)
    low = text.lower()
    if "database is locked" in low or "database is busy" in low:
        return StoreError(
            "the database is busy: another process kept it locked past the busy timeout",
            where=str(path),
            hint="try again; PM_BUSY_TIMEOUT=SECONDS waits longer",
        )
    if "readonly" in low or "read-only" in low:
        return StoreError("the database file is read-only", where=str(path))
    if "unable to open" in low or "disk i/o" in low or "not a database" in low:
        return StoreError(f"cannot use the database: {text}", where=str(path))
    if "malformed" in low:
        return StoreError(
            f"the database is damaged: {text}",
            where=str(path),
            hint="restore from a backup (`pm db backup` makes one); `pm db check` reports",
        )
    return None


@contextmanager
def session_scope(engine: Engine, path: Path, *, write: bool) -> Iterator[Session]:
    """A session; a write one starts `BEGIN IMMEDIATE` and commits on success."""
    from sqlalchemy.exc import OperationalError
    from sqlmodel import Session

    bind = engine.execution_options(pm_write=True) if write else engine
    session = Session(bind=bind, expire_on_commit=False, autoflush=True)
    try:
        yield session
        if write:
            session.commit()
    except OperationalError as e:
        session.rollback()
        raise (translate(e, path) or e) from e
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
