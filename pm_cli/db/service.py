"""The database file: create, migrate, check, back up."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection
    from sqlmodel import Session

from pm_cli.errors import PmError, StoreError
from pm_cli.store import engine as store_engine

# what runs after the schema is current, in the same transaction (the bundled playbooks)
Setup = Callable[["Session"], object]
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _alembic_config(connection: Connection | None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(_alembic_config(None)).get_current_head())


def current_revision(path: Path) -> str | None:
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        con.close()
    return row[0] if row else None


def _upgrade(path: Path, setup: Setup | None) -> None:
    from alembic import command

    from pm_cli.store.write import init_state

    engine = store_engine.make_engine(path)
    try:
        with engine.execution_options(pm_write=True).begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
            # At head the file is this pm's schema, whatever user_version it was left with.
            conn.exec_driver_sql(f"PRAGMA user_version = {store_engine.SCHEMA_VERSION}")
        store_engine.note_commit(done=True)  # a Ctrl-C from here on: the schema is kept
        with store_engine.session_scope(engine, path, write=True) as s:
            init_state(s)
            if setup is not None:
                setup(s)  # pm init: the bundled playbooks this pm ships (the root app's)
    except Exception as e:
        err = store_engine.translate(e, path)
        if err:
            raise err from e
        raise
    finally:
        engine.dispose()


@dataclass
class InitResult:
    path: str
    created: bool
    from_version: int
    to_version: int


def init_db(path: Path, *, setup: Setup | None = None) -> InitResult:
    """Create the database (or bring an existing one up to date); running twice is harmless.
    `setup(session)` then runs in the transaction that makes the device state (the commands
    install the bundled playbooks with it)."""
    created = not path.exists()
    before = 0
    if not created:
        con = sqlite3.connect(path)
        try:
            has = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.Error as e:
            raise (
                store_engine.translate(e, path)
                or StoreError(f"not a SQLite database: {e}", where=str(path))
            ) from e
        finally:
            con.close()
        if not has and tables:
            raise StoreError(
                "this SQLite file is not a pm database; pm init will not touch it",
                where=str(path),
                hint="pass --db with a new path",
            )
        if has:
            before = store_engine.inspect_file(path)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"cannot create the folder: {e.strerror}", where=str(path.parent)
            ) from e
        try:
            store_engine.create_private(path)  # owner only (0600), before SQLite makes it
        except OSError as e:
            raise StoreError(f"cannot create the database: {e.strerror}", where=str(path)) from e
    _upgrade(path, setup)
    return InitResult(str(path), created, before, store_engine.inspect_file(path))


def migrate(path: Path, *, setup: Setup | None = None) -> InitResult:
    before = store_engine.inspect_file(path)
    _upgrade(path, setup)
    return InitResult(str(path), False, before, store_engine.inspect_file(path))


@dataclass
class CheckReport:
    path: str
    ok: bool
    schema_version: int
    revision: str | None
    head: str
    integrity: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def references() -> list[tuple[str, str, str]]:
    """(table, column, target) to report when dangling: synced tables declare no FOREIGN KEYs
    (DESIGN §3), so every reference the models have, from the protocol's one map."""
    from pm_cli.protocol.entities import reference_columns

    return reference_columns()


COUNTED = (
    "site",
    "staff",
    "grid",
    "grid_duty",
    "checkpoint",
    "route",
    "playbook",
    "run",
    "step_result",
    "pdca",
    "risk",
    "drill",
    "drill_run",
    "change",
)


def _dangling(con: sqlite3.Connection, tables: set[str]) -> list[str]:
    out = []
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, target in references():
        if table in tables and target in tables:
            by_table.setdefault(table, []).append((column, target))
    for table, refs in by_table.items():  # one pass over each table, not one per column
        bad = [
            f"CASE WHEN t.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {x} x WHERE "
            f"x.id = t.{c}) THEN t.{c} END"
            for c, x in refs
        ]
        cols = ", ".join(f"{b} AS b{i}" for i, b in enumerate(bad))
        where = " OR ".join(f"b{i} IS NOT NULL" for i in range(len(bad)))
        for row in con.execute(f"SELECT * FROM (SELECT t.id, {cols} FROM {table} t) WHERE {where}"):
            for (column, target), ref in zip(refs, row[1:], strict=True):
                if ref is not None:
                    out.append(f"{table} {row[0]}: {column} {ref} has no {target} row")
    if {"run", "playbook"} <= tables:  # a run names its playbook as id@version
        for row_id, pid, ver in con.execute(
            "SELECT r.id, r.playbook_id, r.playbook_version FROM run r WHERE NOT EXISTS "
            "(SELECT 1 FROM playbook p WHERE p.playbook_id = r.playbook_id "
            "AND p.version = r.playbook_version)"
        ):
            out.append(f"run {row_id}: playbook {pid}@{ver} has no playbook row")
    if {"route", "checkpoint"} <= tables:  # a route's stops name checkpoints (a JSON list)
        for row_id, i, ref in con.execute(
            "SELECT r.id, j.key, json_extract(j.value, '$.checkpoint') FROM route r, "
            "json_each(CASE WHEN json_valid(r.stops) THEN r.stops ELSE '[]' END) j "
            "WHERE json_extract(j.value, '$.checkpoint') IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM checkpoint c WHERE c.id = json_extract(j.value, '$.checkpoint'))"
        ):
            out.append(f"route {row_id}: stops[{i}].checkpoint {ref} has no checkpoint row")
    if "conflict" in tables:  # a conflict names its record as entity + record_id
        synced = {t for t, _c, _x in references()}
        for (entity,) in con.execute("SELECT DISTINCT entity FROM conflict").fetchall():
            if entity not in synced or entity not in tables:
                continue
            for row_id, ref in con.execute(
                f"SELECT c.id, c.record_id FROM conflict c WHERE c.entity = ? AND NOT EXISTS "
                f"(SELECT 1 FROM {entity} x WHERE x.id = c.record_id)",
                (entity,),
            ):
                out.append(f"conflict {row_id}: record_id {ref} has no {entity} row")
    return out


def check(path: Path, *, full: bool = False) -> CheckReport:
    """`PRAGMA quick_check` (`integrity_check` with `full`: it also compares every index
    with its table, four times longer on a big file), `foreign_key_check` (local tables),
    dangling references and row counts. A damaged file is reported, not raised: integrity
    says where. The page check runs on its own connection in a second thread while this
    one checks references (SQLite lets go of the interpreter lock: two cores, two checks)."""
    from concurrent.futures import ThreadPoolExecutor

    version = store_engine.inspect_file(path)
    con = sqlite3.connect(path)
    dangling: list[str] = []
    fks: list[str] = []
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(1) as pool:
        pages = pool.submit(_pages, path, "integrity_check" if full else "quick_check")
        try:
            try:
                fks = [" ".join(str(c) for c in r) for r in con.execute("PRAGMA foreign_key_check")]
                tables = {
                    r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                dangling = _dangling(con, tables)
                for t in COUNTED:
                    if t in tables:
                        counts[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            except sqlite3.DatabaseError:
                if pages.result() == ["ok"]:
                    raise
                # the damage integrity_check reported stopped the reference checks
        except sqlite3.Error as e:
            raise (
                store_engine.translate(e, path)
                or StoreError(f"the database cannot be read: {e}", where=str(path))
            ) from e
        finally:
            con.close()
        integrity = pages.result()
    integrity = [] if integrity == ["ok"] else integrity
    rev = current_revision(path)
    return CheckReport(
        path=str(path),
        ok=not (integrity or fks or dangling),
        schema_version=version,
        revision=rev,
        head=head_revision(),
        integrity=integrity,
        foreign_keys=fks,
        dangling=dangling,
        counts=counts,
    )


def _pages(path: Path, pragma: str) -> list[str]:
    """What `PRAGMA quick_check` or `integrity_check` says (["ok"] for a sound file), on a
    connection of its own."""
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute(f"PRAGMA {pragma}")]
    except sqlite3.DatabaseError as e:  # too damaged for the check to finish
        return [f"integrity_check stopped: {e}"]
    finally:
        con.close()


def _integrity(path: Path) -> list[str]:
    """What `PRAGMA integrity_check` finds wrong in a file ([] when it is sound)."""
    rows = _pages(path, "integrity_check")
    return [] if rows == ["ok"] else rows


def backup(path: Path, dest: Path, *, force: bool = False) -> Path:
    """Copy the live database with SQLite's online backup API; readers and writers may go on."""
    store_engine.inspect_file(path)
    if dest.exists() and dest.is_dir():
        dest = dest / path.name
    if dest.resolve() == path.resolve():
        raise PmError("the backup would overwrite the database itself", where=str(dest))
    if dest.exists() and not force:
        raise PmError("the backup file exists", where=str(dest), hint="pass --force to replace it")
    tmp = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)  # a .part left by a killed backup
        store_engine.create_private(tmp)  # a copy of the data: owner only, as the database
        src = sqlite3.connect(path, timeout=store_engine.busy_timeout_ms() / 1000)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)
            finally:
                out.close()
        finally:
            src.close()
        damage = _integrity(tmp)  # the copy, checked before it replaces an older backup
        if damage:
            raise StoreError(
                f"the backup copy failed its integrity check ({damage[0]}); "
                "an older backup was left as it was",
                where=str(dest),
                hint="run `pm db check` on the database: it may be damaged itself",
            )
        _fsync(tmp)
        tmp.replace(dest)
    except BaseException as e:  # a failure or Ctrl-C: never a half-written backup in place
        _unlink_part(tmp)
        if isinstance(e, (OSError, sqlite3.Error)):
            err = store_engine.translate(e, dest) if isinstance(e, sqlite3.Error) else None
            raise (err or StoreError(f"backup failed: {e}", where=str(dest))) from e
        raise
    return dest


def _unlink_part(tmp: Path) -> None:
    for p in (
        tmp,
        tmp.with_name(tmp.name + "-journal"),
        tmp.with_name(tmp.name + "-wal"),
        tmp.with_name(tmp.name + "-shm"),
    ):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass  # the error being handled is the one to report


def _fsync(path: Path) -> None:
    """The copy on the disk before the rename makes it the backup."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))  # Windows: fsync needs write
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
