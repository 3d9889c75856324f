"""Alembic environment: runs on the connection pm hands it (config.attributes["connection"])."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from pm_cli.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic revision --autogenerate` from a developer's shell
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///pm-dev.db"
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
