"""The current site, read with Core (`store.read`): what every command finds first, so the
commands that only read can find it without building the models."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.errors import NotFoundError, PmError
from pm_cli.store import read, tables


def current_site(conn: sa.Connection, code: str | None) -> sa.Row[Any]:
    """The site named by --site / PM_SITE / `pm site use`, or the only site there is."""
    t = tables.site
    if code:
        site = read.find_by_code(conn, t, code, site_id=None, noun="site", where="sites")
        if site is None:
            raise NotFoundError(
                f"no site {code}",
                where="--site / PM_SITE / pm site use",
                hint="`pm site list` shows the sites; `pm site use CODE` picks one",
            )
        return site
    sites = conn.execute(read.live(t).order_by(t.c.code).limit(2)).all()
    if len(sites) == 1:
        return sites[0]
    if not sites:
        raise NotFoundError(
            "no site yet", hint="add one: pm site add CODE --name NAME (or pm demo)"
        )
    n = conn.execute(sa.select(sa.func.count()).select_from(read.live(t).subquery())).scalar()
    raise PmError(
        f"which site? there are {n}",
        hint="pass --site CODE, set PM_SITE, or run `pm site use CODE`",
    )
