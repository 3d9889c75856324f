"""The ASGI app uvicorn's workers import: the database URL comes from the environment."""

from __future__ import annotations

import os

from pm_cli.server.app import create_app

app = create_app(os.environ["PM_SERVER_DATABASE_URL"])
