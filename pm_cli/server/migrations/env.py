"""Alembic environment of the server database (pm server migrate)."""

from __future__ import annotations

from alembic import context

from pm_cli.server.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
