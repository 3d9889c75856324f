"""What every command gets as `ctx.obj`: the database, the current site's code, the renderer.
It knows no feature: a command finds its site with `sites.context.current_site(ctx.obj, s)`
and "me" with `staff.context.me_id`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_cli import config
from pm_cli.output import Output

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlmodel import Session


class AppContext:
    def __init__(self, db: str | None = None, site: str | None = None, as_json: bool = False):
        self._db = db
        self._site = site
        self.as_json = as_json
        self._engine: Any = None
        self.zone: str | None = None  # the current site's time zone, once it is known

    @property
    def db(self) -> str | None:
        """The --db given on the command line, if any."""
        return self._db

    @property
    def db_path(self) -> Path:
        return config.resolve_db_path(self._db)

    @property
    def site_code(self) -> str | None:
        return config.current_site_code(self._site)

    def db_path_if_ready(self) -> Path | None:
        """The database path if a current pm database is there, else None (no error)."""
        from pm_cli.errors import StoreError
        from pm_cli.store import engine

        try:
            engine.check_current(self.db_path)
        except StoreError:
            return None
        return self.db_path

    def out(self, as_json: bool = False) -> Output:
        return Output(self.as_json or as_json, zone=lambda: self.zone)

    @property
    def engine_opened(self) -> bool:
        """Whether this command opened the database (so an error may name it)."""
        return self._engine is not None

    def engine(self, *, check: bool = True) -> Any:
        if self._engine is None:
            from pm_cli.store import engine

            if check:
                engine.check_current(self.db_path)
            self._engine = engine.make_engine(self.db_path)
        return self._engine

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        from pm_cli.store.engine import session_scope

        with session_scope(self.engine(), self.db_path, write=write) as s:
            yield s

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A read-only transaction without the ORM, for commands that only read with Core
        (`store.read`): they build no model class."""
        from pm_cli.store.engine import connection_scope

        with connection_scope(self.engine(), self.db_path, write=False) as conn:
            yield conn

    def me(self) -> str | None:
        return config.current_staff_code()
