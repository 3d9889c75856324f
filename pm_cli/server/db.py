"""The server's database: PostgreSQL (psycopg 3) in production, SQLite for one office and
for tests. SQLAlchemy Core only: the server merges field maps, it builds no ORM objects.

Records are stored in the laptops' own tables (`grid`, `pdca`, `step_result`, …: the same
columns and types, read from the same SQLModel models, `field_hlc` or `hlc` beside them), so
head office can query them with SQL; a new synced field is a migration on both sides (sync.md
§5), and `tests/sync/test_migration.py` fails while the server's migrations lag the models.
Beside them the server's own tables: sites, users, grants, tokens, the change log
(`sync_change`, a gap-free sequence in commit order, sync.md §3.1), number blocks, photo
blobs, and the records the move to typed tables could not take (`record_quarantine`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
metadata = sa.MetaData()

server_site = sa.Table(
    "server_site",
    metadata,
    sa.Column("site_id", sa.String, primary_key=True),
    sa.Column("code", sa.String, nullable=False, unique=True),
    sa.Column("name", sa.String),
    sa.Column("created_at", sa.String, nullable=False),
)
server_user = sa.Table(
    "server_user",
    metadata,
    sa.Column("user_id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("role", sa.String, nullable=False),  # lead | manager | admin
    sa.Column("created_at", sa.String, nullable=False),
)
user_grant = sa.Table(
    "user_grant",
    metadata,
    sa.Column("user_id", sa.String, primary_key=True),
    sa.Column("site_code", sa.String, primary_key=True),
)
token = sa.Table(
    "token",
    metadata,
    sa.Column("token_id", sa.String, primary_key=True),
    sa.Column("sha256", sa.String, nullable=False, unique=True),
    sa.Column("user_id", sa.String, nullable=False),
    sa.Column("device_name", sa.String, nullable=False),
    sa.Column("device_id", sa.String),  # bound by the first hello
    sa.Column("created_at", sa.String, nullable=False),
    sa.Column("last_used_at", sa.String),
    sa.Column("revoked_at", sa.String),
)
sync_seq = sa.Table(
    "sync_seq",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
    sa.Column("epoch", sa.String, nullable=False),
    sa.Column("min_retained", sa.BigInteger, nullable=False),
)
sync_change = sa.Table(
    "sync_change",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("change_id", sa.String, nullable=False, unique=True),
    sa.Column("site_id", sa.String, nullable=False),
    sa.Column("entity", sa.String, nullable=False),
    sa.Column("record_id", sa.String, nullable=False),
    sa.Column("op", sa.String, nullable=False),
    sa.Column("fields", JSON, nullable=False),
    sa.Column("base", JSON, nullable=False),
    sa.Column("hlc", sa.String, nullable=False),
    sa.Column("device_id", sa.String, nullable=False),
    sa.Column("schema", sa.Integer, nullable=False),
    # applied | superseded | server | withheld (broke the rules before they were checked:
    # never served, migration 0006)
    sa.Column("status", sa.String, nullable=False),
    sa.Column("token_id", sa.String),
    sa.Column("received_at", sa.String, nullable=False),
    sa.Index("ix_sync_change_site_seq", "site_id", "seq"),
)
# records of the generic store (before 0005) that do not fit their typed table: kept, with
# the reasons, never served (server migration 0006)
record_quarantine = sa.Table(
    "record_quarantine",
    metadata,
    sa.Column("entity", sa.String, primary_key=True),
    sa.Column("record_id", sa.String, primary_key=True),
    sa.Column("site_id", sa.String, nullable=False),
    sa.Column("fields", JSON, nullable=False),
    sa.Column("field_hlc", JSON, nullable=False),
    sa.Column("reasons", JSON, nullable=False),
    sa.Column("moved_at", sa.String, nullable=False),
)

site_number = sa.Table(
    "site_number",
    metadata,
    sa.Column("site_id", sa.String, primary_key=True),
    sa.Column("next_no", sa.BigInteger, nullable=False),  # above every number handed or seen
)
number_block = sa.Table(
    "number_block",
    metadata,
    sa.Column("site_id", sa.String, primary_key=True),
    sa.Column("first", sa.BigInteger, primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
    sa.Column("device_id", sa.String, nullable=False),
    sa.Column("created_at", sa.String, nullable=False),
)

# a browser's sign-in to /reports (pm_cli.server.web): the cookie's sha256 → the token it was
# made from, so revoking the token ends the session too
web_session = sa.Table(
    "web_session",
    metadata,
    sa.Column("sha256", sa.String, primary_key=True),
    sa.Column("token_id", sa.String, nullable=False),
    sa.Column("created_at", sa.String, nullable=False),
    sa.Column("expires_at", sa.String, nullable=False),
)

# evidence photos by sha256 (pm_cli.server.evidence): bytea on PostgreSQL, BLOB on SQLite, so
# both backends keep them in the one database that is backed up and restored.
evidence_blob = sa.Table(
    "evidence_blob",
    metadata,
    sa.Column("sha256", sa.String, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("token_id", sa.String),  # who sent it
    sa.Column("uploaded_at", sa.String, nullable=False),
)

# the server's indexes on the typed tables beyond the models' own: the snapshot's keyset,
# the photo lookup, a deleted grid's children
SERVER_INDEXES: dict[str, dict[str, tuple[str, ...]]] = {
    "step_result": {"ix_step_result_evidence": ("evidence_sha256",)},
    "grid": {"ix_grid_parent": ("site_id", "parent_id")},
}


def _typed_tables() -> dict[str, sa.Table]:
    """The synced entities' tables, column for column as the laptops' models declare them,
    without their foreign keys (the server checks references per change, same site) and with
    `site_id` NOT NULL ('' for company-wide rows: playbooks, their conflicts)."""
    from pm_cli.protocol.entities import registry
    from pm_cli.schema import metadata as models  # the models' own (with their indexes)

    out = {}
    for name in sorted(registry()):
        model = models.tables[name]
        cols = [
            sa.Column(
                c.name,
                c.type,
                primary_key=c.primary_key,
                nullable=False if c.name == "site_id" else c.nullable,
            )
            for c in model.c
        ]
        indexes = [
            sa.Index(ix.name, *[c.name for c in ix.columns])
            for ix in sorted(model.indexes, key=lambda ix: ix.name or "")
        ]
        indexes.append(sa.Index(f"ix_{name}_server_site", "site_id", "id"))
        indexes += [
            sa.Index(ix_name, *ix_cols) for ix_name, ix_cols in SERVER_INDEXES.get(name, {}).items()
        ]
        out[name] = sa.Table(name, metadata, *cols, *indexes)
    return out


records = _typed_tables()


def _rollup_tables() -> dict[str, sa.Table]:
    """The per-day KPI rollups (reports.rollup), as the laptops' models declare them: the
    server keeps its own, as a laptop does, for /reports and the BI views."""
    from pm_cli.schema import metadata as models

    out = {}
    for name in ("kpi_day", "kpi_day_done", "rollup_dirty"):
        model = models.tables[name]
        cols = [
            sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in model.c
        ]
        indexes = [
            sa.Index(ix.name, *[c.name for c in ix.columns])
            for ix in sorted(model.indexes, key=lambda ix: ix.name or "")
        ]
        out[name] = sa.Table(name, metadata, *cols, *indexes)
    return out


rollups = _rollup_tables()

# a site's row of the /reports ranking for a period that has ended, kept with the newest
# change of the site it was counted from (sync_change.seq): the same period and no change
# since is the same row (pm_cli.server.web)
report_cache = sa.Table(
    "report_cache",
    metadata,
    sa.Column("site_id", sa.String, primary_key=True),
    sa.Column("since", sa.String, primary_key=True),
    sa.Column("until", sa.String, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("computed_at", sa.String, nullable=False),
)

HEAD = "0009"
CONNECT_TIMEOUT_S = 10  # seconds; a connect_timeout in the URL wins


def among(
    conn: sa.Connection, col: sa.ColumnElement[Any], values: list[Any]
) -> sa.ColumnElement[bool]:
    """`col IN (values)`; on PostgreSQL `col = ANY(:array)`, one parameter however many
    values: the same statement text every time (no query of 500 placeholders to convert,
    parse and plan for each batch)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return col == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(col.type)))
    return col.in_(values)


def prepare_insert(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, numbered: str | None = None
) -> Callable[[int], None]:
    """An insert of many rows, made ready now and run by the callable it returns (given the
    first number when `numbered` names a column to count up from it, row by row). On
    PostgreSQL one `INSERT … SELECT … FROM json_to_recordset(:rows)`: one statement whatever
    the count, its rows passed as one JSON text encoded here (by the C encoder; psycopg's
    arrays escape value by value in Python), so running it (under the change log's counter
    lock) costs a round trip, not a statement per row. Elsewhere, or when the rows do not
    all have the same keys, an executemany per set of keys."""
    if (
        conn.dialect.name != "postgresql"
        or not rows
        or any(r.keys() != rows[0].keys() for r in rows)
    ):

        def run_many(first: int) -> None:
            _number(rows, numbered, first)
            shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
            for row in rows:  # an executemany takes the first row's keys for every row
                shapes.setdefault(frozenset(row), []).append(row)
            for same in shapes.values():
                conn.execute(table.insert(), same)

        return run_many
    keys = [k for k in rows[0] if k != numbered]
    prep, types = conn.dialect.identifier_preparer, conn.dialect.type_compiler_instance
    cols, picks, defs, jsons = [], [], [], set()
    for i, key in enumerate(keys):
        col = table.c[key]
        sql_type = types.process(col.type)
        cols.append(prep.quote(key))
        if isinstance(col.type, sa.JSON):  # carried as its JSON text, cast back
            jsons.add(key)
            defs.append(f"c{i} TEXT")
            picks.append(f"CAST(r.c{i} AS {sql_type})")
        else:
            defs.append(f"c{i} {sql_type}")
            picks.append(f"r.c{i}")
    if numbered:
        cols.append(prep.quote(numbered))
        picks.append("CAST(:first AS BIGINT) + r.n")
    payload = json.dumps(
        [
            {
                "n": n,
                **{
                    f"c{i}": json.dumps(row[k]) if k in jsons else row[k]
                    for i, k in enumerate(keys)
                },
            }
            for n, row in enumerate(rows)
        ]
    )
    stmt = sa.text(
        f"INSERT INTO {prep.format_table(table)} ({', '.join(cols)}) "
        f"SELECT {', '.join(picks)} FROM json_to_recordset(CAST(:rows AS JSON)) "
        f"AS r({', '.join(defs)}, n BIGINT) ORDER BY r.n"
    )

    def run(first: int) -> None:
        _number(rows, numbered, first)
        conn.execute(stmt, {"rows": payload, "first": first})

    return run


def _number(rows: list[dict[str, Any]], column: str | None, first: int) -> None:
    """Count `column` up from `first`, row by row (the caller reads the numbers given)."""
    if column:
        for n, row in enumerate(rows):
            row[column] = first + n


def insert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    prepare_insert(conn, table, rows)(0)


def sa_url(url: str) -> str:
    """`postgresql://…` → the psycopg 3 driver; `sqlite:///path` as it is."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kw: Any) -> sa.Engine:
    from pm_cli.errors import UsageError

    full = sa_url(url)
    if not full.startswith(("postgresql+psycopg://", "sqlite://")):
        raise UsageError(
            f"unsupported database URL {url!r}",
            hint="postgresql://user@host/db or sqlite:///path/to/server.db",
        )
    if full.startswith("sqlite"):
        engine = sa.create_engine(full, connect_args={"timeout": 30}, **kw)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we say BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("pm_write") else "BEGIN"
            )

        return engine
    connect: dict[str, Any] = {"prepare_threshold": None}
    if "connect_timeout" not in full:
        # a database host that vanished answers nothing: give up in seconds (the request
        # gets its 503), not after the system's TCP timeout of minutes
        connect["connect_timeout"] = CONNECT_TIMEOUT_S
    engine = sa.create_engine(
        full, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect, **kw
    )

    @sa.event.listens_for(engine, "connect")
    def _timeouts(dbapi_conn: Any, _record: Any) -> None:
        # a stuck push must not hold the counter row for ever (sync.md §8)
        with dbapi_conn.cursor() as cur:
            cur.execute("SET statement_timeout = 60000; SET lock_timeout = 30000")
        dbapi_conn.commit()

    return engine


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: sa.Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade the server database to `target` (the newest revision); (before, after)."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    before = revision(engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return before, HEAD if target == "head" else target


def quarantined(engine: sa.Engine) -> int:
    """How many records the move to typed tables (0006) kept aside."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(record_quarantine)).scalar_one()
        )
