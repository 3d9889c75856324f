"""The current site of a command: `--site`, `PM_SITE`, `pm site use`, or the only one there
is. Every feature's CLI asks here (the CLI context itself knows no feature); finding it also
tells the renderer the site's time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row
    from sqlmodel import Session

    from pm_cli.context import AppContext
    from pm_cli.sites.models import Site


def current_site(ctx: AppContext, session: Session) -> Site:
    """The current site as a record, for commands that work with a session."""
    from pm_cli.sites import service

    site = service.current_site(session, ctx.site_code)
    ctx.zone = site.tz
    return site


def current_site_row(ctx: AppContext, conn: Connection) -> Row[Any]:
    """The current site as a Core row, for commands that only read with Core (`store.read`)."""
    from pm_cli.sites import read

    site = read.current_site(conn, ctx.site_code)
    ctx.zone = site.tz
    return site
