"""Staff of a site: who owns grids, who runs checklists ("me" for --by defaults)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from pm_cli import validate as v
from pm_cli.errors import ConflictError, NotFoundError
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.query import find_by_code, get_by_code, live


def record(staff: Staff) -> dict[str, Any]:
    return {
        "code": staff.code,
        "name": staff.name,
        "role": staff.role,
        "phone": staff.phone,
        "team": staff.team,
    }


def list_staff(session: Session, *, site: Site, role: str | None = None) -> list[Staff]:
    stmt = live(Staff, site.id)
    if role:
        stmt = stmt.where(Staff.role == v.check(v.role, role, field="--role"))
    return list(session.exec(stmt.order_by(Staff.code)))


def find_staff(session: Session, *, site: Site, code: str) -> Staff | None:
    return find_by_code(session, Staff, code, site_id=site.id, noun="staff member", where=site.code)


def get_staff(session: Session, *, site: Site, code: str) -> Staff:
    return get_by_code(
        session,
        Staff,
        code,
        site_id=site.id,
        noun="staff member",
        where=site.code,
        hint=f"`pm staff list --site {site.code}` shows who is there",
    )


def get_me(session: Session, *, site: Site, code: str | None) -> Staff:
    """The staff member "me" names (PM_STAFF or `pm staff use`)."""
    if not code:
        raise NotFoundError(
            "who are you? no staff member is set as me", hint="pm staff use CODE (or set PM_STAFF)"
        )
    staff = find_staff(session, site=site, code=code)
    if staff is None:
        raise NotFoundError(
            f"you are set as {code}, who is not staff of site {site.code}",
            where="PM_STAFF / pm staff use",
            hint="pm staff use CODE with a code from `pm staff list`",
        )
    return staff


def add_staff(
    session: Session,
    *,
    site: Site,
    code: str,
    name: str,
    role: str,
    phone: str | None = None,
    team: str | None = None,
) -> Staff:
    code = v.check(v.code, code, field="code")
    values = {
        "code": code,
        "name": v.check(v.name, name, field="--name"),
        "role": v.check(v.role, role, field="--role"),
        "phone": v.optional_text(phone),
        "team": v.optional_text(team),
    }
    if find_staff(session, site=site, code=code):
        raise ConflictError(
            f"staff {code} already exists at {site.code}", hint=f"pm staff edit {code} …"
        )
    return write.create(session, Staff, site_id=site.id, **values)


def edit_staff(
    session: Session,
    *,
    site: Site,
    code: str,
    new_code: str | None = None,
    name: str | None = None,
    role: str | None = None,
    phone: str | None = None,
    team: str | None = None,
) -> Staff:
    staff = get_staff(session, site=site, code=code)
    values: dict[str, Any] = {}
    if new_code is not None:
        values["code"] = v.check(v.code, new_code, field="--code")
        other = find_staff(session, site=site, code=values["code"])
        if other is not None and other.id != staff.id:
            raise ConflictError(f"staff {values['code']} already exists at {site.code}")
    if name is not None:
        values["name"] = v.check(v.name, name, field="--name")
    if role is not None:
        values["role"] = v.check(v.role, role, field="--role")
    if phone is not None:
        values["phone"] = v.optional_text(phone)
    if team is not None:
        values["team"] = v.optional_text(team)
    write.update(session, staff, **values)
    return staff


def remove_staff(session: Session, *, site: Site, code: str) -> Staff:
    """Tombstone a staff member; refused by any check a higher feature registered in
    `staff.removal` (grids: not while they own a grid)."""
    from pm_cli.staff import removal

    staff = get_staff(session, site=site, code=code)
    for check in removal.CHECKS:
        check(session, staff)
    write.delete(session, staff)
    return staff
