"""Who "me" is at the current site (`pm staff use CODE`), for the `by` of history events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row
    from sqlmodel import Session

    from pm_cli.context import AppContext
    from pm_cli.sites.models import Site


def me_id(ctx: AppContext, session: Session, site: Site) -> str | None:
    """The id of "me" at this site, if set and known."""
    from pm_cli.staff.service import find_staff

    code = ctx.me()
    staff = find_staff(session, site=site, code=code) if code else None
    return staff.id if staff else None


def my_id(ctx: AppContext, conn: Connection, site: Row[Any]) -> str | None:
    """`me_id` for the commands that read with Core (`store.read`)."""
    from pm_cli.store import read, tables

    code = ctx.me()
    staff = (
        read.find_by_code(
            conn, tables.staff, code, site_id=site.id, noun="staff member", where=site.code
        )
        if code
        else None
    )
    return staff.id if staff else None
