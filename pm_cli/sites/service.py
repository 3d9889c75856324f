"""Sites: the properties; everything else belongs to one."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from pm_cli import validate as v
from pm_cli.errors import ConflictError
from pm_cli.sites.models import Site
from pm_cli.store import write
from pm_cli.store.ids import new_id
from pm_cli.store.query import find_by_code, get_by_code, live


def record(site: Site) -> dict[str, Any]:
    return {"code": site.code, "name": site.name, "tz": site.tz, "address": site.address}


def list_sites(session: Session) -> list[Site]:
    return list(session.exec(live(Site).order_by(Site.code)))


def get_site(session: Session, code: str) -> Site:
    return get_by_code(
        session,
        Site,
        code,
        site_id=None,
        noun="site",
        where="sites",
        hint="`pm site list` shows the sites",
    )


def current_site(session: Session, code: str | None) -> Site:
    """The site named by --site / PM_SITE / `pm site use`, or the only site there is."""
    from pm_cli.sites import read

    row = read.current_site(session.connection(), code)  # nothing pending to flush yet
    site = session.get(Site, row.id)
    assert site is not None  # just read in this transaction
    return site


def add_site(
    session: Session, *, code: str, name: str, tz: str | None = None, address: str | None = None
) -> Site:
    code = v.check(v.code, code, field="code")
    values = {
        "code": code,
        "name": v.check(v.name, name, field="--name"),
        "tz": v.check(v.tz, tz, field="--tz") if tz else None,
        "address": v.optional_text(address),
    }
    if find_by_code(session, Site, code, site_id=None, noun="site", where="sites"):
        raise ConflictError(f"site {code} already exists", hint=f"pm site edit {code} …")
    site_id = new_id()  # a site is its own site_id
    return write.create(session, Site, site_id=site_id, id=site_id, **values)


def edit_site(
    session: Session,
    code: str,
    *,
    new_code: str | None = None,
    name: str | None = None,
    tz: str | None = None,
    address: str | None = None,
) -> Site:
    site = get_site(session, code)
    values: dict[str, Any] = {}
    if new_code is not None:
        values["code"] = v.check(v.code, new_code, field="--code")
        other = find_by_code(
            session, Site, values["code"], site_id=None, noun="site", where="sites"
        )
        if other is not None and other.id != site.id:
            raise ConflictError(f"site {values['code']} already exists")
    if name is not None:
        values["name"] = v.check(v.name, name, field="--name")
    if tz is not None:
        values["tz"] = v.check(v.tz, tz, field="--tz") if tz.strip() else None
    if address is not None:
        values["address"] = v.optional_text(address)
    write.update(session, site, **values)
    return site
