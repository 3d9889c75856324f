"""The laptop's side of sync: its database (engine and path, and the transactions sync runs
in), its device row in `sync_state` (device id, clock, cursor) and the clock moved past each
stamp the server sends (sync.md §1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from pm_cli.errors import PmError
from pm_cli.store import tables
from pm_cli.store.engine import check_current, connection_scope, make_engine
from pm_cli.store.hlc import Clock
from pm_cli.store.outbox import UNSENT


@dataclass
class Device:
    """The `sync_state` row: this database's device id, clock and cursor."""

    device_id: str
    last_hlc: str
    clock_offset_ms: int
    server_epoch: str | None
    cursor: int
    last_sync_at: str | None

    def recv(self, stamp: str) -> None:
        """Move this device's clock past a stamp the server sent (saved by `Replica.save`)."""
        clock = Clock(self.device_id, self.last_hlc, offset_ms=self.clock_offset_ms)
        clock.recv(stamp)
        self.last_hlc = clock.last


class Replica:
    """This laptop's database while a sync command works on it."""

    def __init__(self, engine: sa.Engine, db_path: Path) -> None:
        self.engine = engine
        self.db_path = db_path

    @classmethod
    @contextmanager
    def open(cls, db_path: Path) -> Iterator[Replica]:
        """The database at `db_path`, refused if its schema is old; its engine is disposed of
        when the block ends."""
        check_current(db_path)
        engine = make_engine(db_path)
        try:
            yield cls(engine, db_path)
        finally:
            engine.dispose()

    def read(self) -> AbstractContextManager[sa.Connection]:
        """A read transaction."""
        return connection_scope(self.engine, self.db_path, write=False)

    def write(self) -> AbstractContextManager[sa.Connection]:
        """A write transaction (`BEGIN IMMEDIATE`), committed when the block ends."""
        return connection_scope(self.engine, self.db_path, write=True)

    @staticmethod
    def state(conn: sa.Connection) -> Device:
        t = tables.sync_state
        row = (
            conn.execute(
                sa.select(*(t.c[k] for k in Device.__dataclass_fields__)).where(t.c.id == 1)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise PmError("this database has no device id", hint="run pm init on it")
        return Device(**row)

    @staticmethod
    def save(conn: sa.Connection, st: Device) -> None:
        t = tables.sync_state
        conn.execute(t.update().where(t.c.id == 1).values(**vars(st)))

    def cursor(self) -> int:
        """The saved pull cursor (0 before the first snapshot)."""
        with self.read() as conn:
            return self.state(conn).cursor

    @classmethod
    def recv(cls, conn: sa.Connection, stamp: str) -> None:
        """Move this device's clock past a stamp the server sent (in the caller's transaction)."""
        st = cls.state(conn)
        st.recv(stamp)
        cls.save(conn, st)

    def seen(self, stamp: str) -> None:
        """`recv` in a transaction of its own."""
        with self.write() as conn:
            self.recv(conn, stamp)

    def restamp(self, server_hlc: str | None, new_device: str | None = None) -> int:
        """Give every pending change (and the fields and rows it stamped) a new stamp from a
        clock reset to the server's, keeping their order (sync.md §1: after a clock_ahead);
        with `new_device`, this database becomes another device (a copied file)."""
        from pm_cli.protocol.entities import registry

        t = tables.change
        reg = registry()
        with self.write() as conn:
            st = self.state(conn)
            if new_device:
                st.device_id = new_device
            clock = Clock(st.device_id, server_hlc or st.last_hlc, offset_ms=st.clock_offset_ms)
            renamed: dict[str, str] = {}
            rows = (
                conn.execute(
                    sa.select(t)
                    .where(sa.text(UNSENT), t.c.state.in_(("pending", "sent")))
                    .order_by(t.c.local_no)
                )
                .mappings()
                .all()
            )
            for ch in rows:
                new = clock.now()
                renamed[ch["hlc"]] = new
                base = {k: renamed.get(v, v) for k, v in (ch["base"] or {}).items()}
                conn.execute(
                    t.update()
                    .where(t.c.change_id == ch["change_id"])
                    .values(hlc=new, base=base, device_id=st.device_id)
                )
                ent = reg.get(ch["entity"])
                if ent is None:
                    continue
                et = ent.table
                if ent.kind == "append":
                    conn.execute(
                        et.update()
                        .where(et.c.id == ch["record_id"], et.c.hlc == ch["hlc"])
                        .values(hlc=new)
                    )
                    continue
                row = conn.execute(
                    sa.select(et.c.field_hlc).where(et.c.id == ch["record_id"])
                ).first()
                if row is None:
                    continue
                stamps = {k: renamed.get(v, v) for k, v in (row.field_hlc or {}).items()}
                conn.execute(
                    et.update()
                    .where(et.c.id == ch["record_id"])
                    .values(field_hlc=stamps, updated_hlc=max(stamps.values(), default=""))
                )
            st.last_hlc = clock.last
            self.save(conn, st)
        return len(rows)
